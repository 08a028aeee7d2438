import type { LedgerEvent } from '../../domain/index.js';
import { eventFromRow, type LedgerRow } from '../../store/rows.js';
import { ledgerColumns } from '../../store/sql.js';
import { type Crossing, rowsIn } from './projection.js';
import type { ReadDb, ReadValue } from './read-db.js';

// The read models' lists, each paged by a key the client passes back as `after`. Filters are
// optional; each combination is one query text (so one prepared statement).

/** Conditions joined with AND, and their parameters, for the filters a request gave. */
class Where {
  readonly conditions: string[] = [];
  readonly params: ReadValue[] = [];

  add(condition: string, value: ReadValue | undefined): this {
    if (value === undefined) return this;
    this.conditions.push(condition);
    this.params.push(value);
    return this;
  }

  get sql(): string {
    return this.conditions.join(' AND ');
  }
}

export interface MovementFilter {
  readonly sku: string;
  readonly location?: string | undefined;
  readonly type?: string | undefined;
  /** Movements that happened at or after this time (occurredAt, epoch ms). */
  readonly from?: number | undefined;
  /** Movements that happened before this time. */
  readonly to?: number | undefined;
}

/** An item's movements (its ledger events but ItemRegistered) in position order, after the position `after`. */
export function listMovements(
  db: ReadDb,
  filter: MovementFilter,
  after: number,
  limit: number,
): Promise<LedgerEvent[]> {
  const where = new Where()
    .add('sku = ?', filter.sku)
    .add('position > ?', after)
    .add('location = ?', filter.location)
    .add('type = ?', filter.type)
    .add('occurred_at >= ?', filter.from)
    .add('occurred_at < ?', filter.to);
  const sql = `SELECT ${ledgerColumns} FROM movements WHERE ${where.sql} ORDER BY position LIMIT ?`;
  return db.read(async (tx) => (await tx.rows<LedgerRow>(sql, [...where.params, limit])).map(eventFromRow));
}

export interface ReservationLineView {
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
  readonly committed: number | null;
}

