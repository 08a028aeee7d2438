import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import { StartupError } from '../startup-error.js';

// A service's own database (the order service's, the purchase service's): an embedded SQLite file
// by default, a PostgreSQL database in production. A service's SQL is written once, with `?`
// placeholders; this file runs it on either, one transaction at a time on SQLite (one
// connection, statements never interleave), and applies the service's migrations in order.

export type SqlValue = string | number | null;

export interface ServiceSql {
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface ServiceDb extends ServiceSql {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs `work` in one transaction: all of its statements commit, or none. */
  transaction<T>(work: (sql: ServiceSql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A service's schema, in order: a database at version n has run the first n steps. */
export type Migrations = readonly (readonly string[])[];

/** Opens the database at `url` and brings it to the last of `migrations` (recorded in `table`). */
export async function openServiceDb(url: string, migrations: Migrations, table: string): Promise<ServiceDb> {
  const db = url.startsWith('sqlite:')
    ? new SqliteServiceDb(url.slice('sqlite:'.length))
    : url.startsWith('postgres://') || url.startsWith('postgresql://')
      ? new PostgresServiceDb(url)
      : undefined;
  if (db === undefined) {
    throw new StartupError('CONFIG_INVALID', `a service's database is sqlite:<file> or postgres://…, got "${url}"`);
  }
  try {
    await migrate(db, migrations, table);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}

async function migrate(db: ServiceDb, migrations: Migrations, table: string): Promise<void> {
  await db.run(`CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY)`);
  for (let version = 1; version <= migrations.length; version += 1) {
    await db.transaction(async (sql) => {
      // PostgreSQL: two services starting at once take turns here.
      if (db.dialect === 'postgres') await sql.run(`LOCK TABLE ${table} IN EXCLUSIVE MODE`);
      const done = await sql.all(`SELECT version FROM ${table} WHERE version = ?`, [version]);
      if (done.length > 0) return;
      for (const statement of migrations[version - 1] ?? []) await sql.run(statement);
      await sql.run(`INSERT INTO ${table} (version) VALUES (?)`, [version]);
    });
  }
}

class SqliteServiceDb implements ServiceDb {
  readonly dialect = 'sqlite';
  private readonly db: Database.Database;
  /** Every use of the connection, in turn: a transaction's statements are never interleaved. */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(file: string) {
    const path = resolve(file);
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
  }

  private readonly direct: ServiceSql = {
    all: async <T>(sql: string, params: readonly SqlValue[] = []) => this.db.prepare(sql).all(...params) as T[],
    run: async (sql: string, params: readonly SqlValue[] = []) => this.db.prepare(sql).run(...params).changes,
  };

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const result = this.turn.then(work);
    this.turn = result.catch(() => undefined);
    return result;
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.inTurn(() => this.direct.all<T>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.inTurn(() => this.direct.run(sql, params));
  }

  transaction<T>(work: (sql: ServiceSql) => Promise<T>): Promise<T> {
    return this.inTurn(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    await this.turn;
    this.db.close();
  }
}

class PostgresServiceDb implements ServiceDb {
  readonly dialect = 'postgres';
  private readonly sql: postgres.Sql;

  constructor(url: string) {
    this.sql = postgres(url, { max: 8, onnotice: () => undefined, types: { bigint: postgres.BigInt } });
  }

  private static on(sql: postgres.Sql | postgres.TransactionSql): ServiceSql {
    const numbered = (text: string) => {
      let index = 0;
      return text.replace(/\?/g, () => `$${++index}`);
    };
    return {
      all: async <T>(text: string, params: readonly SqlValue[] = []) =>
        (await sql.unsafe(numbered(text), params as SqlValue[])).map(plainRow) as T[],
      run: async (text: string, params: readonly SqlValue[] = []) =>
        (await sql.unsafe(numbered(text), params as SqlValue[])).count,
    };
  }

  all<T>(text: string, params?: readonly SqlValue[]): Promise<T[]> {
    return PostgresServiceDb.on(this.sql).all<T>(text, params);
  }

  run(text: string, params?: readonly SqlValue[]): Promise<number> {
    return PostgresServiceDb.on(this.sql).run(text, params);
  }

  async transaction<T>(work: (sql: ServiceSql) => Promise<T>): Promise<T> {
    return (await this.sql.begin((tx) => work(PostgresServiceDb.on(tx)))) as T;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

/** BIGINT columns come back as bigint: the service's numbers (times, positions) fit a double. */
function plainRow(row: Record<string, unknown>): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) plain[key] = typeof value === 'bigint' ? Number(value) : value;
  return plain;
}
