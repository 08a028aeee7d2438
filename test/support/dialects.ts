import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createConnection } from 'mysql2/promise';
import postgres from 'postgres';
import { MysqlStore } from '../../src/store/mysql/mysql-store.js';
import type { Dialect, Store } from '../../src/store/port.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

// Every store suite loops over these dialects. SKULD_TEST_DIALECTS narrows the list
// (e.g. "sqlite"); by default every dialect runs, against the real servers.
//
// A runtime on a test database keeps its read models in a SQLite file in the database's own
// temporary folder, and runs no projector unless a suite turns it on (SKULD_PROJECTOR=on): the
// read side's suites do, the others need no thread for it.

export const postgresUrl = process.env.SKULD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const mysqlUrl = process.env.SKULD_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

const allDialects: readonly Dialect[] = ['sqlite', 'postgres', 'mysql'];

export function testDialects(): Dialect[] {
  const wanted = (process.env.SKULD_TEST_DIALECTS ?? allDialects.join(',')).split(',').map((d) => d.trim());
  return allDialects.filter((d) => wanted.includes(d));
}

export interface TestDatabase {
  readonly dialect: Dialect;
  /** Opens a store on this database: call it again for a second engine on the same data. */
  open(): Store;
  /** What a child process needs to open the same database. */
  readonly env: Record<string, string>;
  /** Runs one SQL statement on the database behind the store's back (to tamper with it). */
  exec(sql: string): Promise<void>;
  drop(): Promise<void>;
}

/**
 * The statements that lift the ledger's append-only guard, as an owner of the tables could:
 * what a test runs before it tampers with the ledger itself.
 */
export const dropLedgerGuard: Record<Dialect, readonly string[]> = {
  sqlite: ['DROP TRIGGER ledger_append_only_update', 'DROP TRIGGER ledger_append_only_delete'],
  postgres: ['DROP TRIGGER ledger_append_only ON ledger'],
  mysql: ['DROP TRIGGER ledger_append_only_update', 'DROP TRIGGER ledger_append_only_delete'],
};

let counter = 0;

/** A fresh, empty database: a temporary SQLite file, a new PostgreSQL schema or MySQL database. */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  const name = `t${process.pid}_${Date.now().toString(36)}_${counter++}`;
  if (dialect === 'sqlite') return sqliteDatabase();
  const readDir = mkdtempSync(join(tmpdir(), 'skuld-read-'));
  const read = { SKULD_READ_DATABASE_URL: `sqlite:${join(readDir, 'read.db')}`, SKULD_PROJECTOR: 'off' };
  const database = dialect === 'mysql' ? await mysqlDatabase(name) : postgresDatabase(name);
  return {
    ...database,
    env: { ...database.env, ...read },
    drop: async () => {
      await database.drop();
      rmSync(readDir, { recursive: true, force: true });
    },
  };
}

function postgresDatabase(name: string): TestDatabase {
  return {
    dialect: 'postgres',
    open: () => PostgresStore.open({ url: postgresUrl, schema: name, connectionsMax: 4 }),
    env: { SKULD_DATABASE_URL: postgresUrl, SKULD_DATABASE_SCHEMA: name },
    exec: async (statement) => {
      const sql = postgres(postgresUrl, { max: 1, onnotice: () => undefined, connection: { search_path: name } });
      await sql.unsafe(statement);
      await sql.end();
    },
    drop: async () => {
      const sql = postgres(postgresUrl, { max: 1, onnotice: () => undefined });
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      await sql.end();
    },
  };
}

function sqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'skuld-test-'));
  const path = join(dir, 'skuld.db');
  return {
    dialect: 'sqlite',
    open: () => SqliteStore.open({ path }),
    env: { SKULD_DATABASE_URL: `sqlite:${path}`, SKULD_PROJECTOR: 'off' },
    exec: async (statement) => {
      const db = new Database(path);
      db.exec(statement);
      db.close();
    },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function mysqlDatabase(name: string): Promise<TestDatabase> {
  await onMysqlServer(`CREATE DATABASE ${name}`);
  return {
    dialect: 'mysql',
    open: () => MysqlStore.open({ url: mysqlUrl, database: name, connectionsMax: 4 }),
    env: { SKULD_DATABASE_URL: mysqlUrl, SKULD_DATABASE_SCHEMA: name },
    exec: (statement) => onMysqlServer(`USE ${name}`, statement),
    drop: () => onMysqlServer(`DROP DATABASE IF EXISTS ${name}`),
  };
}

/** Runs statements, in order, on one connection to the MySQL/MariaDB server under test. */
export async function onMysqlServer(...statements: string[]): Promise<void> {
  const connection = await createConnection({ uri: mysqlUrl, connectTimeout: 5000 });
  try {
    for (const sql of statements) await connection.query(sql);
  } finally {
    await connection.end();
  }
}

/** Opens and migrates a store on a fresh database; `cleanup` closes and drops it. */
export async function openTestStore(
  dialect: Dialect,
): Promise<{ store: Store; db: TestDatabase; cleanup: () => Promise<void> }> {
  const db = await createTestDatabase(dialect);
  const store = db.open();
  await store.migrate();
  return {
    store,
    db,
    cleanup: async () => {
      await store.close();
      await db.drop();
    },
  };
}
