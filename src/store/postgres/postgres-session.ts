import type { CommandRecord, Item, Level, Reservation } from '../../domain/index.js';
import type { LevelRef, WriteSession, WriteSet } from '../port.js';
import {
  type CommandRow,
  commandFromRow,
  commandWrites,
  commandWriteToRow,
  eventToRow,
  type ItemRow,
  itemFromRow,
  itemToRow,
  type LevelRow,
  levelFromRow,
  type ReservationRow,
  reservationFromRow,
} from '../rows.js';
import { commandColumns, ledgerColumns } from '../sql.js';
import { commandLine, ledgerLine } from '../tsv.js';
import { copy, copyRowsMin, type Sql, updateReservations, writeLevels } from './postgres-sql.js';

/** One batch's transaction. Statements without a data dependency are sent pipelined. */
export class PostgresSession implements WriteSession {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async loadItems(skus: readonly string[]): Promise<Map<string, Item>> {
    const rows = await this.sql<ItemRow[]>`
      SELECT i.* FROM unnest(${skus as string[]}::text[]) AS k(sku) JOIN items i ON i.sku = k.sku`;
    return new Map(rows.map((row) => [row.sku, itemFromRow(row)]));
  }

  async loadReservations(ids: readonly string[]): Promise<Map<string, Reservation>> {
    const rows = await this.sql<ReservationRow[]>`
      SELECT c.id, c.status, c.lines, c.created_at, c.expires_at, c.resolved_at
      FROM unnest(${ids as string[]}::text[]) AS k(id) JOIN commands c ON c.id = k.id AND c.status IS NOT NULL`;
    return new Map(rows.map((row) => [row.id, reservationFromRow(row)]));
  }

  async lockLevels(keys: readonly LevelRef[]): Promise<Level[]> {
    // The LockRows step sits above the sort: rows are locked in (sku, location) order.
    const rows = await this.sql<LevelRow[]>`
      SELECT l.sku, l.location, l.on_hand, l.reserved, l.incoming, l.version
      FROM levels l
      JOIN unnest(${keys.map((k) => k.sku)}::text[], ${keys.map((k) => k.location)}::text[]) AS k(sku, location)
        ON l.sku = k.sku AND l.location = k.location
      ORDER BY l.sku, l.location
      FOR UPDATE OF l`;
    return rows.map(levelFromRow);
  }

  async readLevels(keys: readonly LevelRef[]): Promise<Level[]> {
    const rows = await this.sql<LevelRow[]>`
      SELECT l.sku, l.location, l.on_hand, l.reserved, l.incoming, l.version
      FROM levels l
      JOIN unnest(${keys.map((k) => k.sku)}::text[], ${keys.map((k) => k.location)}::text[]) AS k(sku, location)
        ON l.sku = k.sku AND l.location = k.location`;
    return rows.map(levelFromRow);
  }

  async loadCommands(ids: readonly string[]): Promise<Map<string, CommandRecord>> {
    // A join with the id list, not `id = ANY(…)`: with a long list the planner prefers a scan of
    // the whole table until it holds hundreds of thousands of rows, and every batch pays for it.
    const rows = await this.sql<CommandRow[]>`
      SELECT c.* FROM unnest(${ids as string[]}::text[]) AS k(id) JOIN commands c ON c.id = k.id`;
    return new Map(rows.map((row) => [row.id, commandFromRow(row)]));
  }

  async claimPositions(count: number): Promise<number> {
    const [row] = await this.sql`UPDATE ledger_head SET position = position + ${count} WHERE id = 1 RETURNING position`;
    return Number(row?.position) - count + 1;
  }

  async write(set: WriteSet): Promise<void> {
    const json = (rows: readonly unknown[]) => JSON.stringify(rows);
    const statements: Promise<unknown>[] = [];
    if (set.items.length > 0) {
      statements.push(this.sql`
        INSERT INTO items SELECT * FROM json_populate_recordset(null::items, ${json(set.items.map(itemToRow))}::text::json)`);
    }
    if (set.levels.length > 0) statements.push(writeLevels(this.sql, set.levels, set.levelGuard));
    if (set.updatedReservations.length > 0) statements.push(updateReservations(this.sql, set.updatedReservations));
    // New ids are inserted in id order: two batches racing on the same new ids wait in one order.
    const commands = commandWrites(set);
    const appended = [
      {
        table: 'ledger',
        columns: ledgerColumns,
        count: set.events.length,
        rows: () => set.events.map(eventToRow),
        lines: () => set.events.map(ledgerLine),
      },
      {
        table: 'commands',
        columns: commandColumns,
        count: commands.length,
        rows: () => commands.map(commandWriteToRow),
        lines: () => commands.map(commandLine),
      },
    ] as const;
    const copied: (typeof appended)[number][] = [];
    for (const append of appended) {
      const { table, columns, count, rows } = append;
      if (count === 0) continue;
      if (count < copyRowsMin) {
        statements.push(this.sql`
          INSERT INTO ${this.sql(table)} (${this.sql.unsafe(columns)})
          SELECT ${this.sql.unsafe(columns)} FROM json_populate_recordset(null::${this.sql(table)}, ${json(rows())}::text::json)`);
      } else {
        copied.push(append);
      }
    }
    const settled = Promise.all(statements);
    // Observed at once: a statement may fail while the data below is encoded, before the await.
    settled.catch(() => undefined);
    // The COPY data is encoded while the server runs the statements above, not after them: the
    // driver sends a query a turn after it is issued, so this thread lets it go first. The
    // COPYs then follow the statements, and each other, with no pause for encoding.
    if (copied.length > 0) await new Promise((resolve) => setImmediate(resolve));
    const copies = copied.map(({ table, columns, lines }) => ({ table, columns, data: lines().join('') }));
    await settled;
    // One COPY at a time, and none beside other statements: the protocol streams its data.
    for (const { table, columns, data } of copies) await copy(this.sql, table, columns, data);
  }
}
