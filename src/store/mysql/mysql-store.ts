import { type PoolConnection as CorePoolConnection, createPool, escapeId, format, type SqlValue } from 'mysql2';
import { createConnection, type Pool, type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import type { Level } from '../../domain/index.js';
import { runMigrations } from '../migrate.js';
import {
  type Dialect,
  type LevelRef,
  type Store,
  type StoreCapabilities,
  StoreError,
  type WriteSession,
} from '../port.js';
import { type LevelRow, levelFromRow } from '../rows.js';
import { reservationColumns } from '../sql.js';
import { SqlInstances } from '../sql-instances.js';
import { type KeyParam, type KeyTransaction, SqlKeys } from '../sql-keys.js';
import { SqlLeases } from '../sql-leases.js';
import { type SqlParam, SqlReads } from '../sql-reads.js';
import { SqlRebuild, updateJoinSql } from '../sql-rebuild.js';
import { SqlReports } from '../sql-reports.js';
import { closedError, guard, translate } from './mysql-errors.js';
import { mysqlMigrations, mysqlMigrationTarget } from './mysql-migrations.js';
import { MysqlSession } from './mysql-session.js';
import { quotingLines, sessionSetupSql } from './mysql-sql.js';

export const mysqlCapabilities: StoreCapabilities = { rowLocks: true, concurrentWriters: true };

export interface MysqlStoreOptions {
  /** `mysql://user:password@host:port/database`. */
  readonly url: string;
  /** Database for every table, instead of the URL's (created if missing). */
  readonly database?: string | undefined;
  /** Pool size: one connection serves a batch, the rest serve reads. */
  readonly connectionsMax?: number;
  /**
   * Append ledger events and command records with LOAD DATA LOCAL. By default where the server
   * allows it (`local_infile`, asked at the first write) and the URL's `flags` do not take
   * LOCAL_FILES away; true: without asking; false: always multi-row INSERTs. A load the server
   * refuses all the same turns it off for the rest of the store's life.
   */
  readonly bulkLoad?: boolean;
}

const unknownDatabaseErrno = 1049;

/**
 * MySQL / MariaDB (InnoDB) store, safe for several Skuld processes at once: level rows are
 * locked in key order through the primary key, the ledger head last, and a batch's writes go in
 * a few multi-row statements per round trip.
 */
const lockAllLevelsSql = 'SELECT sku FROM levels FORCE INDEX (PRIMARY) ORDER BY sku, location FOR UPDATE';

export class MysqlStore extends SqlReads implements Store {
  readonly dialect: Dialect = 'mysql';
  readonly capabilities = mysqlCapabilities;
  readonly keys = new SqlKeys({
    rows: (sql, params) => this.rows(sql, params as SqlParam[]),
    transaction: (work) => this.keyTransaction(work),
  });
  readonly leases = new SqlLeases(this.keys.db);
  readonly instances = new SqlInstances(this.keys.db);
  readonly rebuild = new SqlRebuild(this.keys.db, {
    // Every level row in the one global order, then the head, then again the rows created
    // before the head was held (a writer waiting on one is a deadlock InnoDB breaks: the swap is retried).
    lock: [lockAllLevelsSql, 'SELECT position FROM ledger_head WHERE id = 1 FOR UPDATE', lockAllLevelsSql],
    updateFromRebuilt: updateJoinSql,
  });
  readonly reports = new SqlReports(this.keys.db);
  private readonly pool: Pool;
  private readonly url: string;
  private readonly database: string;
  /** Whether batches append with LOAD DATA LOCAL: asked of the server at the first write. */
  private bulkLoad: boolean | undefined;
  private closed = false;

  private constructor(pool: Pool, url: string, database: string, bulkLoad: boolean | undefined) {
    super(quotingLines(reservationColumns));
    this.pool = pool;
    this.url = url;
    this.database = database;
    this.bulkLoad = bulkLoad;
  }

  static open(options: MysqlStoreOptions): MysqlStore {
    // The name is only ever passed to the server as an identifier (quoted where it appears in SQL).
    const database = options.database ?? databaseOf(options.url);
    if (database === '') throw new StoreError('internal', 'the MySQL URL names no database');
    const flags = urlFlags(options.url);
    const pool = createPool({
      uri: options.url,
      database,
      connectionLimit: options.connectionsMax ?? 8,
      // Several statements per round trip: a batch's lock walk and its writes are one each.
      // Every value in them is escaped (by the driver; JSON text by jsonLiteral).
      multipleStatements: true,
      // SQL without values is sent as it is: the driver would otherwise scan all of it (a
      // batch's inserts run to a megabyte) for placeholders it has no values for.
      queryFormat: (sql: string, values: unknown) =>
        Array.isArray(values) && values.length === 0 ? sql : format(sql, values as SqlValue[]),
      // FOUND_ROWS: an UPDATE reports the rows it matched, not only those it changed. Flags the
      // URL names (`?flags=-LOCAL_FILES`) are kept: the driver would take only these.
      flags: ['FOUND_ROWS', ...flags],
      // BIGINT values (times, quantities, positions) are far below 2^53: plain numbers.
      supportBigNumbers: true,
      bigNumberStrings: false,
      decimalNumbers: true,
    });
    pool.on('connection', (connection: CorePoolConnection) => {
      connection.query(sessionSetupSql, (error) => {
        if (error !== null) connection.destroy();
      });
    });
    const bulkLoad = options.bulkLoad ?? (flags.includes('-LOCAL_FILES') ? false : undefined);
    return new MysqlStore(pool.promise(), options.url, database, bulkLoad);
  }

  async migrate(): Promise<void> {
    const connection = await guard(() => this.migrationConnection());
    try {
      await guard(() => runMigrations(mysqlMigrationTarget(connection), mysqlMigrations));
    } finally {
      connection.release();
    }
  }

  writeTransaction<T>(work: (session: WriteSession) => Promise<T>): Promise<T> {
    return this.transaction(async (connection) => {
      // transaction() asked the server before it began.
      if (this.bulkLoad === undefined) throw new Error('bulk load support not known at the start of a batch');
      const session = new MysqlSession(connection, this.bulkLoad, () => {
        this.bulkLoad = false;
      });
      return work(session);
    });
  }

  /** A key's change: a short transaction of its own on a pool connection. */
  private keyTransaction<T>(work: (tx: KeyTransaction) => Promise<T>): Promise<T> {
    return this.transaction((connection) =>
      work({
        rows: async <R>(sql: string, params: readonly KeyParam[]) =>
          (await connection.query(sql, [...params]))[0] as R[],
        run: async (sql, params) =>
          ((await connection.query(sql, [...params]))[0] as unknown as { affectedRows: number }).affectedRows,
      }),
    );
  }

  /** Runs the work in a transaction on a pool connection: committed, or rolled back and translated. */
  private async transaction<T>(work: (connection: PoolConnection) => Promise<T>): Promise<T> {
    const connection = await this.connection();
    try {
      this.bulkLoad ??= await localInfileAllowed(connection);
      await connection.query('START TRANSACTION');
      const result = await work(connection);
      await connection.query('COMMIT');
      connection.release();
      return result;
    } catch (error) {
      // InnoDB rolls back only the statement on a lock wait timeout: roll back the rest here.
      await connection.query('ROLLBACK').then(
        () => connection.release(),
        () => connection.destroy(),
      );
      throw translate(error);
    }
  }

  override async scanLevels(after: LevelRef | undefined, limit: number): Promise<Level[]> {
    // Spelled out rather than as a row comparison, which not every version turns into a range.
    const sql = 'SELECT * FROM levels WHERE sku > ? OR (sku = ? AND location > ?) ORDER BY sku, location LIMIT ?';
    const sku = after?.sku ?? '';
    return (await this.rows<LevelRow>(sql, [sku, sku, after?.location ?? '', limit])).map(levelFromRow);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  protected async rows<T>(sql: string, params: readonly SqlParam[]): Promise<T[]> {
    if (this.closed) throw closedError();
    const [rows] = await guard(() => this.pool.query<RowDataPacket[]>(sql, [...params]));
    return rows as unknown as T[];
  }

  private connection(): Promise<PoolConnection> {
    if (this.closed) return Promise.reject(closedError());
    return guard(() => this.pool.getConnection());
  }

  /** A connection to the database, which is created first if it does not exist yet. */
  private async migrationConnection(): Promise<PoolConnection> {
    if (this.closed) throw closedError();
    try {
      return await this.pool.getConnection();
    } catch (error) {
      if ((error as { errno?: number }).errno !== unknownDatabaseErrno) throw error;
      const server = new URL(this.url);
      server.pathname = '';
      const connection = await createConnection({ uri: server.toString() });
      try {
        await connection.query(
          `CREATE DATABASE IF NOT EXISTS ${escapeId(this.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
        );
      } finally {
        await connection.end();
      }
      return this.pool.getConnection();
    }
  }
}

/**
 * LOAD DATA LOCAL needs the server's consent (`local_infile`: on by default in MariaDB, off in
 * MySQL 8). The data always comes from memory, from the load's own query (never from a file).
 */
async function localInfileAllowed(connection: PoolConnection): Promise<boolean> {
  const [[row]] = await connection.query<RowDataPacket[]>('SELECT @@GLOBAL.local_infile AS allowed');
  return Number(row?.allowed) === 1;
}

/** The driver's client flags a URL names in its `flags` parameter, comma-separated. */
function urlFlags(url: string): string[] {
  const flags = URL.canParse(url) ? new URL(url).searchParams.get('flags') : null;
  return flags === null
    ? []
    : flags
        .split(',')
        .map((flag) => flag.trim().toUpperCase())
        .filter((flag) => flag !== '');
}

function databaseOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.slice(1));
  } catch (error) {
    throw new StoreError('internal', 'the MySQL URL is not a valid URL', { cause: error });
  }
}
