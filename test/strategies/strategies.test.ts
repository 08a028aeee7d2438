import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/compose/runtime.js';
import { loadConfig } from '../../src/config.js';
import type { Command, ReserveStock } from '../../src/domain/index.js';
import { Engine } from '../../src/engine/engine.js';
import { RedisLocks } from '../../src/engine/redis-lock.js';
import { type Strategy, writePath } from '../../src/engine/strategies.js';
import { silentLog } from '../../src/log.js';
import { StoreError } from '../../src/store/port.js';
import { createTestDatabase, type TestDatabase, testDialects } from '../support/dialects.js';
import {
  countByCommand,
  executeAll,
  expectInvariants,
  prng,
  runInProcesses,
  stock,
  wholeLedger,
} from '../support/engine-harness.js';
import { redisUrl } from '../support/global-setup.js';

// Every strategy on every store where it applies: the flash-sale guarantees of the batched path
// (no oversell, invariants, idempotent retries, verify) hold for the per-order paths too.

const location = 'WH1';
const hot = ['HOT-0', 'HOT-1', 'HOT-2'];
const rowLockingDialects = testDialects().filter((dialect) => dialect !== 'sqlite');
// The batched path is here too: through writePath it runs two batches in flight on a server.
const everyStrategy: Strategy[] = ['batched', 'pessimistic', 'optimistic', 'redlock'];

/** Refusals a strategy may answer here: optimistic may also lose every retry on a hot row. */
function acceptable(strategy: Strategy): string[] {
  return strategy === 'optimistic' ? ['INSUFFICIENT_STOCK', 'CONCURRENCY_CONFLICT'] : ['INSUFFICIENT_STOCK'];
}

function order(id: string, random: () => number): ReserveStock {
  const skus = [...hot].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 3));
  return {
    type: 'ReserveStock',
    id,
    lines: skus.map((sku) => ({ sku, location, quantity: 1 + Math.floor(random() * 2) })),
  };
}

async function start(db: TestDatabase, strategy: Strategy, env: Record<string, string> = {}): Promise<Runtime> {
  return createRuntime(
    loadConfig({ ...db.env, SKULD_STRATEGY: strategy, SKULD_REDIS_URL: redisUrl, SKULD_LOG_LEVEL: 'silent', ...env }),
  );
}

