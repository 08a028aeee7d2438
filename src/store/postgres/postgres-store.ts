import net from 'node:net';
import postgres from 'postgres';
import { runMigrations } from '../migrate.js';
import { type Dialect, type Store, type StoreCapabilities, StoreError, type WriteSession } from '../port.js';
import { reservationColumns } from '../sql.js';
import { SqlInstances } from '../sql-instances.js';
import { type KeyParam, SqlKeys } from '../sql-keys.js';
import { SqlLeases } from '../sql-leases.js';
import { type SqlParam, SqlReads } from '../sql-reads.js';
import { SqlRebuild, updateFromSql } from '../sql-rebuild.js';
import { SqlReports } from '../sql-reports.js';
import { createDatabaseIfMissing } from './postgres-database.js';
import { guard } from './postgres-errors.js';
import { postgresMigrations, postgresMigrationTarget } from './postgres-migrations.js';
import { PostgresSession } from './postgres-session.js';
import { bigintAsNumber, numbered, type Sql } from './postgres-sql.js';

export const postgresCapabilities: StoreCapabilities = { rowLocks: true, concurrentWriters: true };

export interface PostgresStoreOptions {
  readonly url: string;
  /** Schema for every table (created if missing); default: the server's search_path. */
  readonly schema?: string | undefined;
  /** Pool size: one connection serves a batch, the rest serve reads. */
  readonly connectionsMax?: number;
}

/**
 * Connects with TCP_NODELAY. The driver leaves Nagle's algorithm on, and a batch's pipelined
 * writes end in small messages that Nagle holds back until the server's delayed ACK, about 40 ms
 * on Linux: that stall, not the database, was most of a batch's time.
 */
function connectNoDelay(options: { host: string[]; port: number[] }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host[0] ?? 'localhost', port: options.port[0] ?? 5432, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * PostgreSQL store, safe for several Skuld processes at once: level rows are locked with
 * SELECT … FOR UPDATE in sorted order, the ledger head last, and a batch's writes are pipelined
 * in its one transaction.
 */
export class PostgresStore extends SqlReads implements Store {
  readonly dialect: Dialect = 'postgres';
  readonly capabilities = postgresCapabilities;
  readonly keys = new SqlKeys({
    rows: (sql, params) => this.rows(sql, params as SqlParam[]),
    transaction: (work) =>
      guard(
        () =>
          this.sql.begin((tx) =>
            work({
              rows: (sql, params) => (tx as unknown as Sql).unsafe(numbered(sql), params as KeyParam[] as SqlParam[]),
              run: async (sql, params) =>
                (await (tx as unknown as Sql).unsafe(numbered(sql), params as KeyParam[] as SqlParam[])).count,
            }),
          ) as Promise<never>,
      ),
  });
  readonly leases = new SqlLeases(this.keys.db);
  readonly instances = new SqlInstances(this.keys.db);
  readonly rebuild = new SqlRebuild(this.keys.db, {
    // EXCLUSIVE lets reads on but no writer in; taken before the head, in the writers' order.
    lock: ['LOCK TABLE levels IN EXCLUSIVE MODE', 'SELECT position FROM ledger_head WHERE id = 1 FOR UPDATE'],
    updateFromRebuilt: updateFromSql,
  });
  readonly reports = new SqlReports(this.keys.db);
  private readonly sql: Sql;
  private readonly schema: string | undefined;
  private readonly url: string;

  private constructor(sql: Sql, schema: string | undefined, url: string) {
    super(reservationColumns);
    this.sql = sql;
    this.schema = schema;
    this.url = url;
  }

  static open(options: PostgresStoreOptions): PostgresStore {
    if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
      throw new StoreError('internal', `schema name ${options.schema} is not a plain identifier`);
    }
    // `socket` is a documented option the driver's type declarations lack.
    const socket = { socket: connectNoDelay } as object;
    const sql = postgres(options.url, {
      max: options.connectionsMax ?? 8,
      onnotice: () => undefined,
      types: { bigint: bigintAsNumber },
      connection: options.schema === undefined ? {} : { search_path: options.schema },
      ...socket,
    }) as unknown as Sql;
    return new PostgresStore(sql, options.schema, options.url);
  }

  async migrate(): Promise<void> {
    await guard(async () => {
      await createDatabaseIfMissing(this.sql, this.url);
      await runMigrations(postgresMigrationTarget(this.sql, this.schema), postgresMigrations);
    });
  }

  writeTransaction<T>(work: (session: WriteSession) => Promise<T>): Promise<T> {
    return guard(() => this.sql.begin((tx) => work(new PostgresSession(tx as unknown as Sql))) as Promise<T>);
  }

  protected rows<T>(sql: string, params: readonly SqlParam[]): Promise<T[]> {
    return guard(() => this.sql.unsafe<T[]>(numbered(sql), [...params], { prepare: true }));
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}
