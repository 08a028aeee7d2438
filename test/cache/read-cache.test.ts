import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandExecutor } from '../../src/engine/executor.js';
import type { StoreReads } from '../../src/store/port.js';
import { unique } from '../http/harness.js';
import { countedReads, freshNamespace, metricValue, openReadPath } from '../support/cache.js';
import { expectAccepted, openTestEngine } from '../support/test-engine.js';

// The read cache against a real SQLite store and the real Redis: one load for a cold hot key
// across instances, unknown SKUs stopped before the store, and a slow refill that never
// overwrites a newer write.

async function stockedItem(engine: CommandExecutor, quantity: number): Promise<string> {
  const sku = unique('CACHED');
  expectAccepted(await engine.execute({ type: 'RegisterItem', id: unique('reg'), sku }));
  expectAccepted(await engine.execute({ type: 'ReceiveStock', id: unique('rcv'), sku, location: 'A1', quantity }));
  return sku;
}

const onHand = (stock: { levels: readonly { onHand: number }[] }) => stock.levels.reduce((sum, l) => sum + l.onHand, 0);

describe('the read cache', () => {
  let opened: Awaited<ReturnType<typeof openTestEngine>>;

  beforeAll(async () => {
    opened = await openTestEngine('sqlite');
  });

  afterAll(async () => {
    await opened?.cleanup();
  });

  it('loads a cold hot key once for 1,000 concurrent reads across two instances', async () => {
    const sku = await stockedItem(opened.engine, 7);
    const counted = countedReads(opened.store);
    const namespace = freshNamespace();
    // The other instance waits for the loader's value as long as it takes: on a loaded machine the
    // default wait (200 ms) can run out, and a waiter then loads itself, as it should.
    const patient = { SKULD_CACHE_LOCK_WAIT_MS: '30000' };
    const first = await openReadPath(counted.reads, opened.engine, namespace, patient);
    const second = await openReadPath(counted.reads, opened.engine, namespace, patient);
    try {
      counted.reset();
      const reads = Array.from({ length: 1000 }, (_, index) => (index % 2 === 0 ? first : second).stock.itemStock(sku));
      const answers = await Promise.all(reads);
      expect(new Set(answers.map(onHand))).toEqual(new Set([7]));
      // One store query in all: the item, its levels and their position in one statement.
      expect(counted.counts).toEqual({ itemStockAt: 1 });
      const joins =
        (await metricValue(first.registry, 'skuld_cache_single_flight_joins_total')) +
        (await metricValue(second.registry, 'skuld_cache_single_flight_joins_total'));
      expect(joins).toBe(999);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('answers 10,000 reads of unknown SKUs without a store query', async () => {
    const counted = countedReads(opened.store);
    const path = await openReadPath(counted.reads, opened.engine, freshNamespace(), {
      SKULD_CACHE_BLOOM_FALSE_POSITIVE_RATE: '0.000001',
    });
    try {
      counted.reset();
      for (let index = 0; index < 10_000; index += 1) {
        const stock = await path.stock.itemStock(`NEVER-${index}`);
        expect(stock.item).toBeUndefined();
      }
      expect(counted.counts).toEqual({});
      expect(await metricValue(path.registry, 'skuld_cache_bloom_rejections_total')).toBe(10_000);
    } finally {
      await path.close();
    }
  });

  it('queries an unknown SKU the bloom filter lets through once, then answers it from the negative cache', async () => {
    const counted = countedReads(opened.store);
    // A filter this loose, for this few items, lets some hundredths of the unknown SKUs through.
    const path = await openReadPath(counted.reads, opened.engine, freshNamespace(), {
      SKULD_CACHE: 'local',
      SKULD_CACHE_BLOOM_FALSE_POSITIVE_RATE: '0.5',
      SKULD_CACHE_NEGATIVE_TTL_MS: '60000',
    });
    try {
      counted.reset();
      const skus = Array.from({ length: 20_000 }, (_, index) => `MISSING-${index}`);
      for (const sku of skus) await path.stock.itemStock(sku);
      const passed = counted.counts.itemStockAt ?? 0;
      expect(passed).toBeGreaterThan(0);
      for (const sku of skus) expect((await path.stock.itemStock(sku)).item).toBeUndefined();
      expect(counted.counts.itemStockAt).toBe(passed);
    } finally {
      await path.close();
    }
  });

  it('drops "no such item" for a SKU as soon as it is registered', async () => {
    const path = await openReadPath(opened.store, opened.engine, freshNamespace(), {
      SKULD_CACHE: 'local',
      SKULD_CACHE_NEGATIVE_TTL_MS: '60000',
    });
    try {
      const skus = Array.from({ length: 40 }, () => unique('LATE'));
      // A position beyond the filter's passes it: each SKU is read from the store and cached as unknown.
      for (const sku of skus) expect((await path.stock.itemStock(sku, 1e12)).item).toBeUndefined();
      for (const sku of skus)
        expectAccepted(await path.engine.execute({ type: 'RegisterItem', id: unique('reg'), sku }));
      const unknown = [];
      for (const sku of skus) if ((await path.stock.itemStock(sku)).item === undefined) unknown.push(sku);
      expect(unknown).toEqual([]);
    } finally {
      await path.close();
    }
  });

  it('learns of an item registered after the start, here and through another instance', async () => {
    const namespace = freshNamespace();
    const writer = await openReadPath(opened.store, opened.engine, namespace);
    const reader = await openReadPath(opened.store, opened.engine, namespace);
    try {
      const sku = await stockedItem(writer.engine, 3);
      expect(onHand(await writer.stock.itemStock(sku))).toBe(3);
      await eventually(async () => expect(onHand(await reader.stock.itemStock(sku))).toBe(3));
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  it('never keeps a refill that raced a newer write, in either layer', async () => {
    const sku = await stockedItem(opened.engine, 10);
    const gate = new Gate();
    const namespace = freshNamespace();
    const path = await openReadPath(gatedReads(opened.store, gate), opened.engine, namespace);
    const other = await openReadPath(opened.store, opened.engine, namespace);
    try {
      gate.close();
      const slow = path.stock.itemStock(sku);
      await gate.reached;
      const write = await path.engine.execute({
        type: 'ReceiveStock',
        id: unique('rcv'),
        sku,
        location: 'A1',
        quantity: 5,
      });
      expectAccepted(write);
      await eventually(async () =>
        expect(await metricValue(path.registry, 'skuld_cache_invalidations_total', { direction: 'sent' })).toBe(1),
      );
      gate.open();
      // The slow read began before the write: it may answer what it read, but nobody after it.
      expect(onHand(await slow)).toBe(10);
      expect(await metricValue(path.registry, 'skuld_cache_refused_refills_total')).toBe(1);
      expect(onHand(await path.stock.itemStock(sku))).toBe(15);
      expect(onHand(await other.stock.itemStock(sku))).toBe(15);
    } finally {
      gate.open();
      await path.close();
      await other.close();
    }
  });
});

/** Holds a store read after it has read, until opened: a refill slower than a write. */
class Gate {
  private release: () => void = () => undefined;
  private held: Promise<void> = Promise.resolve();
  private arrived: () => void = () => undefined;
  reached: Promise<void> = Promise.resolve();

  close(): void {
    this.held = new Promise((resolve) => {
      this.release = resolve;
    });
    this.reached = new Promise((resolve) => {
      this.arrived = resolve;
    });
  }

  open(): void {
    this.release();
  }

  async pass(): Promise<void> {
    this.arrived();
    await this.held;
  }
}

function gatedReads(store: StoreReads, gate: Gate): StoreReads {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'itemStockAt') return typeof value === 'function' ? value.bind(target) : value;
      return async (sku: string) => {
        const read = await target.itemStockAt(sku);
        await gate.pass();
        return read;
      };
    },
  });
}

async function eventually(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
