import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import postgres from 'postgres';

// A fresh, empty database per measurement: a SQLite file in a temporary folder, or a new
// PostgreSQL schema. Both are removed afterwards, whatever happened in between.

export type StoreKind = 'sqlite' | 'postgres';

export const postgresUrlDefault = 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchDatabase {
  /** What loadConfig needs to open this database. */
  readonly env: Readonly<Record<string, string>>;
  drop(): Promise<void>;
}

let databaseCount = 0;

async function createBenchDatabase(kind: StoreKind, postgresUrl: string): Promise<BenchDatabase> {
  databaseCount += 1;
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'skuld-bench-'));
    return {
      env: { SKULD_DATABASE_URL: `sqlite:${join(dir, 'skuld.db')}`, SKULD_SQLITE_SYNCHRONOUS: 'FULL' },
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  // Migrations create the schema; the name is a plain identifier, so it is safe to splice.
  const schema = `bench_${process.pid}_${Date.now().toString(36)}_${databaseCount}`;
  return {
    env: { SKULD_DATABASE_URL: postgresUrl, SKULD_DATABASE_SCHEMA: schema },
    drop: async () => {
      await withPostgres(postgresUrl, (sql) => sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    },
  };
}

/** Runs `work` on a fresh database and drops the database afterwards. */
export async function withBenchDatabase<T>(
  kind: StoreKind,
  postgresUrl: string,
  work: (database: BenchDatabase) => Promise<T>,
): Promise<T> {
  const database = await createBenchDatabase(kind, postgresUrl);
  try {
    return await work(database);
  } finally {
    await database.drop();
  }
}

async function withPostgres<T>(url: string, work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => undefined });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
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
}

export async function storeVersions(postgresUrl: string | undefined): Promise<StoreVersions> {
  const memory = new Database(':memory:');
  const sqlite = String(memory.prepare('SELECT sqlite_version()').pluck().get());
  memory.close();
  if (postgresUrl === undefined) return { sqlite, postgres: undefined, postgresSynchronousCommit: undefined };
  return withPostgres(postgresUrl, async (sql) => {
    const [row] = await sql`
      SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sync`;
    return { sqlite, postgres: String(row?.version), postgresSynchronousCommit: String(row?.sync) };
  });
}
