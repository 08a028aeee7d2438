// The SQL a MySQL / MariaDB batch sends: statements built from values, escaped here.

import { escape as quote, raw, type SqlValue } from 'mysql2';
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { compareLevelKeys, type Item, type LedgerEvent, type Level, type Reservation } from '../../domain/index.js';
import { createdFence, fencedCode, type LevelGuard, type LevelRef, type LevelWrite, staleLevelCode } from '../port.js';
import { type CommandWrite, eventToRow, type LedgerRow } from '../rows.js';
import { commandColumns as commandColumnNames, ledgerColumns, reservationColumns } from '../sql.js';

export type Result = ResultSetHeader | RowDataPacket[];

/**
 * New rows of one table sent as LOAD DATA LOCAL: tab-separated lines that the server parses far
 * faster than the same rows as SQL literals (3,072 ledger events into a bare table, commit
 * included: 27–30 ms against 43–45 ms as multi-row INSERTs, here).
 */
export interface Load {
  readonly table: 'ledger' | 'commands';
  readonly columns: string;
  readonly lines: readonly string[];
}

/** One SQL statement, and the affected-row count it must report, if it is checked. */
export interface Statement {
  readonly sql: string;
  /** Affected rows it must report; otherwise the batch fails (as a conflict when `conflict` names one). */
  readonly changes?: { readonly rows: number; readonly failure: string; readonly conflict?: string };
}

/** Keys per level-locking statement: a short IN list the range optimizer always takes. */
export const lockKeysPerStatementMax = 500;
/** Characters per multi-row INSERT. */
export const statementCharsMax = 1 << 20;
/**
 * Characters per round trip. Even if every one took 3 bytes in UTF-8 (the text is mostly
 * ASCII), a round trip stays below max_allowed_packet (16 MiB on MariaDB, 64 MiB on MySQL).
 */
export const packetCharsMax = 2 << 20;
/**
 * Below this many rows a table's new rows go in a multi-row INSERT beside other statements: a
 * load costs a round trip of its own (the server asks for the data, then reads it).
 */
export const loadRowsMin = 64;
/**
 * Characters per packet of a load's data (the driver sends a packet per chunk): even at 3 bytes
 * each in UTF-8, far below max_allowed_packet.
 */
export const loadChunkCharsMax = 1 << 20;

/**
 * Every connection reads committed data and locks no gaps (READ COMMITTED), and is strict.
 *
 * READ COMMITTED is required, not a tuning choice. (1) The engine re-reads reservation status
 * and command records after its locks, expecting whatever committed meanwhile; under REPEATABLE
 * READ those reads would come from the snapshot taken at the transaction's first read, and a
 * reservation could be resolved twice. (2) Under REPEATABLE READ, a locking read of a missing
 * key locks the gap around it, and an insert into that gap waits: gaps are ranges, not keys, so
 * they break the one global lock order and deadlock. READ COMMITTED takes record locks only.
 * (With a binary log, it needs binlog_format ROW or MIXED.)
 *
 * sql_mode is fixed so that values are rejected rather than truncated, and so that the client's
 * backslash escaping holds (no NO_BACKSLASH_ESCAPES).
 */
export const sessionSetupSql =
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED; ' +
  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'";

export const levelColumns = 'sku, location, on_hand, reserved, incoming, version';

/**
 * Locks existing level rows in key order. The primary key is forced and the IN list short: a
 * range scan of the primary key visits, and locks, the rows in ascending key order whatever the
 * order of the list, while a full scan (which the optimizer picks for long lists or small
 * tables) would lock, and wait for, every row it passes.
 */
export function lockSql(refs: readonly LevelRef[]): string {
  const keys = refs.map((ref) => `(${literal(ref.sku)}, ${literal(ref.location)})`).join(', ');
  return (
    `SELECT ${levelColumns} FROM levels FORCE INDEX (PRIMARY) WHERE (sku, location) IN (${keys}) ` +
    'ORDER BY sku, location FOR UPDATE'
  );
}

