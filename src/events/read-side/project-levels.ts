import type { LedgerEvent } from '../../domain/index.js';
import { isLevelEvent } from './ledger-events.js';
import { levelKey, type ModelProjection } from './projection.js';
import type { BulkWrite, ReadValue } from './read-db.js';

// Two models that fold a page into one row per key before writing: the stock summary (each
// level's balances, each item's totals) and the daily movement report.

const stockLevels: BulkWrite = {
  table: 'stock_levels',
  columns: ['sku', 'location', 'on_hand', 'reserved', 'position'],
  key: ['sku', 'location'],
  set: { on_hand: 'replace', reserved: 'replace', position: 'replace' },
};

const stockItems: BulkWrite = {
  table: 'stock_items',
  columns: ['sku', 'on_hand', 'reserved', 'position'],
  key: ['sku'],
  set: { on_hand: 'add', reserved: 'add', position: 'replace' },
};

/** A level's balances are its last event's; an item's totals move by every event's deltas. */
export const projectStockSummary: ModelProjection = async (tx, events) => {
  const levels = new Map<string, ReadValue[]>();
  const items = new Map<string, [string, number, number, number]>();
  for (const event of events) {
    if (!isLevelEvent(event)) continue;
    levels.set(levelKey(event.sku, event.location), [
      event.sku,
      event.location,
      event.onHandAfter,
      event.reservedAfter,
      event.position,
    ]);
    const item = items.get(event.sku) ?? [event.sku, 0, 0, 0];
    item[1] += event.onHandDelta;
    item[2] += event.reservedDelta;
    item[3] = event.position;
    items.set(event.sku, item);
  }
  await tx.write(stockLevels, [...levels.values()]);
  await tx.write(stockItems, [...items.values()]);
};

const dailyMovements: BulkWrite = {
  table: 'daily_movements',
  columns: ['day', 'sku', 'location', 'events', 'on_hand_in', 'on_hand_out', 'reserved_in', 'reserved_out'],
  key: ['day', 'sku', 'location'],
  set: { events: 'add', on_hand_in: 'add', on_hand_out: 'add', reserved_in: 'add', reserved_out: 'add' },
};

/** The UTC day a change happened on: a back-dated event counts on its own day. */
export function dayOf(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

export const projectDailyMovements: ModelProjection = async (tx, events) => {
  const rows = new Map<string, [string, string, string, number, number, number, number, number]>();
  for (const event of events) {
    if (!isLevelEvent(event)) continue;
    const day = dayOf(event.occurredAt);
    const key = `${day}\u0000${levelKey(event.sku, event.location)}`;
    const row = rows.get(key) ?? [day, event.sku, event.location, 0, 0, 0, 0, 0];
    addMovement(row, event);
    rows.set(key, row);
  }
  await tx.write(dailyMovements, [...rows.values()]);
};

function addMovement(row: [string, string, string, number, number, number, number, number], event: LedgerEvent) {
  row[3] += 1;
  row[4] += Math.max(0, event.onHandDelta);
  row[5] += Math.max(0, -event.onHandDelta);
  row[6] += Math.max(0, event.reservedDelta);
  row[7] += Math.max(0, -event.reservedDelta);
}
