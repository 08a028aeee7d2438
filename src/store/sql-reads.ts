import type { CommandRecord, Item, LedgerEvent, Level, Reservation } from '../domain/index.js';
import type { LedgerBalance, LevelRef, PendingReservations, StockAt, StoreReads } from './port.js';
import {
  type BalanceRow,
  balanceFromRow,
  type CommandRow,
  commandFromRow,
  eventFromRow,
  type ItemRow,
  itemFromRow,
  type LedgerRow,
  type LevelRow,
  levelFromRow,
  type ReservationRow,
  reservationFromRow,
} from './rows.js';
import { ledgerColumns } from './sql.js';

/** A value bound to a `?` placeholder. */
export type SqlParam = string | number;

/**
 * The reads every dialect runs with the same SQL, written once with `?` placeholders. A dialect
 * supplies `rows` (how it runs a query on its read connections) and the reservation columns as
 * it must spell them; it overrides a read only where its SQL has to differ.
 */
export abstract class SqlReads implements StoreReads {
  private readonly reservationSelect: string;

  protected constructor(reservationColumns: string) {
    this.reservationSelect = `SELECT ${reservationColumns} FROM commands`;
  }

  /** Runs one read query (`?` placeholders) and returns its rows; driver errors as StoreError. */
  protected abstract rows<T>(sql: string, params: readonly SqlParam[]): Promise<T[]>;

  async getItem(sku: string): Promise<Item | undefined> {
    const [row] = await this.rows<ItemRow>('SELECT * FROM items WHERE sku = ?', [sku]);
    return row === undefined ? undefined : itemFromRow(row);
  }

  async listItems(afterSku: string | undefined, limit: number): Promise<Item[]> {
    const rows = await this.rows<ItemRow>('SELECT * FROM items WHERE sku > ? ORDER BY sku LIMIT ?', [
      afterSku ?? '',
      limit,
    ]);
    return rows.map(itemFromRow);
  }

  async itemLevels(sku: string): Promise<Level[]> {
    return (await this.rows<LevelRow>('SELECT * FROM levels WHERE sku = ? ORDER BY location', [sku])).map(levelFromRow);
  }

  async locationLevels(location: string, afterSku: string | undefined, limit: number): Promise<Level[]> {
    const sql = 'SELECT * FROM levels WHERE location = ? AND sku > ? ORDER BY sku LIMIT ?';
    return (await this.rows<LevelRow>(sql, [location, afterSku ?? '', limit])).map(levelFromRow);
  }

  async getReservation(id: string): Promise<Reservation | undefined> {
    const sql = `${this.reservationSelect} WHERE id = ? AND status IS NOT NULL`;
    const [row] = await this.rows<ReservationRow>(sql, [id]);
    return row === undefined ? undefined : reservationFromRow(row);
  }

  async getCommand(id: string): Promise<CommandRecord | undefined> {
    const [row] = await this.rows<CommandRow>('SELECT * FROM commands WHERE id = ?', [id]);
    return row === undefined ? undefined : commandFromRow(row);
  }

  async readLedger(after: number, limit: number): Promise<LedgerEvent[]> {
    const sql = `SELECT ${ledgerColumns} FROM ledger WHERE position > ? ORDER BY position LIMIT ?`;
    return (await this.rows<LedgerRow>(sql, [after, limit])).map(eventFromRow);
  }

  async readBalances(after: number, limit: number): Promise<LedgerBalance[]> {
    const sql =
      'SELECT position, sku, location, stream_version, on_hand_delta, reserved_delta, on_hand_after, reserved_after, ' +
      'incoming_delta, incoming_after ' +
      'FROM ledger WHERE position > ? ORDER BY position LIMIT ?';
    return (await this.rows<BalanceRow>(sql, [after, limit])).map(balanceFromRow);
  }

  async itemHistory(sku: string, after: number, limit: number): Promise<LedgerEvent[]> {
    const sql = `SELECT ${ledgerColumns} FROM ledger WHERE sku = ? AND position > ? ORDER BY position LIMIT ?`;
    return (await this.rows<LedgerRow>(sql, [sku, after, limit])).map(eventFromRow);
  }

