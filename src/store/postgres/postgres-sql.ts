// The statements of a PostgreSQL batch that write, each bound to the batch's transaction.

import type { Writable } from 'node:stream';
import type postgres from 'postgres';
import type { Reservation } from '../../domain/index.js';
import {
  conflictError,
  createdFence,
  fencedCode,
  type LevelGuard,
  type LevelWrite,
  StoreError,
  staleLevelCode,
} from '../port.js';
import { levelToRow, reservationToRow } from '../rows.js';

export type Sql = postgres.Sql<Record<string, never>>;

// int8 arrives as text by default; every bigint we store (positions, times, quantities) is far
// below 2^53, so a JS number is exact.
export const bigintAsNumber = {
  to: 20,
  from: [20],
  serialize: (value: number) => String(value),
  parse: (value: string) => Number(value),
};

const numberedCache = new Map<string, string>();

/** Query text with `?` placeholders (as the shared reads write them) as PostgreSQL's `$n`. */
export function numbered(sql: string): string {
  let text = numberedCache.get(sql);
  if (text === undefined) {
    let n = 0;
    text = sql.replace(/\?/g, () => `$${++n}`);
    numberedCache.set(sql, text);
  }
  return text;
}

/**
 * Below this many rows a table's new rows go in a pipelined INSERT: a COPY costs a round trip
 * more, and only pays back when it writes many rows (several per WAL record).
 */
export const copyRowsMin = 64;

export async function writeLevels(sql: Sql, levels: readonly LevelWrite[], guard: LevelGuard): Promise<void> {
  const created = levels.filter((l) => l.previousVersion === null);
  const read = created.length === 0 ? levels : levels.filter((l) => l.previousVersion !== null);
  await Promise.all([
    created.length === 0 ? undefined : createLevels(sql, created, guard),
    read.length === 0 ? undefined : updateLevels(sql, read, guard),
  ]);
}

/**
 * New rows. Only the holder of the ledger head creates rows, so no two creations wait on each
 * other; a row a writer before it created fails the batch as a unique violation (retried).
 */
async function createLevels(sql: Sql, levels: readonly LevelWrite[], guard: LevelGuard): Promise<void> {
  const rows = JSON.stringify(levels.map((l) => ({ ...levelToRow(l), fence: createdFence(guard) })));
  await sql`
    INSERT INTO levels (sku, location, on_hand, reserved, incoming, version, fence)
    SELECT x.sku, x.location, x.on_hand, x.reserved, x.incoming, x.version, x.fence
    FROM json_to_recordset(${rows}::text::json)
      AS x(sku text, location text, on_hand bigint, reserved bigint, incoming bigint, version bigint, fence bigint)`;
}

async function updateLevels(sql: Sql, levels: readonly LevelWrite[], guard: LevelGuard): Promise<void> {
  const rows = JSON.stringify(levels.map((l) => ({ ...levelToRow(l), previous_version: l.previousVersion })));
  if (guard.kind === 'locked') {
    const result = await sql`
      UPDATE levels l SET on_hand = x.on_hand, reserved = x.reserved, incoming = x.incoming, version = x.version
      FROM json_populate_recordset(null::levels, ${rows}::text::json) x
      WHERE l.sku = x.sku AND l.location = x.location`;
    if (result.count !== levels.length) {
      throw new StoreError('internal', `${levels.length - result.count} changed levels have no row`);
    }
    return;
  }
  // Compare-and-set on the version read; with a fence, also on a token newer than the last.
  const fence = guard.fence ?? null;
  const result = await sql`
    UPDATE levels l
    SET on_hand = x.on_hand, reserved = x.reserved, incoming = x.incoming, version = x.version,
        fence = GREATEST(l.fence, COALESCE(${fence}::bigint, 0))
    FROM json_to_recordset(${rows}::text::json)
      AS x(sku text, location text, on_hand bigint, reserved bigint, incoming bigint, version bigint,
           previous_version bigint)
    WHERE l.sku = x.sku AND l.location = x.location AND l.version = x.previous_version
      AND (${fence}::bigint IS NULL OR l.fence < ${fence}::bigint)`;
  if (result.count !== levels.length) {
    const code = fence === null ? staleLevelCode : fencedCode;
    throw conflictError('version_conflict', `${levels.length - result.count} levels changed since they were read`, {
      code,
    });
  }
}

/** Changed reservations: each must exist and still be a reservation (a row with a status). */
export async function updateReservations(sql: Sql, reservations: readonly Reservation[]): Promise<void> {
  const rows = JSON.stringify(reservations.map(reservationToRow));
  const result = await sql`
    UPDATE commands c SET status = x.status, lines = x.lines, resolved_at = x.resolved_at
    FROM json_to_recordset(${rows}::text::json) AS x(id text, status text, lines json, resolved_at bigint)
    WHERE c.id = x.id AND c.status IS NOT NULL`;
  if (result.count !== reservations.length) {
    throw new StoreError('internal', `${reservations.length - result.count} changed reservations have no row`);
  }
}

/**
 * COPY … FROM STDIN, settled by the query's own outcome at ReadyForQuery. The driver's stream
 * never finishes when the server rejects the data after CopyDone (its stream reference is
 * already gone), so waiting for 'finish' would hang on a constraint violation; instead the
 * query's resolve and reject, which the driver calls again at the end, are observed.
 */
export function copy(sql: Sql, table: 'ledger' | 'commands', columns: string, lines: string): Promise<void> {
  type CopyQuery = Promise<unknown> & {
    resolve: (value: unknown) => void;
    reject: (error: unknown) => void;
    writable: () => Promise<Writable>;
  };
  const query = sql.unsafe(`COPY ${table} (${columns}) FROM STDIN`) as unknown as CopyQuery;
  return new Promise<void>((resolve, reject) => {
    let streaming = false;
    const settleResolve = query.resolve;
    const settleReject = query.reject;
    query.resolve = (value) => {
      settleResolve(value);
      if (streaming) resolve();
    };
    query.reject = (error) => {
      settleReject(error);
      reject(error);
    };
    query.writable().then((stream) => {
      streaming = true;
      stream.once('error', reject);
      stream.end(lines);
    }, reject);
  });
}
