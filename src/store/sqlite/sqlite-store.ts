import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { CommandRecord, Item, LedgerEvent, Level, Reservation } from '../../domain/index.js';
import {
  createdFence,
  type Dialect,
  fencedCode,
  type LevelGuard,
  type LevelRef,
  type Store,
  StoreError,
  staleLevelCode,
  type WriteSession,
  type WriteSet,
} from '../port.js';
import {
  type CommandRow,
  commandFromRow,
  commandWrites,
  eventFromRow,
  type ItemRow,
  itemFromRow,
  type LedgerRow,
  type LevelRow,
  levelFromRow,
  type ReservationRow,
  reservationFromRow,
} from '../rows.js';
import { commandColumns, ledgerColumns, reservationColumns } from '../sql.js';
import { startCheckpointer } from './sqlite-checkpointer.js';
import { forgetStaleHistory, historyPathOf, prepareHistory, startHistoryIndexer } from './sqlite-history.js';
import { sqliteMigrations } from './sqlite-migrations.js';
import type { SqliteThread } from './sqlite-thread.js';

export interface SqliteStoreOptions {
  /** Database file; its folder is created if missing. */
  readonly path: string;
  /** FULL (default) makes every commit durable before the engine answers. */
  readonly synchronous?: 'FULL' | 'NORMAL';
  readonly busyTimeoutMs?: number;
  /**
   * How often a thread of the store's own checkpoints the WAL once this store writes (see
   * sqlite-checkpointer.ts); 0 (default): the writer checkpoints inside its commits.
   */
  readonly checkpointIntervalMs?: number;
  /**
   * How long the item history's thread (see sqlite-history.ts) pauses once it has indexed the
   * whole ledger; 0: no thread, and readers scan the ledger past the index's head.
   */
  readonly historyIntervalMs?: number;
}

/** The store's own default; deployments take SKULD_SQLITE_HISTORY_INTERVAL_MS (the same). */
const historyIntervalMsDefault = 20;
/** Ledger events per transaction of the item history's index. */
const historyEventsPerPassMax = 50_000;

type Db = Database.Database;

const qualifiedLedgerColumns = ledgerColumns
  .split(', ')
  .map((column) => `l.${column}`)
  .join(', ');
/** Indexed events of an item: (after, through], the index's head at most. */
const indexedHistorySql = `
  SELECT ${qualifiedLedgerColumns} FROM history.item_history h
  JOIN ledger l ON l.position = h.position AND l.sku = h.sku
  WHERE h.sku = ? AND h.position > ? AND h.position <= ? ORDER BY h.position LIMIT ?`;
/** Events of an item past the index's head: a scan of the ledger from there. */
const unindexedHistorySql = `
  SELECT ${ledgerColumns} FROM ledger WHERE position > ? AND sku = ? ORDER BY position LIMIT ?`;

const busyTimeoutMsDefault = 5000;
const busyTimeoutOf = (options: SqliteStoreOptions) => options.busyTimeoutMs ?? busyTimeoutMsDefault;
/**
 * The writer checkpoints every 16k pages (64 MiB of WAL) rather than every 1k: hot pages (the
 * levels of best-selling items, the ledger head, index roots) are rewritten by every batch, and
 * each checkpoint copies them back once however often they changed. With a checkpoint thread,
 * only past 64k pages (256 MiB), should that thread fall behind.
 */
const writerCheckpointPages = { alone: 16_384, backstop: 65_536 } as const;

function open(options: SqliteStoreOptions): Db {
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  db.pragma(`busy_timeout = ${busyTimeoutOf(options)}`);
  const pages = (options.checkpointIntervalMs ?? 0) > 0 ? writerCheckpointPages.backstop : writerCheckpointPages.alone;
  db.pragma(`wal_autocheckpoint = ${pages}`);
  return db;
}

/**
 * The embedded store. SQLite has a single writer: `BEGIN IMMEDIATE` takes the database write
 * lock for the whole batch, so row locks are implicit and positions are assigned in commit
 * order. Reads use a second connection that sees committed data only (WAL).
 */
export class SqliteStore implements Store {
  readonly dialect: Dialect = 'sqlite';
  private readonly writer: Db;
  private readonly reader: Db;
  private session: SqliteSession | undefined;
  private readonly statements = new Map<string, Database.Statement>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly options: SqliteStoreOptions;
  /** historyRows in a read transaction of its own. */
  private readonly readHistory: (sku: string, after: number, limit: number) => LedgerRow[];
  /** Started by the first write transaction: only a store that writes checkpoints and indexes. */
  private checkpointer: SqliteThread | undefined;
  private historyIndexer: SqliteThread | undefined;
  private closed = false;

