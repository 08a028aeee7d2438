import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../src/domain/index.js';
import { Engine } from '../../src/engine/engine.js';
import { historyPathOf } from '../../src/store/sqlite/sqlite-history.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { ManualClock } from '../support/clock.js';
import { expectAccepted, expectConsistent } from '../support/test-engine.js';

// SQLite's item history is indexed off the write path, in a file of its own beside the database,
// by a thread of the writing store's; readers scan the ledger past the index's head. Whatever the
// index holds, lags or lost, an item's history is the ledger's events of that item, in order.

const skus = ['A', 'B', 'C', 'D'];

/** Receipts spread over the items, batches of 40 from round `from` on, their ids tagged. */
async function receive(store: SqliteStore, tag: string, rounds: number, from = 0): Promise<void> {
  const engine = Engine.on(store, { clock: new ManualClock().read });
  try {
    for (const sku of skus) await engine.execute({ type: 'RegisterItem', id: `reg-${sku}`, sku });
    for (let round = from; round < from + rounds; round += 1) {
      const receipts = Array.from({ length: 40 }, (_, i) =>
        engine.execute({
          type: 'ReceiveStock',
          id: `${tag}-${round}-${i}`,
          sku: skus[(i * 7 + round) % skus.length] as string,
          location: i % 3 === 0 ? 'WH2' : 'WH1',
          quantity: 1 + (i % 5),
        }),
      );
      for (const answer of await Promise.all(receipts)) expectAccepted(answer);
    }
  } finally {
    await engine.close();
  }
}

/** What an item's history must be: the ledger's events of that item, read whole by position. */
async function expectedHistory(store: SqliteStore, sku: string): Promise<LedgerEvent[]> {
  const all = await store.readLedger(0, 1_000_000);
  return all.filter((event) => event.sku === sku);
}

/** Every item's history, whole and page by page at several page sizes, against the ledger. */
async function expectHistories(store: SqliteStore): Promise<void> {
  for (const sku of [...skus, 'missing']) {
    const expected = await expectedHistory(store, sku);
    expect(await store.itemHistory(sku, 0, 1_000_000), `history of ${sku}`).toEqual(expected);
    for (const limit of [1, 7, 50]) {
      const paged: LedgerEvent[] = [];
      let after = 0;
      for (;;) {
        const page = await store.itemHistory(sku, after, limit);
        paged.push(...page);
        if (page.length < limit) break;
        after = (page.at(-1) as LedgerEvent).position;
      }
      expect(paged, `history of ${sku} in pages of ${limit}`).toEqual(expected);
    }
  }
}

async function indexedThrough(store: SqliteStore, position: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (store.historyIndexedThrough() < position) {
    if (Date.now() > deadline) expect.fail(`the index reached ${store.historyIndexedThrough()}, not ${position}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The index's own rows, read from its file. */
function indexRows(path: string): number {
  const db = new Database(historyPathOf(path), { readonly: true });
  try {
    return db.prepare('SELECT COUNT(*) FROM item_history').pluck().get() as number;
  } finally {
    db.close();
  }
}

describe('the SQLite item history', () => {
  let folder: string;
  let path: string;
  let store: SqliteStore | undefined;

  const open = async (historyIntervalMs: number) => {
    store = SqliteStore.open({ path, historyIntervalMs });
    await store.migrate();
    return store;
  };
  const reopen = async (historyIntervalMs: number) => {
    await store?.close();
    return open(historyIntervalMs);
  };
  /** A store with its thread, `rounds` batches written and indexed; the ledger's head. */
  const writtenAndIndexed = async (rounds: number) => {
    const opened = await open(5);
    await receive(opened, 'r', rounds);
    const head = await opened.headPosition();
    await indexedThrough(opened, head);
    return { opened, head };
  };

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'skuld-history-'));
    path = join(folder, 'skuld.db');
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    rmSync(folder, { recursive: true, force: true });
  });

  it('is indexed by the thread of the store that writes, every event once', async () => {
    const { opened, head } = await writtenAndIndexed(10);
    // Four registrations, then ten rounds of 40 receipts.
    expect(head).toBe(404);
    expect(indexRows(path)).toBe(head);
    await expectHistories(opened);
    await expectConsistent(opened);
  });

  it('is whole while the index lags behind the ledger, or no thread indexes at all', async () => {
    const { head: indexed } = await writtenAndIndexed(5);
    const lagging = await reopen(0);
    await receive(lagging, 's', 5);
    expect(await lagging.headPosition()).toBe(indexed + 200);
    expect(lagging.historyIndexedThrough()).toBe(indexed);
    await expectHistories(lagging);
  });

  /** Reopened on an index with nothing in it, a store answers from the ledger, then indexes it all. */
  const expectStartedAgain = async (head: number) => {
    const reopened = await open(5);
    expect(reopened.historyIndexedThrough()).toBe(0);
    await expectHistories(reopened);
    // The thread starts with the store's first write.
    await receive(reopened, 's', 1);
    await indexedThrough(reopened, head + 40);
    expect(indexRows(path)).toBe(head + 40);
    await expectHistories(reopened);
  };

  it('is built again from the ledger when its file is gone', async () => {
    const { opened: first, head } = await writtenAndIndexed(5);
    await first.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${historyPathOf(path)}${suffix}`, { force: true });
    await expectStartedAgain(head);
  });

  it('is started again when its file is not a database', async () => {
    const { opened: first, head } = await writtenAndIndexed(3);
    await first.close();
    for (const suffix of ['-wal', '-shm']) rmSync(`${historyPathOf(path)}${suffix}`, { force: true });
    writeFileSync(historyPathOf(path), 'not a database, whatever it was'.repeat(200));
    await expectStartedAgain(head);
  });

  it('is emptied when the store migrates on a database restored from an older copy, then built again', async () => {
    const first = await open(5);
    await receive(first, 'r', 2);
    const copy = join(folder, 'copy.db');
    const backup = new Database(path, { readonly: true });
    backup.prepare('VACUUM INTO ?').run(copy);
    backup.close();
    await receive(first, 'r', 6, 2);
    const head = await first.headPosition();
    await indexedThrough(first, head);
    await first.close();
    store = undefined;
    for (const suffix of ['-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    copyFileSync(copy, path);
    expect(existsSync(historyPathOf(path))).toBe(true);

    // Other receipts at the positions the index still names.
    const restored = await open(0);
    await receive(restored, 't', 10);
    expect(await restored.headPosition()).toBeGreaterThan(head);
    expect(restored.historyIndexedThrough()).toBe(0);
    await expectHistories(restored);

    const rebuilt = await reopen(5);
    await receive(rebuilt, 'u', 1);
    const now = await rebuilt.headPosition();
    await indexedThrough(rebuilt, now);
    expect(indexRows(path)).toBe(now);
    await expectHistories(rebuilt);
  });
});
