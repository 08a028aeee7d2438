import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import postgres from 'postgres';

// A fresh, empty database per measurement: a SQLite file in a temporary folder, a new
// PostgreSQL schema or a new MySQL/MariaDB database. Each is removed afterwards, whatever
// happened in between.

export type StoreKind = 'sqlite' | 'postgres' | 'mysql';

export const storeKinds: readonly StoreKind[] = ['sqlite', 'postgres', 'mysql'];

export const postgresUrlDefault = 'postgres://postgres@127.0.0.1:5432/test';
export const mysqlUrlDefault = 'mysql://root@127.0.0.1:3306/test';

/** The servers behind the `postgres` and `mysql` stores. */
export interface ServerUrls {
  readonly postgres: string;
  readonly mysql: string;
}

export interface BenchDatabase {
  /** What loadConfig needs to open this database. */
  readonly env: Readonly<Record<string, string>>;
  drop(): Promise<void>;
}

let databaseCount = 0;

/** A plain identifier, unique to this process and call, so it is safe to splice into SQL. */
export function freshName(prefix: string): string {
  databaseCount += 1;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${databaseCount}`;
}

function createBenchDatabase(kind: StoreKind, urls: ServerUrls): BenchDatabase {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'skuld-bench-'));
    return {
      env: { SKULD_DATABASE_URL: `sqlite:${join(dir, 'skuld.db')}`, SKULD_SQLITE_SYNCHRONOUS: 'FULL' },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = freshName('bench');
  // The store's migrations create the schema (PostgreSQL) or the database (MySQL).
  if (kind === 'mysql') {
    return {
      env: { SKULD_DATABASE_URL: withDatabase(urls.mysql, name), SKULD_DATABASE_SCHEMA: '' },
      drop: () => onMysqlServer(urls.mysql, `DROP DATABASE IF EXISTS ${name}`),
    };
  }
  return {
    env: { SKULD_DATABASE_URL: urls.postgres, SKULD_DATABASE_SCHEMA: name },
    drop: async () => {
      await withPostgres(urls.postgres, (sql) => sql.unsafe(`DROP SCHEMA IF EXISTS ${name} CASCADE`));
    },
  };
}

/** The same server URL, naming another database. */
export function withDatabase(url: string, database: string): string {
  const target = new URL(url);
  target.pathname = `/${database}`;
  return target.toString();
}

/** Runs `work` on a fresh database and drops the database afterwards. */
export async function withBenchDatabase<T>(
  kind: StoreKind,
  urls: ServerUrls,
  work: (database: BenchDatabase) => Promise<T>,
): Promise<T> {
  const database = createBenchDatabase(kind, urls);
  try {
    return await work(database);
  } finally {
    await database.drop();
  }
}

export async function withPostgres<T>(url: string, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => undefined });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Runs statements, one after the other, on one connection to the MySQL/MariaDB server. */
export async function onMysqlServer(url: string, ...statements: string[]): Promise<void> {
  const connection = await createConnection({ uri: url, connectTimeout: 5000 });
  try {
    for (const statement of statements) await connection.query(statement);
  } finally {
    await connection.end();
  }
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** The bench puts load on this machine only: a remote URL is refused, not measured. */
export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!loopbackHosts.has(host)) throw new Error(`the bench only targets loopback, not ${host}`);
}

export interface StoreVersions {
  readonly sqlite: string;
  readonly postgres: string | undefined;
  /** The server's `synchronous_commit`: `on` makes every commit wait for its WAL flush. */
  readonly postgresSynchronousCommit: string | undefined;
  /** How long a PostgreSQL lock wait lasts before the server looks for a deadlock. */
  readonly postgresDeadlockTimeout: string | undefined;
  readonly mysql: string | undefined;
  /** `innodb_flush_log_at_trx_commit`: 1 makes every commit wait for its log flush. */
  readonly mysqlFlushLogAtCommit: string | undefined;
}

/** Versions of SQLite and of the servers in `urls` (a server left out is not asked). */
export async function storeVersions(urls: Partial<ServerUrls>): Promise<StoreVersions> {
  const memory = new Database(':memory:');
  const sqlite = String(memory.prepare('SELECT sqlite_version()').pluck().get());
  memory.close();
  const [postgresInfo, mysqlInfo] = await Promise.all([
    urls.postgres === undefined ? undefined : postgresVersion(urls.postgres),
    urls.mysql === undefined ? undefined : mysqlVersion(urls.mysql),
  ]);
  return {
    sqlite,
    postgres: postgresInfo?.version,
    postgresSynchronousCommit: postgresInfo?.sync,
    postgresDeadlockTimeout: postgresInfo?.deadlockTimeout,
    mysql: mysqlInfo?.version,
    mysqlFlushLogAtCommit: mysqlInfo?.flush,
  };
}

function postgresVersion(url: string): Promise<{ version: string; sync: string; deadlockTimeout: string }> {
  return withPostgres(url, async (sql) => {
    const [row] = await sql`
      SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sync,
        current_setting('deadlock_timeout') AS deadlock_timeout`;
    return { version: String(row?.version), sync: String(row?.sync), deadlockTimeout: String(row?.deadlock_timeout) };
  });
}

async function mysqlVersion(url: string): Promise<{ version: string; flush: string }> {
  const connection = await createConnection({ uri: url, connectTimeout: 5000 });
  try {
    const [rows] = await connection.query('SELECT VERSION() AS version, @@innodb_flush_log_at_trx_commit AS flush');
    const row = (rows as { version: unknown; flush: unknown }[])[0];
    return { version: String(row?.version), flush: String(row?.flush) };
  } finally {
    await connection.end();
  }
}
