import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { LedgerEvent } from '../../domain/index.js';
import { type Log, silentLog } from '../../log.js';
import { runMigrations } from '../migrate.js';
import { type Dialect, type Store, type StoreCapabilities, StoreError, type WriteSession } from '../port.js';
import { eventFromRow, type LedgerRow } from '../rows.js';
import { reservationColumns } from '../sql.js';
import { SqlInstances } from '../sql-instances.js';
import { type KeyParam, type KeyTransaction, SqlKeys } from '../sql-keys.js';
import { SqlLeases } from '../sql-leases.js';
import { type SqlParam, SqlReads } from '../sql-reads.js';
import { SqlRebuild, updateFromSql } from '../sql-rebuild.js';
import { SqlReports } from '../sql-reports.js';
import { startCheckpointer } from './sqlite-checkpointer.js';
import { translate } from './sqlite-errors.js';
import { forgetStaleHistory, historyPathOf, prepareHistory, startHistoryIndexer } from './sqlite-history.js';
import { sqliteMigrations, sqliteMigrationTarget } from './sqlite-migrations.js';
import { SqliteSession } from './sqlite-session.js';
import { indexedHistorySql, unindexedHistorySql } from './sqlite-sql.js';
import type { SqliteThread } from './sqlite-thread.js';

/** One writer: BEGIN IMMEDIATE takes the database's write lock, so there are no row locks. */
export const sqliteCapabilities: StoreCapabilities = { rowLocks: false, concurrentWriters: false };

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
  /** Where the store's threads report failures; none by default. */
  readonly log?: Log;
}

/** The store's own default; deployments take SKULD_SQLITE_HISTORY_INTERVAL_MS (the same). */
const historyIntervalMsDefault = 20;
/** Ledger events per transaction of the item history's index. */
const historyEventsPerPassMax = 50_000;

type Db = Database.Database;

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
export class SqliteStore extends SqlReads implements Store {
  readonly dialect: Dialect = 'sqlite';
  readonly capabilities = sqliteCapabilities;
  readonly keys = new SqlKeys({
    rows: (sql, params) => this.rows(sql, params as SqlParam[]),
    transaction: (work) => this.keyTransaction(work),
  });
  readonly leases = new SqlLeases(this.keys.db);
  readonly instances = new SqlInstances(this.keys.db);
  readonly rebuild = new SqlRebuild(this.keys.db, { lock: [], updateFromRebuilt: updateFromSql });
  readonly reports = new SqlReports(this.keys.db);
  private readonly writer: Db;
  private readonly reader: Db;
  private session: SqliteSession | undefined;
  private readonly statements = new Map<string, Database.Statement>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly options: SqliteStoreOptions;
  private readonly log: Log;
  /** historyRows in a read transaction of its own. */
  private readonly readHistory: (sku: string, after: number, limit: number) => LedgerRow[];
  /** Started by the first write transaction: only a store that writes checkpoints and indexes. */
  private checkpointer: SqliteThread | undefined;
  private historyIndexer: SqliteThread | undefined;
  private closed = false;

  private constructor(writer: Db, reader: Db, options: SqliteStoreOptions) {
    super(reservationColumns);
    this.log = options.log ?? silentLog;
    this.writer = writer;
    this.reader = reader;
    this.options = options;
    this.readHistory = reader.transaction(this.historyRows.bind(this));
  }

  static open(options: SqliteStoreOptions): SqliteStore {
    if (options.path === ':memory:') {
      throw new StoreError('internal', 'the SQLite store needs a file: readers use their own connection');
    }
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
    try {
      await runMigrations(sqliteMigrationTarget(this.writer), sqliteMigrations);
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
      this.checkpointer = startCheckpointer({ path, intervalMs, busyTimeoutMs }, this.log);
    }
    const historyIntervalMs = this.options.historyIntervalMs ?? historyIntervalMsDefault;
    if (historyIntervalMs > 0 && this.historyIndexer === undefined) {
      this.historyIndexer = startHistoryIndexer(
        {
          path,
          historyPath: historyPathOf(path),
          intervalMs: historyIntervalMs,
          busyTimeoutMs,
          eventsPerPassMax: historyEventsPerPassMax,
        },
        this.log,
      );
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

  /**
   * A key's change, on the writer connection and in its turn with the write path's batches. It
   * starts none of the store's threads: a store that only manages keys does not write the ledger.
   */
  private keyTransaction<T>(work: (tx: KeyTransaction) => Promise<T>): Promise<T> {
    const tx: KeyTransaction = {
      rows: async <R>(sql: string, params: readonly KeyParam[]) => this.writer.prepare(sql).all(...params) as R[],
      run: async (sql, params) => this.writer.prepare(sql).run(...params).changes,
    };
    const run = this.tail.then(async () => {
      if (this.closed) throw new StoreError('unavailable', 'the store is closed');
      try {
        this.writer.exec('BEGIN IMMEDIATE');
        const result = await work(tx);
        this.writer.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.writer.inTransaction) this.writer.exec('ROLLBACK');
        throw translate(error);
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  protected async rows<T>(sql: string, params: readonly SqlParam[]): Promise<T[]> {
    if (this.closed) throw new StoreError('unavailable', 'the store is closed');
    return this.read(sql).all(...params) as T[];
  }

  override async itemHistory(sku: string, after: number, limit: number): Promise<LedgerEvent[]> {
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
