import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { runMigrations } from '../../../store/migrate.js';
import { StoreError } from '../../../store/port.js';
import { translate } from '../../../store/sqlite/sqlite-errors.js';
import { sqliteMigrationTarget } from '../../../store/sqlite/sqlite-migrations.js';
import { type BulkWrite, bulkWriteSql, type ReadDb, type ReadTx, type ReadValue } from '../read-db.js';
import { sqliteReadMigrations } from './sqlite-read-migrations.js';

// The read side in a SQLite file of its own (WAL). The projector writes on one connection (on a
// thread of its own in a serving process: better-sqlite3 blocks the thread it runs on) and the
// routes read on another; readers never wait for the writer. The file is derived data, rebuilt
// from the ledger at will, so its commits are synced lazily (synchronous=NORMAL): a power loss
// may take the last pages back, never leave rows without the checkpoint they were written with.

const busyTimeoutMs = 5000;

export class SqliteReadDb implements ReadDb {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** Transactions on the one connection run one after another, whoever asks. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly tx: ReadTx;

  private constructor(db: Database.Database) {
    this.db = db;
    this.tx = {
      rows: async <T>(sql: string, params: readonly ReadValue[]) => this.statement(sql).all(...params) as T[],
      run: async (sql, params) => this.statement(sql).run(...params).changes,
      write: async (write, rows) => this.write(write, rows),
    };
  }

  static open(path: string): SqliteReadDb {
    mkdirSync(dirname(path), { recursive: true });
    try {
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      return new SqliteReadDb(db);
    } catch (error) {
      throw translate(error);
    }
  }

  async migrate(): Promise<void> {
    try {
      await runMigrations(sqliteMigrationTarget(this.db), sqliteReadMigrations);
    } catch (error) {
      throw translate(error);
    }
  }

  transaction<T>(work: (tx: ReadTx) => Promise<T>): Promise<T> {
    return this.serial('BEGIN IMMEDIATE', work);
  }

  read<T>(work: (tx: ReadTx) => Promise<T>): Promise<T> {
    return this.serial('BEGIN', work);
  }

  private serial<T>(begin: string, work: (tx: ReadTx) => Promise<T>): Promise<T> {
    const run = this.tail.then(async () => {
      if (this.closed) throw new StoreError('unavailable', 'the read database is closed');
      try {
        this.db.exec(begin);
        const result = await work(this.tx);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw translate(error);
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** One prepared statement a row: SQLite runs it in the same thread, so a row costs microseconds. */
  private write(write: BulkWrite, rows: readonly (readonly ReadValue[])[]): void {
    if (rows.length === 0) return;
    const statement = this.statement(bulkWriteSql(write, 1));
    for (const row of rows) statement.run(...row);
  }

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    this.db.close();
  }
}
