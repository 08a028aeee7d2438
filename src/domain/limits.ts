// Named upper bounds. Every quantity, code, id and list that enters the domain is checked
// against one of these, so no input can push a level past what the stores represent exactly.

/** Largest quantity one command may move (receipt, reservation line, transfer, adjustment). */
export const quantityMax = 1_000_000_000;
/** Largest on-hand balance a level may reach: far below 2^53, so sums stay exact in JS and SQL. */
export const onHandMax = 1_000_000_000_000;
/** Largest number of lines in one reservation. */
export const reservationLinesMax = 100;
/** Longest client command id, reservation id or actor name. */
export const idLengthMax = 64;
/** Longest SKU or location code. */
export const codeLengthMax = 64;
/** Longest free text (item name, reason, reference). */
export const textLengthMax = 200;

/** Client ids: letters, digits and `._:-`, starting with a letter or digit. */
export const idPattern = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$';
/** SKU and location codes: letters, digits and `._-`, starting with a letter or digit. */
export const codePattern = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
/** Ids the system issues itself (expiry of a reservation) carry this prefix; clients may not. */
export const systemIdPrefix = 'sys:';

const idRegExp = new RegExp(idPattern);
const codeRegExp = new RegExp(codePattern);

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && idRegExp.test(value);
}

export function isValidCode(value: unknown): value is string {
  return typeof value === 'string' && codeRegExp.test(value);
}

export function isValidQuantity(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= quantityMax;
}

/** Free text up to textLengthMax, without NUL (which PostgreSQL cannot store in text). */
export function isValidText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= textLengthMax && !value.includes('\u0000');
}
