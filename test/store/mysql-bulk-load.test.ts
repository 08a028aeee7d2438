import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandRecord, LedgerEvent } from '../../src/domain/index.js';
import { Engine } from '../../src/engine/engine.js';
import { MysqlStore } from '../../src/store/mysql/mysql-store.js';
import { StoreError, type WriteSet } from '../../src/store/port.js';
import { ManualClock } from '../support/clock.js';
import { createTestDatabase, mysqlUrl, type TestDatabase } from '../support/dialects.js';
import { expectAccepted, expectConsistent } from '../support/test-engine.js';

// On MySQL/MariaDB a write set's ledger events and command records go in LOAD DATA LOCAL from 64
// rows a table, where the server allows it (`local_infile`), and in multi-row INSERTs otherwise.
// The contract suite covers the path the server under test allows; this covers both.

const text = `O'Brien \\ tab\tline\nreturn\r — 😀 \\N`;

const event = (position: number): LedgerEvent => ({
  position,
  type: 'StockReceived',
  sku: 'A',
  location: 'L1',
  onHandDelta: 1,
  reservedDelta: 0,
  onHandAfter: position,
  reservedAfter: 0,
  // The new columns come last in a line: a value out of place would show in them.
  incomingDelta: -position,
  incomingAfter: 2 * position,
  quantity: 1,
  commandId: `c${position}`,
  reservationId: null,
  expiresAt: null,
  peerLocation: null,
  reason: text,
  reference: null,
  actor: 'tester',
  occurredAt: 500,
  recordedAt: 1_000,
  streamVersion: position,
  // Text in the JSON column too: its escapes must survive the load as well.
  attributes: { name: text, allowBackorder: true, lowStockThreshold: null },
});

const record = (id: string): CommandRecord => ({
  id,
  type: 'ReceiveStock',
  fingerprint: `fp-${id}`,
  outcome: { ok: false, commandId: id, error: { code: 'INSUFFICIENT_STOCK', message: text } },
  recordedAt: 1_000,
});

const rows = 100;
const bulk = (ids: readonly string[], first: number): WriteSet => ({
  levelGuard: { kind: 'locked' },
  items: [],
  levels: [],
  createdReservations: [],
  updatedReservations: [],
  events: Array.from({ length: rows }, (_, i) => event(first + i)),
  commands: ids.map(record),
});

/** The ids of a bulk write set's command records, and the ledger it leaves on an empty store. */
const bulkIds = Array.from({ length: rows }, (_, i) => `c${i}`);
const bulkLedger = Array.from({ length: rows }, (_, i) => event(1 + i));

/** Writes the bulk write set in one transaction, at the positions it claims. */
const writeBulk = (store: MysqlStore) =>
  store.writeTransaction(async (session) => session.write(bulk(bulkIds, await session.claimPositions(rows))));

/** A fresh database for each test, and the store `open` makes on it, migrated. */
function freshStore(open: (database: string) => MysqlStore): { readonly store: MysqlStore; readonly database: string } {
  let db: TestDatabase | undefined;
  let store: MysqlStore | undefined;
  beforeEach(async () => {
    db = await createTestDatabase('mysql');
    store = open(db.env.SKULD_DATABASE_SCHEMA as string);
    await store.migrate();
  });
  afterEach(async () => {
    await store?.close();
    await db?.drop();
  });
  return {
    get store() {
      return store as MysqlStore;
    },
    get database() {
      return db?.env.SKULD_DATABASE_SCHEMA as string;
    },
  };
}

async function loadsSoFar(): Promise<number> {
  const connection = await createConnection({ uri: mysqlUrl });
  try {
    const [[row]] = await connection.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Com_load'");
    return Number(row?.Value);
  } finally {
    await connection.end();
  }
}

describe.each([true, false])('MySQL store with bulkLoad %s', (bulkLoad) => {
  const fresh = freshStore((database) => MysqlStore.open({ url: mysqlUrl, database, bulkLoad }));

  it('writes a bulk write set whole, text exactly as given', async () => {
    const { store } = fresh;
    const before = await loadsSoFar();
    await writeBulk(store);
    const after = await loadsSoFar();
    // Other suites may load at the same time: only the presence of this store's loads is certain.
    if (bulkLoad) expect(after - before).toBeGreaterThanOrEqual(2);
    expect(await store.readLedger(0, rows + 1)).toEqual(bulkLedger);
    expect(await store.getCommand('c99')).toEqual(record('c99'));
  });

  it('fails a bulk write set with an id already recorded as a retryable conflict, keeping none of it', async () => {
    const { store } = fresh;
    await store.writeTransaction(async (session) =>
      session.write({ ...bulk([], 1), events: [], commands: [record('c50')] }),
    );
    const failure = await writeBulk(store).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreError);
    expect((failure as StoreError).kind).toBe('conflict');
    expect(await store.headPosition()).toBe(0);
    expect(await store.readLedger(0, 1)).toEqual([]);
    expect(await store.getCommand('c0')).toBeUndefined();
  });
});

const withoutLocalFiles = `${mysqlUrl}${mysqlUrl.includes('?') ? '&' : '?'}flags=-LOCAL_FILES`;

describe('MySQL store whose loads the server refuses', () => {
  // The server allows LOAD DATA LOCAL (`local_infile` on), but these connections do not offer
  // it and the store is told to load all the same: the server refuses each load as it would
  // once `local_infile` is switched off at runtime.
  const fresh = freshStore((database) => MysqlStore.open({ url: withoutLocalFiles, database, bulkLoad: true }));

  it('fails the batch of the refused load as a retryable conflict, then writes with INSERTs', async () => {
    const { store } = fresh;
    const failure = await writeBulk(store).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreError);
    expect((failure as StoreError).kind).toBe('conflict');
    expect((failure as StoreError).code).toBe('4166');
    expect(await store.headPosition()).toBe(0);
    expect(await store.getCommand('c0')).toBeUndefined();

    // Any load on these connections would be refused again: this write went in INSERTs.
    await writeBulk(store);
    expect(await store.readLedger(0, rows + 1)).toEqual(bulkLedger);
    expect(await store.getCommand('c99')).toEqual(record('c99'));
  });

  it('does not try to load when the URL takes LOCAL_FILES away', async () => {
    const plain = MysqlStore.open({ url: withoutLocalFiles, database: fresh.database });
    try {
      await writeBulk(plain);
      expect(await plain.readLedger(0, rows + 1)).toEqual(bulkLedger);
    } finally {
      await plain.close();
    }
  });

  it('lets the engine run the refused batch again, each command taking effect once', async () => {
    const { store } = fresh;
    const engine = Engine.on(store, { clock: new ManualClock().read });
    try {
      expectAccepted(await engine.execute({ type: 'RegisterItem', id: 'reg', sku: 'SKU-1' }));
      const receipts = Array.from({ length: rows }, (_, i) =>
        engine.execute({ type: 'ReceiveStock', id: `rcv-${i}`, sku: 'SKU-1', location: 'WH1', quantity: 1 }),
      );
      for (const answer of await Promise.all(receipts)) expectAccepted(answer);
      expect(engine.stats.conflicts).toEqual({ 4166: 1 });
      expect(await store.itemLevels('SKU-1')).toMatchObject([{ onHand: rows, reserved: 0 }]);
      expect(await store.headPosition()).toBe(rows + 1);
      await expectConsistent(store);
    } finally {
      await engine.close();
    }
  });
});
