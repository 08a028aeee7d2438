import { outboxSchema } from '../owed-calls.js';
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
    ...outboxSchema('order_id'),
    'CREATE TABLE checkpoints (name TEXT PRIMARY KEY, position BIGINT NOT NULL)',
  ],
];

export function openOrderDb(url: string): Promise<ServiceDb> {
  return openServiceDb(url, orderMigrations, 'order_migrations');
}
