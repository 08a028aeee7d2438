import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { verify } from '../../src/verify/verify.js';

// SQLite's checkpoints off the write path: a thread of the store's own copies committed WAL
// frames back into the database file, instead of a commit of the writer doing it.

const sizeOf = (file: string) => statSync(file).size;

/** Registers and receives 50 new items per transaction, in transactions `from` … `from + count - 1`. */
async function receiveMany(store: SqliteStore, count: number, from = 0): Promise<void> {
  for (let batch = from; batch < from + count; batch += 1) {
    await store.writeTransaction(async (session) => {
      const skus = Array.from({ length: 50 }, (_, i) => `SKU-${batch}-${i}`);
      const first = await session.claimPositions(skus.length);
      await session.write({
        items: skus.map((sku) => ({ sku, name: sku, allowBackorder: false, lowStockThreshold: null, createdAt: 1 })),
        levels: skus.map((sku) => ({
          sku,
          location: 'WH1',
          onHand: 5,
          reserved: 0,
          incoming: 0,
          version: 1,
          previousVersion: null,
        })),
        levelGuard: { kind: 'locked' },
        createdReservations: [],
        updatedReservations: [],
        events: skus.map((sku, i) => ({
          position: first + i,
          type: 'StockReceived' as const,
          sku,
          location: 'WH1',
          onHandDelta: 5,
          reservedDelta: 0,
          onHandAfter: 5,
          reservedAfter: 0,
          incomingDelta: 0,
          incomingAfter: 0,
          quantity: 5,
          commandId: `rcv-${sku}`,
          reservationId: null,
          expiresAt: null,
          peerLocation: null,
          reason: null,
          reference: null,
          actor: 'test',
          occurredAt: 1,
          recordedAt: 1,
          streamVersion: 1,
          attributes: null,
        })),
        commands: [],
      });
    });
  }
}

describe('SQLite checkpoints', () => {
  let folder: string | undefined;
  let store: SqliteStore | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  });

  async function open(checkpointIntervalMs: number): Promise<{ store: SqliteStore; file: string }> {
    folder = mkdtempSync(join(tmpdir(), 'skuld-checkpoint-'));
    const file = join(folder, 'skuld.db');
    store = SqliteStore.open({ path: file, checkpointIntervalMs });
    await store.migrate();
    return { store, file };
  }

  /** Waits until the database file has grown past `size`, or the time is up. */
  async function grownPast(file: string, size: number, waitMsMax: number): Promise<number> {
    const deadline = Date.now() + waitMsMax;
    while (sizeOf(file) <= size && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return sizeOf(file);
  }

  it('copies committed frames into the database file from its own thread, while writes go on', async () => {
    const { store: opened, file } = await open(50);
    const before = sizeOf(file);
    await receiveMany(opened, 20);
    // Far below the writer's own threshold: only the checkpoint thread can have grown the file.
    expect(await grownPast(file, before, 5000)).toBeGreaterThan(before);
    expect(sizeOf(`${file}-wal`)).toBeGreaterThan(0);
    await receiveMany(opened, 5, 20);
    expect((await verify(opened)).ok).toBe(true);
    expect(await opened.headPosition()).toBe(25 * 50);
  });

  it('leaves the WAL to the writer when the interval is 0, which copies nothing this early', async () => {
    const { store: opened, file } = await open(0);
    const before = sizeOf(file);
    await receiveMany(opened, 20);
    expect(await grownPast(file, before, 300)).toBe(before);
  });

  it('closes its thread with the store, and a store that only reads starts none', async () => {
    const { store: opened, file } = await open(50);
    const reader = SqliteStore.open({ path: file, checkpointIntervalMs: 50 });
    await reader.headPosition();
    await receiveMany(opened, 2);
    const threadOf = (s: SqliteStore) => (s as unknown as { checkpointer: unknown }).checkpointer;
    expect(threadOf(reader)).toBeUndefined();
    expect(threadOf(opened)).toBeDefined();
    await reader.close();
    await opened.close();
    store = undefined;
    // Closed twice is closed.
    await opened.close();
  });
});
