import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { isValidCode, isValidText, quantityMax } from '../../domain/index.js';

// A physical count sheet: the lines a count produced, read from CSV (a header row, then one line
// per shelf counted) or given as JSON lines, each checked on its own. A bad line is reported
// with its number and changes nothing; the good lines are counted.
//
// CSV columns: sku, location, counted (required), reason, occurredAt (optional: epoch ms or an
// ISO 8601 time). Line numbers are the file's own (the header is line 1), so an operator finds
// a refused line where a spreadsheet shows it.

/** Most lines one sheet may have. */
export const countSheetLinesMax = 10_000;
/** Sheet ids: they become part of each line's command id (`count:<sheet>:<line>`). */
export const sheetIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;

export interface CountLine {
  readonly line: number;
  readonly sku: string;
  readonly location: string;
  readonly counted: number;
  readonly reason?: string | undefined;
  readonly occurredAt?: number | undefined;
}

export interface SheetLineError {
  readonly line: number;
  readonly code: string;
  readonly message: string;
}

export interface CountSheet {
  readonly id: string;
  readonly lines: readonly CountLine[];
  /** Lines that could not be read; they change nothing. */
  readonly errors: readonly SheetLineError[];
}

/** A sheet that cannot be read at all (no header, an unknown column, too many lines). */
export class CountSheetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CountSheetError';
  }
}

const columns = ['sku', 'location', 'counted', 'reason', 'occurredAt'] as const;
const requiredColumns = ['sku', 'location', 'counted'] as const;

/** The default sheet id: the content's hash, so the same sheet imported twice is the same commands. */
export function contentSheetId(content: string): string {
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}

export function checkSheetId(id: string): string {
  if (!sheetIdPattern.test(id)) {
    throw new CountSheetError('a sheet id is 1-40 letters, digits and ._-, starting with a letter or digit');
  }
  return id;
}

/** Reads a CSV count sheet. `sheetId` defaults to the hash of the text. */
export function readCsvSheet(text: string, sheetId?: string): CountSheet {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // With `info` every record comes with where it was read; the types know only the plain form.
    records = parse(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as typeof records;
  } catch (error) {
    throw new CountSheetError(`the CSV cannot be read: ${(error as Error).message}`);
  }
  const [header, ...rows] = records;
  if (header === undefined)
    throw new CountSheetError('the sheet is empty: a header row (sku,location,counted) comes first');
  const names = header.record;
  const unknown = names.filter((name) => !(columns as readonly string[]).includes(name));
  if (unknown.length > 0)
    throw new CountSheetError(`unknown column ${unknown.join(', ')} (columns: ${columns.join(', ')})`);
  const missing = requiredColumns.filter((name) => !names.includes(name));
  if (missing.length > 0) throw new CountSheetError(`missing column ${missing.join(', ')}`);
  if (rows.length > countSheetLinesMax) throw new CountSheetError(`more than ${countSheetLinesMax} lines`);
  const lines: CountLine[] = [];
  const errors: SheetLineError[] = [];
  for (const { record, info } of rows) {
    const fields: Record<string, string> = {};
    names.forEach((name, index) => {
      const value = record[index];
      if (value !== undefined && value !== '') fields[name] = value;
    });
    const read = readLine(info.lines, fields);
    if ('code' in read) errors.push(read);
    else lines.push(read);
  }
  return { id: sheetId === undefined ? contentSheetId(text) : checkSheetId(sheetId), lines, errors };
}

/** JSON lines (the HTTP form): numbered from 1 in the order given. */
export function readJsonSheet(items: readonly Record<string, unknown>[], sheetId?: string): CountSheet {
  if (items.length > countSheetLinesMax) throw new CountSheetError(`more than ${countSheetLinesMax} lines`);
  const lines: CountLine[] = [];
  const errors: SheetLineError[] = [];
  items.forEach((item, index) => {
    const fields: Record<string, string> = {};
    for (const [name, value] of Object.entries(item))
      if (value !== undefined && value !== null) fields[name] = String(value);
    const read = readLine(index + 1, fields);
    if ('code' in read) errors.push(read);
    else lines.push(read);
  });
  const id = sheetId === undefined ? contentSheetId(JSON.stringify(items)) : checkSheetId(sheetId);
  return { id, lines, errors };
}

function readLine(line: number, fields: Record<string, string>): CountLine | SheetLineError {
  const bad = (code: string, message: string): SheetLineError => ({ line, code, message });
  const { sku, location, counted, reason, occurredAt } = fields;
  if (sku === undefined || !isValidCode(sku)) return bad('INVALID_CODE', `sku is missing or not valid: ${sku ?? ''}`);
  if (location === undefined || !isValidCode(location)) {
    return bad('INVALID_CODE', `location is missing or not valid: ${location ?? ''}`);
  }
  const quantity = counted === undefined || !/^[0-9]+$/.test(counted) ? Number.NaN : Number(counted);
  if (!Number.isSafeInteger(quantity) || quantity > quantityMax) {
    return bad('INVALID_QUANTITY', `counted must be a whole number from 0 to ${quantityMax}: ${counted ?? ''}`);
  }
  if (reason !== undefined && !isValidText(reason)) return bad('INVALID_TEXT', 'reason is too long or not well-formed');
  const at = occurredAt === undefined ? undefined : timeOf(occurredAt);
  if (at === null) return bad('INVALID_TIME', `occurredAt is neither epoch ms nor an ISO 8601 time: ${occurredAt}`);
  return {
    line,
    sku,
    location,
    counted: quantity,
    ...(reason !== undefined && { reason }),
    ...(at !== undefined && { occurredAt: at }),
  };
}

function timeOf(text: string): number | null {
  const value = /^[0-9]+$/.test(text) ? Number(text) : Date.parse(text);
  return Number.isSafeInteger(value) && value >= 1 ? value : null;
}
