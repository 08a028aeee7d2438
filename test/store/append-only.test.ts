import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { Store } from '../../src/store/port.js';
import { openTestStore, type TestDatabase, testDialects } from '../support/dialects.js';
import { stock } from '../support/engine-harness.js';

// The ledger is the event store: the database itself refuses to change or remove an event,
// whoever sends the SQL, not only the engine by convention.

const refused: Record<string, readonly string[]> = {
  sqlite: [],
  postgres: ['TRUNCATE ledger'],
  mysql: [],
};

describe.each(testDialects())('the ledger on %s', (dialect) => {
  let store: Store;
  let db: TestDatabase;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  it.each([
    "UPDATE ledger SET on_hand_delta = on_hand_delta + 1 WHERE sku = 'A-1'",
    "UPDATE ledger SET actor = 'someone-else'",
    "DELETE FROM ledger WHERE sku = 'A-1'",
    'DELETE FROM ledger',
    ...(refused[dialect] ?? []),
  ])('refuses %s', async (statement) => {
    ({ store, db, cleanup } = await openTestStore(dialect));
    const engine = Engine.on(store);
    try {
      await stock(engine, ['A-1', 'A-2'], 'WH1', 10);
    } finally {
      await engine.close();
    }
    const before = await store.readLedger(0, 100);
    expect(before.map((event) => event.type)).toEqual([
      'ItemRegistered',
      'StockReceived',
      'ItemRegistered',
      'StockReceived',
    ]);
    await expect(db.exec(statement)).rejects.toThrow(/append-only/);
    expect(await store.readLedger(0, 100)).toEqual(before);
    // Appending stays open: the engine writes on.
    const again = Engine.on(store);
    try {
      await stock(again, ['A-3'], 'WH1', 1);
    } finally {
      await again.close();
    }
    expect(await store.headPosition()).toBe(before.length + 2);
  });
});
