import { type Migrations, openServiceDb, type ServiceDb } from '../service-db.js';

// The order service's database: its orders, the calls it owes the inventory (the outbox), and
// the ledger position its watch for expiries has seen.

/** The schema, in order: a database at version n has run the first n steps. */
const orderMigrations: Migrations = [
  [
    `CREATE TABLE orders (
      id TEXT PRIMARY KEY,
      customer TEXT NOT NULL,
      lines TEXT NOT NULL,
      status TEXT NOT NULL,
      reason TEXT,
      shipped TEXT,
      expires_at BIGINT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    )`,
    'CREATE INDEX orders_by_status ON orders (status, id)',
    `CREATE TABLE outbox (
      command_id TEXT PRIMARY KEY,
      order_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      payload TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      attempts INTEGER NOT NULL,
      done_at BIGINT
    )`,
    'CREATE INDEX outbox_pending ON outbox (done_at, created_at)',
    'CREATE TABLE checkpoints (name TEXT PRIMARY KEY, position BIGINT NOT NULL)',
  ],
];

export function openOrderDb(url: string): Promise<ServiceDb> {
  return openServiceDb(url, orderMigrations, 'order_migrations');
}
