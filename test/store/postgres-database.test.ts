import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { postgresUrl, testDialects } from '../support/dialects.js';

// A database named in the URL that does not exist yet is created when the store migrates, on
// PostgreSQL as on MySQL, against the real server.

let counter = 0;

function onServer<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(postgresUrl, { database: 'postgres', max: 1, onnotice: () => undefined });
  return work(sql).finally(() => sql.end());
}

describe.skipIf(!testDialects().includes('postgres'))('PostgreSQL database creation', () => {
  const database = () => `skuld_t${process.pid}_${Date.now().toString(36)}_${counter++}`;
  const stores: PostgresStore[] = [];
  const created: string[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await onServer(async (sql) => {
      for (const name of created.splice(0)) await sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`;
    });
  });

  function open(name: string): PostgresStore {
    const url = new URL(postgresUrl);
    url.pathname = `/${name}`;
    const store = PostgresStore.open({ url: url.toString(), connectionsMax: 2 });
    stores.push(store);
    return store;
  }

  const exists = (name: string) =>
    onServer(async (sql) => (await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`).length === 1);

  it('creates a missing database, migrates it, and serves from the same pool', async () => {
    const name = database();
    created.push(name);
    expect(await exists(name)).toBe(false);
    const store = open(name);
    await store.migrate();
    expect(await exists(name)).toBe(true);
    expect(await store.headPosition()).toBe(0);
  });

  it('creates it once when two processes start on it at the same time', async () => {
    const name = database();
    created.push(name);
    await Promise.all([open(name).migrate(), open(name).migrate()]);
    expect(await exists(name)).toBe(true);
  });
});
