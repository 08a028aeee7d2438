import { isLevelEvent, registeredItem } from './ledger-events.js';
import type { Crossing, ModelProjection } from './projection.js';
import { rowsIn } from './projection.js';
import type { BulkWrite } from './read-db.js';

// Low stock: an item is low while its available stock across every location is below its
// threshold (the item's own, from its ItemRegistered event, or the configured default; 0 means
// none). Each change of that state is a crossing, recorded in the same transaction and handed to
// the listeners once it has committed.

const lowStockItems: BulkWrite = {
  table: 'low_stock_items',
  columns: ['sku', 'name', 'own_threshold', 'threshold', 'on_hand', 'reserved', 'low', 'position'],
  key: ['sku'],
  set: {
    name: 'replace',
    own_threshold: 'replace',
    threshold: 'replace',
    on_hand: 'replace',
    reserved: 'replace',
    low: 'replace',
    position: 'replace',
  },
};

const crossings: BulkWrite = {
  table: 'low_stock_crossings',
  columns: ['position', 'sku', 'direction', 'available', 'threshold', 'recorded_at'],
};

interface ItemState {
  sku: string;
  name: string;
  ownThreshold: number | null;
  threshold: number;
  onHand: number;
  reserved: number;
  low: boolean;
  position: number;
}

interface ItemRow {
  sku: string;
  name: string;
  own_threshold: number | null;
  threshold: number;
  on_hand: number;
  reserved: number;
  low: number;
  position: number;
}

export const projectLowStock: ModelProjection = async (tx, events, context) => {
  const rows = await rowsIn<ItemRow>(
    tx,
    'SELECT * FROM low_stock_items WHERE sku IN',
    events.map((e) => e.sku),
  );
  const items = new Map<string, ItemState>(rows.map((row) => [row.sku, fromRow(row)]));
  const made: Crossing[] = [];
  for (const event of events) {
    const registered = registeredItem(event);
    if (registered === undefined && !isLevelEvent(event)) continue;
    const defaultThreshold = context.lowStockThresholdDefault;
    const item = items.get(event.sku) ?? {
      ...{ sku: event.sku, name: '', ownThreshold: null, threshold: defaultThreshold },
      ...{ onHand: 0, reserved: 0, low: false, position: event.position },
    };
    items.set(event.sku, item);
    if (registered !== undefined) {
      item.name = registered.name;
      item.ownThreshold = registered.lowStockThreshold;
      item.threshold = registered.lowStockThreshold ?? defaultThreshold;
    } else {
      item.onHand += event.onHandDelta;
      item.reserved += event.reservedDelta;
    }
    item.position = event.position;
    const available = item.onHand - item.reserved;
    const low = item.threshold > 0 && available < item.threshold;
    if (low === item.low) continue;
    item.low = low;
    const direction = low ? 'below' : 'above';
    made.push({
      position: event.position,
      sku: event.sku,
      direction,
      available,
      threshold: item.threshold,
      recordedAt: event.recordedAt,
    });
  }
  await tx.write(
    lowStockItems,
    [...items.values()].map((i) => [
      i.sku,
      i.name,
      i.ownThreshold,
      i.threshold,
      i.onHand,
      i.reserved,
      i.low ? 1 : 0,
      i.position,
    ]),
  );
  await tx.write(
    crossings,
    made.map((c) => [c.position, c.sku, c.direction, c.available, c.threshold, c.recordedAt]),
  );
  context.crossings.push(...made);
};

function fromRow(row: ItemRow): ItemState {
  return {
    sku: row.sku,
    name: row.name,
    ownThreshold: row.own_threshold === null ? null : Number(row.own_threshold),
    threshold: Number(row.threshold),
    onHand: Number(row.on_hand),
    reserved: Number(row.reserved),
    low: Number(row.low) === 1,
    position: Number(row.position),
  };
}
