import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { createRuntime, type Runtime } from '../../src/compose/runtime.js';
import { loadConfig } from '../../src/config.js';
import type { Command } from '../../src/domain/index.js';
import { EngineThread } from '../../src/thread/engine-thread.js';
import { actAsAdmin } from '../http/harness.js';
import { ManualClock } from '../support/clock.js';
import { createTestDatabase, type TestDatabase, testDialects } from '../support/dialects.js';
import { executeAll, expectInvariants, stock } from '../support/engine-harness.js';
import { expectAccepted, expectConsistent, expectRejected } from '../support/test-engine.js';

// The write path on a thread of its own: the same engine behind a message port. What the rest
// of the suite shows of the engine holds through it; these tests show what the thread adds.

const location = 'WH1';

describe.each(testDialects())('the engine thread on %s', (dialect) => {
  let db: TestDatabase | undefined;
  let runtime: Runtime | undefined;
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
    await db?.drop();
  });

  async function start(clock?: ManualClock): Promise<Runtime> {
    db = await createTestDatabase(dialect);
    runtime = await createRuntime(
      // Without the read cache, whose executor would wrap the thread's proxy: these tests reach the proxy itself.
      loadConfig({ ...db.env, SKULD_ENGINE_THREAD: 'on', SKULD_LOG_LEVEL: 'silent', SKULD_CACHE: 'off' }),
      clock,
    );
    expect(runtime.engine).toBeInstanceOf(EngineThread);
    return runtime;
  }

  it('decides commands sent together in shared batches, and mirrors the engine counters', async () => {
    const { engine, store } = await start();
    await stock(engine, ['HOT-0', 'HOT-1'], location, 300);
    const before = engine.stats.commands;
    const orders: Command[] = Array.from({ length: 500 }, (_, i) => ({
      type: 'ReserveStock',
      id: `o-${i}`,
      lines: [{ sku: `HOT-${i % 2}`, location, quantity: 1 }],
    }));
    const outcomes = await executeAll(engine, orders);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(500);
    await engine.drain();
    expect(engine.stats.commands - before).toBe(500);
    // Sent in one turn, they arrive in one message and are decided in a few batches, not 500.
    expect(engine.stats.largestBatch).toBeGreaterThan(100);
    const levels = [...(await store.itemLevels('HOT-0')), ...(await store.itemLevels('HOT-1'))];
    expect(levels.map((l) => l.reserved)).toEqual([250, 250]);
    await expectInvariants(store);
    await expectConsistent(store);
  });

  it('reads the time of a shared clock: a hold expires when its owner moves the time', async () => {
    const clock = new ManualClock();
    const { engine } = await start(clock);
    await stock(engine, ['HOT-0'], location, 10);
    const lines = [{ sku: 'HOT-0', location, quantity: 2 }];
    expectAccepted(await engine.execute({ type: 'ReserveStock', id: 'r-1', lines, ttlMs: 1000 }));
    clock.advance(1001);
    const late = await engine.execute({ type: 'CommitReservation', id: 'c-1', reservationId: 'r-1' });
    expectRejected(late, 'RESERVATION_EXPIRED');
  });

  it('answers UNAVAILABLE for every command it held when the thread dies, and for every command after', async () => {
    const { engine, store } = await start();
    await stock(engine, ['HOT-0'], location, 1000);
    const thread = engine as EngineThread;
    const orders = Array.from({ length: 200 }, (_, i) => ({
      type: 'ReserveStock' as const,
      id: `d-${i}`,
      lines: [{ sku: 'HOT-0', location, quantity: 1 }],
    }));
    const answers = Promise.all(orders.map((order) => engine.execute(order)));
    // The worker is stopped from outside, as a crash of its thread would stop it.
    await (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const codes = (await answers).map(({ outcome }) => (outcome.ok ? 'ok' : outcome.error.code));
    expect(new Set(codes)).toContain('UNAVAILABLE');
    expect(codes.filter((code) => code !== 'ok' && code !== 'UNAVAILABLE')).toEqual([]);
    expect(thread.stopped).toMatch(/engine thread/);
    // Readiness says so (the reason goes to the log, as for any unavailable store) while reads still work.
    const app = await buildApp({ runtime: runtime as Runtime, logger: false });
    await actAsAdmin(app, runtime as Runtime);
    try {
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
      expect((await app.inject({ method: 'GET', url: '/v1/items/HOT-0/stock' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
    const after = await engine.execute({ ...orders[0], id: 'd-after' } as Command);
    expectRejected(after, 'UNAVAILABLE');
    // Whatever the thread had started, its store holds whole batches or nothing of them.
    await expectConsistent(store);
  });
});

describe('the engine thread at start', () => {
  it('refuses to start with the reason its write path gave', async () => {
    const db = await createTestDatabase('sqlite');
    try {
      const config = loadConfig({ ...db.env, SKULD_ENGINE_THREAD: 'on', SKULD_STRATEGY: 'optimistic' });
      await expect(EngineThread.start(config, undefined)).rejects.toThrow(
        /optimistic strategy needs concurrent writers, which sqlite does not have/,
      );
    } finally {
      await db.drop();
    }
  });
});

describe('the engine thread heap', () => {
  it('has the young generation the configuration gives it, or V8 its own with 0', async () => {
    const db = await createTestDatabase('sqlite');
    const limits = async (youngMb: string) => {
      const env = { ...db.env, SKULD_ENGINE_THREAD: 'on', SKULD_ENGINE_YOUNG_GENERATION_MB: youngMb };
      const runtime = await createRuntime(
        loadConfig({ ...env, SKULD_LOG_LEVEL: 'silent', SKULD_SEED: 'off', SKULD_CACHE: 'off' }),
      );
      try {
        return (runtime.engine as EngineThread).heapLimits?.maxYoungGenerationSizeMb;
      } finally {
        await runtime.close();
      }
    };
    try {
      expect(await limits('96')).toBe(96);
      expect(await limits('48')).toBe(48);
      expect(await limits('0')).not.toBe(96);
    } finally {
      await db.drop();
    }
  });
});