describe.each(rowLockingDialects)('strategies on %s', (dialect) => {
  let db: TestDatabase | undefined;
  let runtime: Runtime | undefined;
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
    await db?.drop();
  });

  describe.each(everyStrategy)('%s', (strategy) => {
    it('reserves exactly the stock there is when 1,000 orders race for 3 SKUs, and replays retries once', async () => {
      db = await createTestDatabase(dialect);
      runtime = await start(db, strategy);
      await stock(runtime.engine, hot, location, 200);
      const random = prng(17);
      const orders = Array.from({ length: 1000 }, (_, i) => order(`o-${i}`, random));
      // A third of the orders are sent twice at once: each must take effect once.
      const sent = [...orders, ...orders.filter((_, i) => i % 3 === 0)].sort(() => random() - 0.5);
      const outcomes = await executeAll(runtime.engine, sent);
      for (const outcome of outcomes) if (!outcome.ok) expect(acceptable(strategy)).toContain(outcome.error.code);
      const answered = new Map(outcomes.map((o) => [o.commandId, o.ok]));
      const ledger = countByCommand(await wholeLedger(runtime.store));
      let reserved = 0;
      for (const o of orders) {
        const ok = answered.get(o.id) === true;
        expect(ledger.get(o.id) ?? 0).toBe(ok ? o.lines.length : 0);
        if (ok) reserved += o.lines.reduce((sum, line) => sum + line.quantity, 0);
      }
      const levels = await Promise.all(hot.map(async (sku) => (await runtime?.store.itemLevels(sku))?.[0]));
      expect(levels.reduce((sum, level) => sum + (level?.reserved ?? 0), 0)).toBe(reserved);
      // Demand exceeds stock: unless an order gave up on conflicts, no level has room left for the
      // smallest line.
      if (outcomes.every((o) => o.ok || o.error.code === 'INSUFFICIENT_STOCK')) {
        for (const level of levels) expect((level?.onHand ?? 0) - (level?.reserved ?? 0)).toBeLessThan(2);
      }
      expect(runtime.engine.stats.conflicts['40P01'] ?? 0).toBe(0);
      expect(runtime.engine.stats.conflicts['1213'] ?? 0).toBe(0);
      await expectInvariants(runtime.store);
    });

    it('stays correct with two processes on one database, sharing command ids', async () => {
      db = await createTestDatabase(dialect);
      runtime = await start(db, strategy);
      await stock(runtime.engine, hot, location, 150);
      const random = prng(23);
      const shared = Array.from({ length: 100 }, (_, i) => order(`s-${i}`, random));
      const own = (p: number) => Array.from({ length: 200 }, (_, i) => order(`p${p}-${i}`, random));
      const env = { SKULD_STRATEGY: strategy, SKULD_REDIS_URL: redisUrl };
      const results = await runInProcesses(
        [1, 2].map((p) => ({
          db: { ...db, env: { ...db?.env, ...env } } as TestDatabase,
          commands: [...own(p), ...shared],
          inFlight: 32,
        })),
      );
      for (const result of results) {
        expect(result.stats.conflicts['40P01'] ?? 0).toBe(0);
        expect(result.stats.conflicts['1213'] ?? 0).toBe(0);
        for (const answer of result.answers) if (!answer.ok) expect(acceptable(strategy)).toContain(answer.code);
      }
      const ledger = countByCommand(await wholeLedger(runtime.store));
      const first = new Map(results[0]?.answers.map((a) => [a.id, a.ok]));
      for (const o of shared) expect(ledger.get(o.id) ?? 0).toBe(first.get(o.id) ? o.lines.length : 0);
      await expectInvariants(runtime.store);
    });
  });

  it('optimistic: a command that exhausts its retries is refused with CONCURRENCY_CONFLICT and writes nothing', async () => {
    db = await createTestDatabase(dialect);
    runtime = await start(db, 'optimistic', { SKULD_STRATEGY_RETRY_COUNT_MAX: '0' });
    await stock(runtime.engine, hot, location, 100_000);
    const random = prng(29);
    const orders: Command[] = Array.from({ length: 400 }, (_, i) => ({
      type: 'ReserveStock',
      id: `c-${i}`,
      lines: [{ sku: hot[Math.floor(random() * 2)] as string, location, quantity: 1 }],
    }));
    const outcomes = await executeAll(runtime.engine, orders);
    const refused = outcomes.filter((o) => !o.ok);
    expect(refused.length).toBeGreaterThan(0);
    for (const outcome of refused) expect(!outcome.ok && outcome.error.code).toBe('CONCURRENCY_CONFLICT');
    expect(runtime.engine.stats.conflicts.VERSION_CONFLICT ?? 0).toBeGreaterThan(0);
    const ledger = countByCommand(await wholeLedger(runtime.store));
    for (const outcome of refused) {
      expect(ledger.get(outcome.commandId) ?? 0).toBe(0);
      // Nothing was recorded either: resending the id may still succeed.
      expect(await runtime.store.getCommand(outcome.commandId)).toBeUndefined();
    }
    await expectInvariants(runtime.store);
  });

  it('redlock: refuses to start without Redis, and answers UNAVAILABLE without writing when Redis is gone', async () => {
    db = await createTestDatabase(dialect);
    await expect(start(db, 'redlock', { SKULD_REDIS_URL: 'redis://127.0.0.1:1' })).rejects.toMatchObject({
      code: 'REDIS_UNREACHABLE',
      message: expect.stringMatching(/Redis is unreachable/),
    });
    runtime = await start(db, 'batched');
    await stock(runtime.engine, hot, location, 10);
    const path = await writePath('redlock', runtime.store, {
      concurrency: 2,
      itemCacheMax: 100,
      redisUrl,
      redlockTtlMs: 1000,
      retryCountMax: 2,
      log: silentLog,
    });
    await path.runner.close();
    const engine = new Engine(path.runner, path.options);
    const head = await runtime.store.headPosition();
    const { outcome } = await engine.execute({
      type: 'ReserveStock',
      id: 'no-lock',
      lines: [{ sku: 'HOT-0', location, quantity: 1 }],
    });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error.code).toBe('UNAVAILABLE');
    expect(await runtime.store.headPosition()).toBe(head);
    expect(await runtime.store.getCommand('no-lock')).toBeUndefined();
  });

  it('redlock: a holder whose lock expired cannot overwrite the write of the next holder', async () => {
    db = await createTestDatabase(dialect);
    runtime = await start(db, 'batched');
    await stock(runtime.engine, hot, location, 10);
    const redis = new Redis(redisUrl);
    try {
      const locks = new RedisLocks(redis, {
        fenceKey: 'skuld:fence',
        acquireAttemptsMax: 50,
        retryDelayMs: 10,
        retryJitterMs: 0,
      });
      const resource = ['skuld:level:HOT-0@WH1:fencing-test'];
      // A takes the lock and its token, then stalls past the lock's TTL.
      const lockA = await locks.acquire(resource, 50);
      await new Promise((resolve) => setTimeout(resolve, 120));
      // B gets the expired lock, a newer token, and writes.
      const lockB = await locks.acquire(resource, 5000);
      if (lockA === undefined || lockB === undefined) throw new Error('a lock was not taken');
      const [tokenA, tokenB] = [lockA.fence, lockB.fence];
      const [level] = await runtime.store.itemLevels('HOT-0');
      if (level === undefined) throw new Error('no level');
      const write = (fence: number, onHand: number, previousVersion: number) =>
        runtime?.store.writeTransaction((session) =>
          session.write({
            items: [],
            levels: [{ ...level, onHand, version: previousVersion + 1, previousVersion }],
            levelGuard: { kind: 'version', fence },
            createdReservations: [],
            updatedReservations: [],
            events: [],
            commands: [],
          }),
        );
      await write(tokenB, 11, level.version);
      await locks.release(lockB);
      // A wakes up and writes with its old token, even naming the current version: refused.
      const late = await write(tokenA, 999, level.version + 1)?.catch((error: unknown) => error);
      expect(late).toBeInstanceOf(StoreError);
      expect(late).toMatchObject({ kind: 'conflict', code: 'FENCED' });
      expect((await runtime.store.itemLevels('HOT-0'))[0]?.onHand).toBe(11);
    } finally {
      redis.disconnect();
    }
  });
});

describe('strategies and stores', () => {
  it('refuses a per-order strategy on SQLite, naming what applies', async () => {
    const db = await createTestDatabase('sqlite');
    try {
      await expect(
        createRuntime(loadConfig({ ...db.env, SKULD_STRATEGY: 'pessimistic', SKULD_LOG_LEVEL: 'silent' })),
      ).rejects.toThrow(/which sqlite does not have/);
    } finally {
      await db.drop();
    }
  });
});
