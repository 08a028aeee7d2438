import { outboxSchema } from '../owed-calls.js';
import { type Migrations, openServiceDb, type ServiceDb } from '../service-db.js';

// The purchase service's database: suppliers' purchase orders and their lines (with what the
// inventory counts as incoming for each), the receipts against them, and the calls it owes the
// inventory (the outbox).

const purchaseMigrations: Migrations = [
  [
    `CREATE TABLE purchase_orders (
      id TEXT PRIMARY KEY,
      supplier TEXT NOT NULL,
      status TEXT NOT NULL,
      reason TEXT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    )`,
    'CREATE INDEX purchase_orders_by_status ON purchase_orders (status, id)',
    `CREATE TABLE po_lines (
      po_id TEXT NOT NULL,
      line INTEGER NOT NULL,
      sku TEXT NOT NULL,
      location TEXT NOT NULL,
      ordered BIGINT NOT NULL,
      received BIGINT NOT NULL,
      refused BIGINT NOT NULL,
      expected_at BIGINT,
      PRIMARY KEY (po_id, line)
    )`,
    `CREATE TABLE receipts (
      po_id TEXT NOT NULL,
      id TEXT NOT NULL,
      lines TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      PRIMARY KEY (po_id, id)
    )`,
    ...outboxSchema('owner_id'),
  ],
  [
    // What the inventory was told is incoming for each line, and what receipts and a close took of it.
    'ALTER TABLE po_lines ADD COLUMN incoming BIGINT NOT NULL DEFAULT 0',
    'ALTER TABLE po_lines ADD COLUMN settled BIGINT NOT NULL DEFAULT 0',
    'ALTER TABLE po_lines ADD COLUMN withdrawn BIGINT NOT NULL DEFAULT 0',
  ],
];

export function openPurchaseDb(url: string): Promise<ServiceDb> {
  return openServiceDb(url, purchaseMigrations, 'purchase_migrations');
}
