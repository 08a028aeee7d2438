import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { PostgresReadDb } from '../../src/events/read-side/postgres/postgres-read-db.js';
import type { ReadDb, ReadDialect } from '../../src/events/read-side/read-db.js';
import { SqliteReadDb } from '../../src/events/read-side/sqlite/sqlite-read-db.js';
import { postgresUrl, testDialects } from './dialects.js';

// Every read-side suite loops over these: a SQLite file, a PostgreSQL database of its own. The
// store dialects under test choose them (SKULD_TEST_DIALECTS): PostgreSQL's runs when the
// store's does, against the real server (the global setup has checked it answers).

const allReadDialects: readonly ReadDialect[] = ['sqlite', 'postgres'];

export function testReadDialects(): ReadDialect[] {
  const stores: readonly string[] = testDialects();
  return allReadDialects.filter((d) => stores.includes(d));
}

export interface TestReadDatabase {
  readonly dialect: ReadDialect;
  /** SKULD_READ_DATABASE_URL for a runtime or a child process on this database. */
  readonly url: string;
  /** Opens a connection (call it again for a second one); not migrated. */
  open(): ReadDb;
  drop(): Promise<void>;
}

let counter = 0;

/** A fresh, empty read database: a temporary SQLite file, or a new PostgreSQL database. */
export function createTestReadDatabase(dialect: ReadDialect): TestReadDatabase {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'skuld-read-'));
    const path = join(dir, 'read.db');
    return {
      dialect,
      url: `sqlite:${path}`,
      open: () => SqliteReadDb.open(path),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `skuld_read_t${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    dialect,
    url: url.toString(),
    open: () => PostgresReadDb.open(url.toString(), 4),
    drop: async () => {
      const sql = postgres(postgresUrl, { max: 1, onnotice: () => undefined, connect_timeout: 5 });
      try {
        await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await sql.end();
      }
    },
  };
}
