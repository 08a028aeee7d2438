import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/index.js';
import { Engine } from '../../src/engine/engine.js';
import { Projector } from '../../src/events/read-side/projector.js';
import type { ReadDb } from '../../src/events/read-side/read-db.js';
import { readModelTables } from '../../src/events/read-side/read-models.js';
import { silentLog } from '../../src/log.js';
import type { Store } from '../../src/store/port.js';
import { openTestStore } from '../support/dialects.js';
import { createTestReadDatabase, type TestReadDatabase, testReadDialects } from '../support/read-dbs.js';

// A page of the projector ends wherever its size falls, so one command's events (a reservation
// of three lines, a transfer's two levels) may straddle two pages. Projected in pages of every
// size, the read models are the same, and they agree with the store.

const pageSizes = [1, 2, 3, 5, 1_000];

async function engineHistory(store: Store): Promise<string[]> {
  const engine = Engine.on(store);
  const ids: string[] = [];
  try {
    const run = async (command: Command) => expect((await engine.execute(command)).outcome.ok, command.id).toBe(true);
    for (const sku of ['PG-1', 'PG-2', 'PG-3']) {
      await run({ type: 'RegisterItem', id: `reg-${sku}`, sku });
      await run({ type: 'ReceiveStock', id: `rcv-${sku}`, sku, location: 'WH1', quantity: 50 });
    }
    const lines = ['PG-1', 'PG-2', 'PG-3'].map((sku) => ({ sku, location: 'WH1', quantity: 2 }));
    for (let n = 0; n < 6; n += 1) {
      const id = `order-${n}`;
      ids.push(id);
      await run({ type: 'ReserveStock', id, lines, reference: `ref-${n % 2}` });
      if (n % 3 === 0) await run({ type: 'CommitReservation', id: `pay-${n}`, reservationId: id });
      if (n % 3 === 1) await run({ type: 'ReleaseReservation', id: `cancel-${n}`, reservationId: id });
    }
    await run({ type: 'TransferStock', id: 'move', sku: 'PG-1', from: 'WH1', to: 'WH2', quantity: 3 });
  } finally {
    await engine.close();
  }
  return ids;
}

/** Every table of every read model, its rows in one order whatever the order they were written in. */
async function tables(db: ReadDb): Promise<Record<string, unknown[]>> {
  return db.read(async (tx) => {
    const dump: Record<string, unknown[]> = {};
    for (const table of Object.values(readModelTables).flat()) {
      const rows = await tx.rows<Record<string, unknown>>(`SELECT * FROM ${table}`, []);
      dump[table] = rows.map((row) => JSON.stringify(row)).sort();
    }
    return dump;
  });
}

describe.each(testReadDialects())('the projector in pages of any size (%s read database)', (dialect) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('projects a command whose events straddle two pages as if it fitted in one', async () => {
    const { store, cleanup } = await openTestStore('sqlite');
    cleanups.push(cleanup);
    const ids = await engineHistory(store);
    const results = [];
    for (const pageEventsMax of pageSizes) {
      const database: TestReadDatabase = createTestReadDatabase(dialect);
      const db = database.open();
      cleanups.push(async () => {
        await db.close();
        await database.drop();
      });
      await db.migrate();
      const projector = new Projector({
        ledger: store,
        readDb: db,
        pageEventsMax,
        snapshotIntervalEvents: 4,
        lowStockThresholdDefault: 0,
        log: silentLog,
      });
      await projector.catchUp();
      results.push(await tables(db));
    }
    for (const result of results.slice(1)) expect(result).toEqual(results[0]);
    const statuses = (results[0]?.read_reservations ?? []).map((row) => JSON.parse(row as string)) as {
      id: string;
      status: string;
    }[];
    for (const id of ids) {
      expect(statuses.find((row) => row.id === id)?.status, id).toBe((await store.getReservation(id))?.status);
    }
    expect(results[0]?.read_reservation_lines).toHaveLength(ids.length * 3);
  });
});