  async headPosition(): Promise<number> {
    const [row] = await this.rows<{ position: number | string }>('SELECT position FROM ledger_head WHERE id = 1', []);
    return Number(row?.position ?? 0);
  }

  async itemStockAt(sku: string): Promise<StockAt<{ item: Item | undefined; levels: Level[] }>> {
    // The head's row joined to the item's and its levels': one statement, so one snapshot.
    const sql = `SELECT h.position AS head, i.sku AS item_sku, i.name, i.allow_backorder, i.created_at,
        i.low_stock_threshold, l.sku, l.location, l.on_hand, l.reserved, l.incoming, l.version
      FROM ledger_head h LEFT JOIN items i ON i.sku = ? LEFT JOIN levels l ON l.sku = ?
      WHERE h.id = 1 ORDER BY l.location`;
    const rows = await this.rows<HeadRow & ItemStockRow>(sql, [sku, sku]);
    const first = rows[0];
    // A joined item's columns are all set (the item_sku null means no such item).
    const item =
      first === undefined || first.item_sku === null
        ? undefined
        : itemFromRow({ ...first, sku: first.item_sku } as ItemRow);
    return { position: headOf(rows), value: { item, levels: levelsOf(rows) } };
  }

  async locationLevelsAt(location: string, afterSku: string | undefined, limit: number): Promise<StockAt<Level[]>> {
    const sql = `SELECT h.position AS head, l.sku, l.location, l.on_hand, l.reserved, l.incoming, l.version
      FROM ledger_head h LEFT JOIN levels l ON l.location = ? AND l.sku > ?
      WHERE h.id = 1 ORDER BY l.sku LIMIT ?`;
    const rows = await this.rows<HeadRow & Nullable<LevelRow>>(sql, [location, afterSku ?? '', limit]);
    return { position: headOf(rows), value: levelsOf(rows) };
  }

  async pendingReservations(countMax: number): Promise<PendingReservations> {
    // Both read the due index (pending reservations by expiry) only: the count stops at countMax
    // entries, the oldest is its first entry.
    const [counted] = await this.rows<{ n: number | string }>(
      "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM commands WHERE status = 'pending' AND expires_at IS NOT NULL LIMIT ?) pending",
      [countMax],
    );
    const [oldest] = await this.rows<{ expires_at: number | string }>(
      "SELECT expires_at FROM commands WHERE status = 'pending' AND expires_at IS NOT NULL ORDER BY expires_at LIMIT 1",
      [],
    );
    return {
      count: Number(counted?.n ?? 0),
      oldestExpiresAt: oldest === undefined ? null : Number(oldest.expires_at),
    };
  }

  async dueReservations(now: number, limit: number): Promise<string[]> {
    const sql = "SELECT id FROM commands WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?";
    return (await this.rows<{ id: string }>(sql, [now, limit])).map((row) => String(row.id));
  }

  async scanLevels(after: LevelRef | undefined, limit: number): Promise<Level[]> {
    const sql = 'SELECT * FROM levels WHERE (sku, location) > (?, ?) ORDER BY sku, location LIMIT ?';
    return (await this.rows<LevelRow>(sql, [after?.sku ?? '', after?.location ?? '', limit])).map(levelFromRow);
  }

  async scanPendingReservations(afterId: string | undefined, limit: number): Promise<Reservation[]> {
    const sql = `${this.reservationSelect} WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?`;
    return (await this.rows<ReservationRow>(sql, [afterId ?? '', limit])).map(reservationFromRow);
  }
}

type Nullable<T> = { [K in keyof T]: T[K] | null };

interface HeadRow {
  head: number | string;
}

type ItemStockRow = Nullable<Omit<ItemRow, 'sku'>> & { item_sku: string | null } & Nullable<LevelRow>;

function headOf(rows: readonly HeadRow[]): number {
  return Number(rows[0]?.head ?? 0);
}

/** The level columns of rows a left join filled (a row without a level has them all null). */
function levelsOf(rows: readonly Nullable<LevelRow>[]): Level[] {
  return rows.flatMap((row) => (row.sku === null ? [] : [levelFromRow(row as LevelRow)]));
}