/** Creates the new levels and writes the changed ones as the guard says. */
export function levelWrites(levels: readonly LevelWrite[], guard: LevelGuard): Statement[] {
  const created = levels.filter((l) => l.previousVersion === null).sort(compareLevelKeys);
  const read = created.length === 0 ? levels : levels.filter((l) => l.previousVersion !== null);
  const fence = createdFence(guard);
  return [
    ...insertStatements('levels (sku, location, on_hand, reserved, incoming, version, fence)', created, (l) =>
      tuple([l.sku, l.location, l.onHand, l.reserved, l.incoming, l.version, fence]),
    ),
    ...(guard.kind === 'locked' ? levelStatements(read) : swapStatements(read, guard)),
  ];
}

/**
 * Updates changed levels, many rows per statement. A changed level always has a new version, so
 * each existing row counts 2 affected rows; a missing row would be inserted and count 1, which
 * fails the batch.
 */
export function levelStatements(levels: readonly Level[]): Statement[] {
  return multiRow(
    `INSERT INTO levels (${levelColumns}) VALUES`,
    levels.map((l) => tuple([l.sku, l.location, l.onHand, l.reserved, l.incoming, l.version])),
    ' ON DUPLICATE KEY UPDATE on_hand = VALUES(on_hand), reserved = VALUES(reserved), incoming = VALUES(incoming), ' +
      'version = VALUES(version)',
  ).map(({ sql, rows }) => ({ sql, changes: { rows: 2 * rows, failure: 'a changed level has no row' } }));
}

/**
 * Compare-and-set writes of levels read without locks: one UPDATE per level, on the version
 * read and, with a fence, on a fencing token newer than the last one written. A level that
 * changed meanwhile matches no row: a retryable conflict.
 */
export function swapStatements(
  levels: readonly LevelWrite[],
  guard: Extract<LevelGuard, { kind: 'version' }>,
): Statement[] {
  const conflict = guard.fence === undefined ? staleLevelCode : fencedCode;
  const fenceCheck = guard.fence === undefined ? '' : ` AND fence < ${quote(guard.fence)}`;
  return levels.map((l) => ({
    sql:
      `UPDATE levels SET on_hand = ${quote(l.onHand)}, reserved = ${quote(l.reserved)}, incoming = ${quote(l.incoming)}, ` +
      `version = ${quote(l.version)}, ` +
      `fence = GREATEST(fence, ${quote(guard.fence ?? 0)}) ` +
      `WHERE sku = ${quote(l.sku)} AND location = ${quote(l.location)} AND version = ${quote(l.previousVersion)}${fenceCheck}`,
    changes: { rows: 1, failure: `level ${l.sku}@${l.location} changed since it was read`, conflict },
  }));
}

/** `lines` is a reserved word in MySQL: its statements quote that column. */
export const quotingLines = (columns: string) => columns.replace(/\blines\b/, '`lines`');
export const reservationSelect = `SELECT ${quotingLines(reservationColumns)} FROM commands`;
export const commandColumns = quotingLines(commandColumnNames);

/**
 * Updates changed reservations (each changes its status: 2 affected rows, as for levels). The
 * record's columns of such a row never change; the values given for them would be used only to
 * insert a row that is missing, which counts 1 affected row and fails the batch.
 */
export function reservationUpdateStatements(reservations: readonly Reservation[]): Statement[] {
  return multiRow(
    `INSERT INTO commands (${commandColumns}) VALUES`,
    reservations.map((r) =>
      tuple([
        r.id,
        'ReserveStock',
        '',
        '{}',
        0,
        r.status,
        jsonLiteral(r.lines),
        r.createdAt,
        r.expiresAt,
        r.resolvedAt,
      ]),
    ),
    ' ON DUPLICATE KEY UPDATE status = VALUES(status), `lines` = VALUES(`lines`), resolved_at = VALUES(resolved_at)',
  ).map(({ sql, rows }) => ({ sql, changes: { rows: 2 * rows, failure: 'an updated reservation has no row' } }));
}