  private constructor(writer: Db, reader: Db, options: SqliteStoreOptions) {
    this.writer = writer;
    this.reader = reader;
    this.options = options;
    this.readHistory = reader.transaction(this.historyRows.bind(this));
  }

  static open(options: SqliteStoreOptions): SqliteStore {
    if (options.path === ':memory:') throw new Error('the SQLite store needs a file: readers use their own connection');
    mkdirSync(dirname(options.path), { recursive: true });
    try {
      const writer = open(options);
      const reader = open(options);
      // Readers see the item history's index as the schema `history`; the writer never does, so
      // that a batch never takes a lock on the index's file.
      const historyPath = historyPathOf(options.path);
      prepareHistory(historyPath, busyTimeoutOf(options));
      reader.prepare('ATTACH DATABASE ? AS history').run(historyPath);
      return new SqliteStore(writer, reader, options);
    } catch (error) {
      throw translate(error);
    }
  }

  async migrate(): Promise<void> {
    const db = this.writer;
    try {
      db.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
      );
      const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
      for (const migration of sqliteMigrations) {
        if (applied.has(migration.version)) continue;
        db.transaction(() => {
          db.exec(migration.sql);
          db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
            migration.version,
            migration.name,
            Date.now(),
          );
        }).immediate();
      }
      forgetStaleHistory(this.reader, historyPathOf(this.options.path), busyTimeoutOf(this.options));
    } catch (error) {
      throw translate(error);
    }
  }

  writeTransaction<T>(work: (session: WriteSession) => Promise<T>): Promise<T> {
    if (!this.closed) this.startThreads();
    // One transaction at a time on the writer connection, whoever calls.
    const run = this.tail.then(() => this.transact(work));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private startThreads(): void {
    const { path } = this.options;
    const busyTimeoutMs = busyTimeoutOf(this.options);
    const intervalMs = this.options.checkpointIntervalMs ?? 0;
    if (intervalMs > 0 && this.checkpointer === undefined) {
      this.checkpointer = startCheckpointer({ path, intervalMs, busyTimeoutMs });
    }
    const historyIntervalMs = this.options.historyIntervalMs ?? historyIntervalMsDefault;
    if (historyIntervalMs > 0 && this.historyIndexer === undefined) {
      this.historyIndexer = startHistoryIndexer({
        path,
        historyPath: historyPathOf(path),
        intervalMs: historyIntervalMs,
        busyTimeoutMs,
        eventsPerPassMax: historyEventsPerPassMax,
      });
    }
  }

  private async transact<T>(work: (session: WriteSession) => Promise<T>): Promise<T> {
    try {
      this.writer.exec('BEGIN IMMEDIATE');
    } catch (error) {
      throw translate(error);
    }
    try {
      // Prepared on first use: the tables exist only once migrations have run.
      this.session ??= new SqliteSession(this.writer);
      const result = await work(this.session);
      this.writer.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
      throw translate(error);
    }
  }

  async getItem(sku: string): Promise<Item | undefined> {
    const row = this.read('SELECT * FROM items WHERE sku = ?').get(sku) as ItemRow | undefined;
    return row === undefined ? undefined : itemFromRow(row);
  }

  async listItems(afterSku: string | undefined, limit: number): Promise<Item[]> {
    const rows = this.read('SELECT * FROM items WHERE sku > ? ORDER BY sku LIMIT ?').all(afterSku ?? '', limit);
    return (rows as ItemRow[]).map(itemFromRow);
  }

  async itemLevels(sku: string): Promise<Level[]> {
    const rows = this.read('SELECT * FROM levels WHERE sku = ? ORDER BY location').all(sku);
    return (rows as LevelRow[]).map(levelFromRow);
  }

  async locationLevels(location: string, afterSku: string | undefined, limit: number): Promise<Level[]> {
    const rows = this.read('SELECT * FROM levels WHERE location = ? AND sku > ? ORDER BY sku LIMIT ?').all(
      location,
      afterSku ?? '',
      limit,
    );
    return (rows as LevelRow[]).map(levelFromRow);
  }

  async getReservation(id: string): Promise<Reservation | undefined> {
    const row = this.read(reservationSql).get(id) as ReservationRow | undefined;
    return row === undefined ? undefined : reservationFromRow(row);
  }

  async getCommand(id: string): Promise<CommandRecord | undefined> {
    const row = this.read('SELECT * FROM commands WHERE id = ?').get(id) as CommandRow | undefined;
    return row === undefined ? undefined : commandFromRow(row);
  }

  async readLedger(after: number, limit: number): Promise<LedgerEvent[]> {
    const rows = this.read(`SELECT ${ledgerColumns} FROM ledger WHERE position > ? ORDER BY position LIMIT ?`).all(
      after,
      limit,
    );
    return (rows as LedgerRow[]).map(eventFromRow);
  }

  async itemHistory(sku: string, after: number, limit: number): Promise<LedgerEvent[]> {
    return this.readHistory(sku, after, limit).map(eventFromRow);
  }

  /**
   * The positions up to the index's head come from the index, those past it from a scan of the
   * ledger, both in one read transaction (sqlite-history.ts).
   */
  private historyRows(sku: string, after: number, limit: number): LedgerRow[] {
    const through = this.historyIndexedThrough();
    const indexed = (
      through > after ? this.read(indexedHistorySql).all(sku, after, through, limit) : []
    ) as LedgerRow[];
    if (indexed.length >= limit) return indexed;
    const rest = this.read(unindexedHistorySql).all(Math.max(after, through), sku, limit - indexed.length);
    return indexed.concat(rest as LedgerRow[]);
  }

  /** The position up to which the item history's index holds every event. */
  historyIndexedThrough(): number {
    return this.read('SELECT position FROM history.history_head WHERE id = 1').pluck().get() as number;
  }

  async headPosition(): Promise<number> {
    return this.read('SELECT position FROM ledger_head WHERE id = 1').pluck().get() as number;
  }

  async dueReservations(now: number, limit: number): Promise<string[]> {
    const sql = "SELECT id FROM commands WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?";
    return this.read(sql).pluck().all(now, limit) as string[];
  }

  async scanLevels(after: LevelRef | undefined, limit: number): Promise<Level[]> {
    const sql = 'SELECT * FROM levels WHERE (sku, location) > (?, ?) ORDER BY sku, location LIMIT ?';
    return (this.read(sql).all(after?.sku ?? '', after?.location ?? '', limit) as LevelRow[]).map(levelFromRow);
  }

  async scanPendingReservations(afterId: string | undefined, limit: number): Promise<Reservation[]> {
    const sql = `SELECT ${reservationColumns} FROM commands WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?`;
    return (this.read(sql).all(afterId ?? '', limit) as ReservationRow[]).map(reservationFromRow);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    await this.checkpointer?.stop();
    await this.historyIndexer?.stop();
    this.reader.close();
    this.writer.close();
  }

  private read(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      try {
        statement = this.reader.prepare(sql);
      } catch (error) {
        throw translate(error);
      }
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** The write session on the writer connection; its statements are prepared once. */
class SqliteSession implements WriteSession {
  private readonly statements;

  constructor(db: Db) {
    const prepare = (sql: string) => db.prepare(sql);
    this.statements = {
      item: prepare('SELECT * FROM items WHERE sku = ?'),
      reservation: prepare(reservationSql),
      level: prepare('SELECT * FROM levels WHERE sku = ? AND location = ?'),
      command: prepare('SELECT * FROM commands WHERE id = ?'),
      claim: prepare('UPDATE ledger_head SET position = position + ? WHERE id = 1 RETURNING position'),
      insertItem: prepare('INSERT INTO items (sku, name, allow_backorder, created_at) VALUES (?, ?, ?, ?)'),
      insertLevel: prepare(
        'INSERT INTO levels (sku, location, on_hand, reserved, version, fence) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      updateLevel: prepare('UPDATE levels SET on_hand = ?, reserved = ?, version = ? WHERE sku = ? AND location = ?'),
      // Compare-and-set: the version read, and a fencing token newer than the last one written.
      swapLevel: prepare(
        `UPDATE levels SET on_hand = ?, reserved = ?, version = ?, fence = MAX(fence, ?)
         WHERE sku = ? AND location = ? AND version = ? AND fence < ?`,
      ),
      updateReservation: prepare(
        'UPDATE commands SET status = ?, lines = ?, resolved_at = ? WHERE id = ? AND status IS NOT NULL',
      ),
      insertEvent: prepare(`INSERT INTO ledger (${ledgerColumns}) VALUES (${Array(18).fill('?').join(', ')})`),
      insertCommand: prepare(`INSERT INTO commands (${commandColumns}) VALUES (${Array(10).fill('?').join(', ')})`),
    };
  }

  async loadItems(skus: readonly string[]): Promise<Map<string, Item>> {
    const items = new Map<string, Item>();
    for (const sku of skus) {
      const row = this.statements.item.get(sku) as ItemRow | undefined;
      if (row !== undefined) items.set(sku, itemFromRow(row));
    }
    return items;
  }

  async loadReservations(ids: readonly string[]): Promise<Map<string, Reservation>> {
    const reservations = new Map<string, Reservation>();
    for (const id of ids) {
      const row = this.statements.reservation.get(id) as ReservationRow | undefined;
      if (row !== undefined) reservations.set(id, reservationFromRow(row));
    }
    return reservations;
  }

  async lockLevels(keys: readonly LevelRef[]): Promise<Level[]> {
    // The write lock of BEGIN IMMEDIATE covers every row: there is nothing more to lock.
    const levels: Level[] = [];
    for (const key of keys) {
      const row = this.statements.level.get(key.sku, key.location) as LevelRow | undefined;
      if (row !== undefined) levels.push(levelFromRow(row));
    }
    return levels;
  }

  async readLevels(keys: readonly LevelRef[]): Promise<Level[]> {
    return this.lockLevels(keys);
  }

  async loadCommands(ids: readonly string[]): Promise<Map<string, CommandRecord>> {
    const records = new Map<string, CommandRecord>();
    for (const id of ids) {
      const row = this.statements.command.get(id) as CommandRow | undefined;
      if (row !== undefined) records.set(id, commandFromRow(row));
    }
    return records;
  }

  async claimPositions(count: number): Promise<number> {
    const head = this.statements.claim.pluck().get(count) as number;
    return head - count + 1;
  }

  async write(set: WriteSet): Promise<void> {
    const s = this.statements;
    for (const item of set.items) s.insertItem.run(item.sku, item.name, item.allowBackorder ? 1 : 0, item.createdAt);
    const guard = set.levelGuard;
    for (const l of set.levels) {
      if (l.previousVersion === null) {
        s.insertLevel.run(l.sku, l.location, l.onHand, l.reserved, l.version, createdFence(guard));
        continue;
      }
      if (guard.kind === 'locked') {
        if (s.updateLevel.run(l.onHand, l.reserved, l.version, l.sku, l.location).changes !== 1) {
          throw new StoreError('internal', `level ${l.sku}@${l.location} was changed but has no row`);
        }
        continue;
      }
      // Without a fence the row keeps its own, and the fence check always passes.
      const swapped = s.swapLevel.run(
        l.onHand,
        l.reserved,
        l.version,
        guard.fence ?? 0,
        l.sku,
        l.location,
        l.previousVersion,
        guard.fence ?? Number.MAX_SAFE_INTEGER,
      );
      if (swapped.changes !== 1) throw staleLevel(l, guard);
    }
    for (const r of set.updatedReservations) {
      if (s.updateReservation.run(r.status, JSON.stringify(r.lines), r.resolvedAt, r.id).changes !== 1) {
        throw new StoreError('internal', `reservation ${r.id} was changed but has no row`);
      }
    }
    for (const e of set.events) {
      s.insertEvent.run(
        e.position,
        e.type,
        e.sku,
        e.location,
        e.onHandDelta,
        e.reservedDelta,
        e.onHandAfter,
        e.reservedAfter,
        e.quantity,
        e.commandId,
        e.reservationId,
        e.expiresAt,
        e.peerLocation,
        e.reason,
        e.reference,
        e.actor,
        e.occurredAt,
        e.recordedAt,
      );
    }
    for (const { record: c, reservation: r } of commandWrites(set)) {
      const lines = r === undefined ? null : JSON.stringify(r.lines);
      s.insertCommand.run(
        c.id,
        c.type,
        c.fingerprint,
        JSON.stringify(c.outcome),
        c.recordedAt,
        r?.status ?? null,
        lines,
        r?.createdAt ?? null,
        r?.expiresAt ?? null,
        r?.resolvedAt ?? null,
      );
    }
  }
}

const reservationSql = `SELECT ${reservationColumns} FROM commands WHERE id = ? AND status IS NOT NULL`;

function staleLevel(level: LevelRef, guard: LevelGuard): StoreError {
  const code = guard.kind === 'version' && guard.fence !== undefined ? fencedCode : staleLevelCode;
  return new StoreError('conflict', `level ${level.sku}@${level.location} changed since it was read`, { code });
}

function translate(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new StoreError('conflict', message, { cause: error, code });
  }
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    return new StoreError('conflict', message, { cause: error, code });
  }
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY') {
    return new StoreError('unavailable', message, { cause: error, code });
  }
  return new StoreError('internal', message, { cause: error, code });
}
