import type { LedgerEvent } from '../../domain/index.js';
import { eventToRow } from '../../store/rows.js';
import { ledgerColumns } from '../../store/sql.js';
import { type Clock, clocks, isLevelEvent, timeOn } from './ledger-events.js';
import { levelKey, type ModelProjection, rowsIn } from './projection.js';
import type { BulkWrite, ReadTx, ReadValue } from './read-db.js';

// Movements: every level event of every item, with its deltas, balances after, both times and
// its position, indexed for the point-in-time reads (the write path pays for none of it).
//
// By position, the balances of a level at position p are those of its last movement at or
// before p: one index seek. By time, on either clock, a level keeps snapshots: the balance of
// every movement with a time at or before the snapshot's time, taken every N movements of the
// level at the latest time the level has seen (so the snapshot is the level's balance then). A
// movement that arrives with a time at or before a snapshot's (back-dated: a receipt entered
// with an earlier `occurredAt`) adds its deltas to every such snapshot of its level, which keeps
// each one true. A read at time t takes the last snapshot at or before t and adds the level's
// movements between its time and t: about N of them, plus any back-dated into that span.

/** A movement is its ledger event, in the ledger's own columns. */
const movements: BulkWrite = { table: 'movements', columns: ledgerColumns.split(', ') };

function movementRow(e: LedgerEvent): ReadValue[] {
  const row = eventToRow(e) as unknown as Record<string, ReadValue>;
  return movements.columns.map((column) => row[column] as ReadValue);
}

const levelClocks: BulkWrite = {
  table: 'level_clocks',
  columns: ['sku', 'location', 'clock', 'on_hand', 'reserved', 'time_max', 'snapshot_at', 'since_snapshot'],
  key: ['sku', 'location', 'clock'],
  set: {
    on_hand: 'replace',
    reserved: 'replace',
    time_max: 'replace',
    snapshot_at: 'replace',
    since_snapshot: 'replace',
  },
};

const levelSnapshots: BulkWrite = {
  table: 'level_snapshots',
  columns: ['sku', 'location', 'clock', 'at', 'on_hand', 'reserved', 'position'],
  key: ['sku', 'location', 'clock', 'at'],
  set: { on_hand: 'replace', reserved: 'replace', position: 'replace' },
};

/** Adds a back-dated movement to the snapshots written before this page. */
const backdateSql =
  'UPDATE level_snapshots SET on_hand = on_hand + ?, reserved = reserved + ? ' +
  'WHERE sku = ? AND location = ? AND clock = ? AND at >= ? AND position < ?';

/** One level on one clock, as the page leaves it. */
interface LevelClock {
  readonly sku: string;
  readonly location: string;
  readonly clock: Clock;
  onHand: number;
  reserved: number;
  timeMax: number;
  snapshotAt: number | null;
  sinceSnapshot: number;
  /** The latest snapshot written before this page: only back-dating at or before it needs an UPDATE. */
  readonly storedSnapshotAt: number | null;
  /** Snapshots taken in this page, as rows: [sku, location, clock, at, onHand, reserved, position]. */
  readonly pending: ReadValue[][];
}

interface LevelClockRow {
  sku: string;
  location: string;
  clock: Clock;
  on_hand: number;
  reserved: number;
  time_max: number;
  snapshot_at: number | null;
  since_snapshot: number;
}

async function loadClocks(tx: ReadTx, events: readonly LedgerEvent[]): Promise<Map<string, LevelClock>> {
  const rows = await rowsIn<LevelClockRow>(
    tx,
    'SELECT * FROM level_clocks WHERE sku IN',
    events.map((e) => e.sku),
  );
  const states = new Map<string, LevelClock>();
  for (const row of rows) {
    states.set(clockKey(row.sku, row.location, row.clock), {
      sku: row.sku,
      location: row.location,
      clock: row.clock,
      onHand: Number(row.on_hand),
      reserved: Number(row.reserved),
      timeMax: Number(row.time_max),
      snapshotAt: row.snapshot_at === null ? null : Number(row.snapshot_at),
      sinceSnapshot: Number(row.since_snapshot),
      storedSnapshotAt: row.snapshot_at === null ? null : Number(row.snapshot_at),
      pending: [],
    });
  }
  return states;
}

function clockKey(sku: string, location: string, clock: Clock): string {
  return `${levelKey(sku, location)}\u0000${clock}`;
}

function freshClock(event: LedgerEvent, clock: Clock): LevelClock {
  const base = { sku: event.sku, location: event.location, clock, onHand: 0, reserved: 0 };
  return { ...base, timeMax: 0, snapshotAt: null, sinceSnapshot: 0, storedSnapshotAt: null, pending: [] };
}

export const projectMovements: ModelProjection = async (tx, events, context) => {
  const levelEvents = events.filter(isLevelEvent);
  if (levelEvents.length === 0) return;
  await tx.write(movements, levelEvents.map(movementRow));
  const states = await loadClocks(tx, levelEvents);
  const firstPosition = (levelEvents[0] as LedgerEvent).position;
  const backdated: ReadValue[][] = [];
  const snapshots = new Map<string, ReadValue[]>();
  for (const event of levelEvents) {
    for (const clock of clocks) {
      const key = clockKey(event.sku, event.location, clock);
      const state = states.get(key) ?? freshClock(event, clock);
      states.set(key, state);
      const time = timeOn(event, clock);
      if (state.storedSnapshotAt !== null && time <= state.storedSnapshotAt) {
        backdated.push([event.onHandDelta, event.reservedDelta, event.sku, event.location, clock, time, firstPosition]);
      }
      for (const row of state.pending) {
        if ((row[3] as number) < time) continue;
        row[4] = (row[4] as number) + event.onHandDelta;
        row[5] = (row[5] as number) + event.reservedDelta;
      }
      state.onHand += event.onHandDelta;
      state.reserved += event.reservedDelta;
      state.timeMax = Math.max(state.timeMax, time);
      state.sinceSnapshot += 1;
      if (state.sinceSnapshot < context.snapshotIntervalEvents) continue;
      // Every movement so far has a time at or before timeMax: the balance now is the balance then.
      const row = [event.sku, event.location, clock, state.timeMax, state.onHand, state.reserved, event.position];
      snapshots.set(`${key}\u0000${state.timeMax}`, row);
      state.pending.push(row);
      state.snapshotAt = state.timeMax;
      state.sinceSnapshot = 0;
    }
  }
  for (const params of backdated) await tx.run(backdateSql, params);
  await tx.write(levelSnapshots, [...snapshots.values()]);
  await tx.write(
    levelClocks,
    [...states.values()].map((s) => [
      s.sku,
      s.location,
      s.clock,
      s.onHand,
      s.reserved,
      s.timeMax,
      s.snapshotAt,
      s.sinceSnapshot,
    ]),
  );
};