export interface ReservationView {
  readonly id: string;
  readonly status: string;
  readonly reference: string | null;
  readonly lines: readonly ReservationLineView[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly resolvedAt: number | null;
  /** The position of its first event: the page key. */
  readonly position: number;
}

export interface ReservationFilter {
  readonly status?: string | undefined;
  readonly sku?: string | undefined;
  readonly reference?: string | undefined;
  /** Reservations whose hold ends before this time (epoch ms). */
  readonly expiresBefore?: number | undefined;
}

interface ReservationRow {
  id: string;
  status: string;
  reference: string | null;
  created_at: number;
  expires_at: number;
  resolved_at: number | null;
  position: number;
}

interface LineRow {
  reservation_id: string;
  sku: string;
  location: string;
  quantity: number;
  committed: number | null;
}

/** Reservations in the order they were made, after the position `after`, with their lines. */
export function listReservations(
  db: ReadDb,
  filter: ReservationFilter,
  after: number,
  limit: number,
): Promise<ReservationView[]> {
  const where = new Where()
    .add('r.position > ?', after)
    .add('r.status = ?', filter.status)
    .add('r.reference = ?', filter.reference)
    .add('r.expires_at < ?', filter.expiresBefore)
    .add('EXISTS (SELECT 1 FROM read_reservation_lines l WHERE l.reservation_id = r.id AND l.sku = ?)', filter.sku);
  const sql = `SELECT r.* FROM read_reservations r WHERE ${where.sql} ORDER BY r.position LIMIT ?`;
  return db.read(async (tx) => {
    const rows = await tx.rows<ReservationRow>(sql, [...where.params, limit]);
    const lines = await rowsIn<LineRow>(
      tx,
      'SELECT * FROM read_reservation_lines WHERE reservation_id IN',
      rows.map((row) => row.id),
    );
    const byId = new Map<string, ReservationLineView[]>();
    for (const line of lines.sort((a, b) => (a.sku + a.location < b.sku + b.location ? -1 : 1))) {
      const list = byId.get(line.reservation_id) ?? [];
      list.push({
        sku: line.sku,
        location: line.location,
        quantity: Number(line.quantity),
        committed: line.committed === null ? null : Number(line.committed),
      });
      byId.set(line.reservation_id, list);
    }
    return rows.map((row) => ({
      id: row.id,
      status: row.status,
      reference: row.reference,
      lines: byId.get(row.id) ?? [],
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      resolvedAt: row.resolved_at === null ? null : Number(row.resolved_at),
      position: Number(row.position),
    }));
  });
}

export interface StockSummary {
  readonly sku: string;
  readonly onHand: number;
  readonly reserved: number;
  readonly available: number;
  /** Locations the item has a level at. */
  readonly locations: number;
  /** The position of the item's last change. */
  readonly position: number;
}

/** Items' totals across locations, by SKU after `after` (or the one SKU asked for). */
export function listStockSummary(
  db: ReadDb,
  sku: string | undefined,
  after: string | undefined,
  limit: number,
): Promise<StockSummary[]> {
  const where = new Where().add('i.sku = ?', sku).add('i.sku > ?', after ?? '');
  const sql =
    'SELECT i.sku, i.on_hand, i.reserved, i.position, ' +
    '(SELECT count(*) FROM stock_levels l WHERE l.sku = i.sku) AS locations ' +
    `FROM stock_items i WHERE ${where.sql} ORDER BY i.sku LIMIT ?`;
  return db.read(async (tx) => {
    const rows = await tx.rows<{ sku: string; on_hand: number; reserved: number; position: number; locations: number }>(
      sql,
      [...where.params, limit],
    );
    return rows.map((row) => {
      const onHand = Number(row.on_hand);
      const reserved = Number(row.reserved);
      const base = { sku: row.sku, onHand, reserved, available: onHand - reserved };
      return { ...base, locations: Number(row.locations), position: Number(row.position) };
    });
  });
}

export interface LowStockItem {
  readonly sku: string;
  readonly name: string;
  readonly threshold: number;
  readonly onHand: number;
  readonly reserved: number;
  readonly available: number;
  readonly position: number;
}

/** Items below their threshold now, by SKU. */
export function listLowStock(db: ReadDb, after: string | undefined, limit: number): Promise<LowStockItem[]> {
  const sql = 'SELECT * FROM low_stock_items WHERE low = 1 AND sku > ? ORDER BY sku LIMIT ?';
  return db.read(async (tx) => {
    const rows = await tx.rows<{
      sku: string;
      name: string;
      threshold: number;
      on_hand: number;
      reserved: number;
      position: number;
    }>(sql, [after ?? '', limit]);
    return rows.map((row) => {
      const onHand = Number(row.on_hand);
      const reserved = Number(row.reserved);
      const base = { sku: row.sku, name: row.name, threshold: Number(row.threshold) };
      return { ...base, onHand, reserved, available: onHand - reserved, position: Number(row.position) };
    });
  });
}

/** Low-stock crossings in position order after `after`, of one item or all. */
export function listCrossings(db: ReadDb, sku: string | undefined, after: number, limit: number): Promise<Crossing[]> {
  const where = new Where().add('position > ?', after).add('sku = ?', sku);
  const sql = `SELECT * FROM low_stock_crossings WHERE ${where.sql} ORDER BY position LIMIT ?`;
  return db.read(async (tx) => {
    const rows = await tx.rows<{
      position: number;
      sku: string;
      direction: 'below' | 'above';
      available: number;
      threshold: number;
      recorded_at: number;
    }>(sql, [...where.params, limit]);
    return rows.map((row) => ({
      position: Number(row.position),
      sku: row.sku,
      direction: row.direction,
      available: Number(row.available),
      threshold: Number(row.threshold),
      recordedAt: Number(row.recorded_at),
    }));
  });
}

export interface DailyMovement {
  /** The UTC day (YYYY-MM-DD) the movements happened on (their occurredAt). */
  readonly date: string;
  readonly sku: string;
  readonly location: string;
  readonly events: number;
  readonly onHandIn: number;
  readonly onHandOut: number;
  readonly reservedIn: number;
  readonly reservedOut: number;
}

export interface DailyFilter {
  readonly date?: string | undefined;
  readonly sku?: string | undefined;
  readonly location?: string | undefined;
}

/** The key a daily report page continues after: date, SKU and location ('~' is in no code). */
export function dailyKey(row: Pick<DailyMovement, 'date' | 'sku' | 'location'>): string {
  return `${row.date}~${row.sku}~${row.location}`;
}

/** Daily movement rows by (date, SKU, location), after the key `after` (dailyKey). */
export function listDailyMovements(
  db: ReadDb,
  filter: DailyFilter,
  after: string | undefined,
  limit: number,
): Promise<DailyMovement[]> {
  const [day = '', sku = '', location = ''] = after === undefined ? [] : after.split('~');
  const where = new Where()
    .add('day = ?', filter.date)
    .add('sku = ?', filter.sku)
    .add('location = ?', filter.location)
    .add('(day > ? OR (day = ? AND (sku > ? OR (sku = ? AND location > ?))))', day);
  const params = [...where.params.slice(0, -1), day, day, sku, sku, location];
  const sql = `SELECT * FROM daily_movements WHERE ${where.sql} ORDER BY day, sku, location LIMIT ?`;
  return db.read(async (tx) => {
    const rows = await tx.rows<{
      day: string;
      sku: string;
      location: string;
      events: number;
      on_hand_in: number;
      on_hand_out: number;
      reserved_in: number;
      reserved_out: number;
    }>(sql, [...params, limit]);
    return rows.map((row) => ({
      date: row.day,
      sku: row.sku,
      location: row.location,
      events: Number(row.events),
      onHandIn: Number(row.on_hand_in),
      onHandOut: Number(row.on_hand_out),
      reservedIn: Number(row.reserved_in),
      reservedOut: Number(row.reserved_out),
    }));
  });
}
