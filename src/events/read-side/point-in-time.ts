import type { Clock } from './ledger-events.js';
import { readCheckpoints } from './projector.js';
import type { ReadDb, ReadTx } from './read-db.js';

// Stock of an item as of a past moment, from the movements model: by position, each level's
// last movement at or before it (an index seek a level); by time, each level's last snapshot at
// or before it plus the movements between the two (see project-movements.ts). Each answer says
// the ledger position it reflects; every query of one answer runs in one read transaction.

export interface LevelAt {
  readonly location: string;
  readonly onHand: number;
  readonly reserved: number;
  readonly available: number;
}

export interface StockAt {
  readonly sku: string;
  readonly levels: readonly LevelAt[];
  readonly totals: { readonly onHand: number; readonly reserved: number; readonly available: number };
  /** The ledger position the answer reflects: every event up to it, none after. */
  readonly position: number;
}

function answer(sku: string, position: number, levels: LevelAt[]): StockAt {
  let onHand = 0;
  let reserved = 0;
  for (const level of levels) {
    onHand += level.onHand;
    reserved += level.reserved;
  }
  return { sku, levels, totals: { onHand, reserved, available: onHand - reserved }, position };
}

function levelAt(location: string, onHand: number, reserved: number): LevelAt {
  return { location, onHand, reserved, available: onHand - reserved };
}

async function locationsOf(tx: ReadTx, sku: string): Promise<string[]> {
  const sql = "SELECT location FROM level_clocks WHERE sku = ? AND clock = 'occurred' ORDER BY location";
  return (await tx.rows<{ location: string }>(sql, [sku])).map((row) => row.location);
}

async function movementsPosition(tx: ReadTx): Promise<number> {
  return (await readCheckpoints(tx)).find((c) => c.model === 'movements')?.position ?? 0;
}

/**
 * The item's levels as they were after the event at `position` (at most the movements model's
 * checkpoint: the caller waits for it first). A level with no event yet then is left out.
 */
export function stockAtPosition(db: ReadDb, sku: string, position: number): Promise<StockAt> {
  return db.read(async (tx) => {
    const reflected = Math.min(position, await movementsPosition(tx));
    const sql =
      'SELECT on_hand_after, reserved_after FROM movements WHERE sku = ? AND location = ? AND position <= ? ' +
      'ORDER BY position DESC LIMIT 1';
    const levels: LevelAt[] = [];
    for (const location of await locationsOf(tx, sku)) {
      const [row] = await tx.rows<{ on_hand_after: number; reserved_after: number }>(sql, [sku, location, reflected]);
      if (row !== undefined) levels.push(levelAt(location, Number(row.on_hand_after), Number(row.reserved_after)));
    }
    return answer(sku, reflected, levels);
  });
}

const snapshotSql =
  'SELECT at, on_hand, reserved FROM level_snapshots WHERE sku = ? AND location = ? AND clock = ? AND at <= ? ' +
  'ORDER BY at DESC LIMIT 1';

const replaySql: Readonly<Record<Clock, string>> = {
  occurred: replayOn('occurred_at'),
  recorded: replayOn('recorded_at'),
};

function replayOn(column: string): string {
  return (
    'SELECT count(*) AS movements, COALESCE(SUM(on_hand_delta), 0) AS on_hand, COALESCE(SUM(reserved_delta), 0) AS reserved ' +
    `FROM movements WHERE sku = ? AND location = ? AND ${column} > ? AND ${column} <= ?`
  );
}

/**
 * The item's levels as of time `at` on a clock: every movement whose time is at or before it,
 * among those the movements model holds (its checkpoint is the position answered). A level
 * with no movement by then is left out.
 */
export function stockAtTime(db: ReadDb, sku: string, at: number, clock: Clock): Promise<StockAt> {
  return db.read(async (tx) => {
    const reflected = await movementsPosition(tx);
    const levels: LevelAt[] = [];
    for (const location of await locationsOf(tx, sku)) {
      const [snapshot] = await tx.rows<{ at: number; on_hand: number; reserved: number }>(snapshotSql, [
        sku,
        location,
        clock,
        at,
      ]);
      const since = snapshot === undefined ? -1 : Number(snapshot.at);
      const [replay] = await tx.rows<{ movements: number; on_hand: number; reserved: number }>(replaySql[clock], [
        sku,
        location,
        since,
        at,
      ]);
      if (snapshot === undefined && Number(replay?.movements ?? 0) === 0) continue;
      const onHand = Number(snapshot?.on_hand ?? 0) + Number(replay?.on_hand ?? 0);
      const reserved = Number(snapshot?.reserved ?? 0) + Number(replay?.reserved ?? 0);
      levels.push(levelAt(location, onHand, reserved));
    }
    return answer(sku, reflected, levels);
  });
}