export function insertStatements<T>(target: string, values: readonly T[], toTuple: (value: T) => string): Statement[] {
  return multiRow(`INSERT INTO ${target} VALUES`, values.map(toTuple), '').map(({ sql }) => ({ sql }));
}

/** `head` + tuples + `tail`, split into statements of at most statementCharsMax. */
export function multiRow(head: string, tuples: readonly string[], tail: string): { sql: string; rows: number }[] {
  return chunked(tuples, (tuple) => tuple.length + 2, statementCharsMax).map((run) => ({
    sql: `${head} ${run.join(', ')}${tail}`,
    rows: run.length,
  }));
}

/** A load's lines as UTF-8 chunks of at most loadChunkCharsMax characters, whole lines each. */
export function loadChunks(lines: readonly string[]): Buffer[] {
  return chunked(lines, (line) => line.length, loadChunkCharsMax).map((run) => Buffer.from(run.join(''), 'utf8'));
}

/** Consecutive statements grouped into round trips of at most packetCharsMax. */
export function packets(statements: readonly Statement[]): Statement[][] {
  return chunked(statements, (statement) => statement.sql.length + 2, packetCharsMax);
}

/** Consecutive items in runs whose sizes add up to at most `max`; an item larger alone makes a run. */
export function chunked<T>(items: readonly T[], size: (item: T) => number, max: number): T[][] {
  const result: T[][] = [];
  let run: T[] = [];
  let total = 0;
  for (const item of items) {
    const length = size(item);
    if (run.length > 0 && total + length > max) {
      result.push(run);
      run = [];
      total = 0;
    }
    run.push(item);
    total += length;
  }
  if (run.length > 0) result.push(run);
  return result;
}

/**
 * Characters that need no escaping inside a quoted literal: the whole alphabet of codes and ids
 * (the domain admits only these in them), so most strings of a batch skip the driver's escaping.
 */
export const plainText = /^[A-Za-z0-9 ._:@/#+=-]*$/;

/** One value as SQL: the common kinds directly, anything else through the driver. */
export function literal(value: SqlValue): string {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && plainText.test(value)) return `'${value}'`;
  if (value === null || value === undefined) return 'NULL';
  return quote(value);
}

export const tuple = (values: readonly SqlValue[]): string => `(${values.map(literal).join(', ')})`;

/**
 * A value as a JSON string literal, escaped by hand: JSON.stringify leaves no control characters,
 * so only backslashes and quotes need escaping (the session keeps backslash escapes on). The
 * driver's general escaping costs several times more on these, the longest values of a batch.
 */
export const jsonLiteral = (value: unknown) => raw(`'${JSON.stringify(value).replace(/[\\']/g, '\\$&')}'`);

export const itemTuple = (i: Item) => tuple([i.sku, i.name, i.allowBackorder, i.createdAt, i.lowStockThreshold]);

export const commandTuple = ({ record: c, reservation: r }: CommandWrite) =>
  tuple([
    c.id,
    c.type,
    c.fingerprint,
    jsonLiteral(c.outcome),
    c.recordedAt,
    r?.status ?? null,
    r === undefined ? null : jsonLiteral(r.lines),
    r?.createdAt ?? null,
    r?.expiresAt ?? null,
    r?.resolvedAt ?? null,
  ]);

export const ledgerColumnNames = ledgerColumns.split(', ') as (keyof LedgerRow)[];

export const eventTuple = (e: LedgerEvent) => {
  const row = eventToRow(e);
  return tuple(ledgerColumnNames.map((column) => row[column]));
};

export function sortedBy<T, K extends keyof T>(values: readonly T[], key: K): T[] {
  return [...values].sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0));
}
