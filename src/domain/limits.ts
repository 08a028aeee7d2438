// Named upper bounds. Every quantity, code, id and list that enters the domain is checked
// against one of these, so no input can push a level past what the stores represent exactly.

/** Largest quantity one command may move (receipt, reservation line, transfer, adjustment). */
export const quantityMax = 1_000_000_000;
/** Largest on-hand balance a level may reach: far below 2^53, so sums stay exact in JS and SQL. */
export const onHandMax = 1_000_000_000_000;
/**
 * Largest reserved balance a level may reach. Without backorders reserved never exceeds on hand;
 * a backorder item's reservations are bounded here instead (LEVEL_RESERVED_LIMIT_EXCEEDED).
 */
export const reservedMax = 1_000_000_000_000;
/** Largest incoming balance a level may reach (units on confirmed purchase orders). */
export const incomingMax = 1_000_000_000_000;
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

/**
 * Free text: well-formed Unicode (no lone surrogate, which no store can hold: PostgreSQL refuses
 * it in JSON and SQLite replaces it), no NUL (PostgreSQL cannot store it in text), and at most
 * textLengthMax code points, the unit JSON Schema's maxLength counts in.
 */
export function isValidText(value: unknown): value is string {
  if (typeof value !== 'string' || loneSurrogate.test(value) || value.includes('\u0000')) return false;
  // A string has at least as many UTF-16 units as code points: most texts are settled here.
  return value.length <= textLengthMax || codePointCount(value) <= textLengthMax;
}

/** In a `u` pattern a surrogate pair is one code point, so only an unpaired surrogate matches. */
const loneSurrogate = /[\uD800-\uDFFF]/u;

function codePointCount(value: string): number {
  let count = 0;
  for (const _ of value) count += 1;
  return count;
}
