import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { createRuntime } from '../../src/compose/runtime.js';
import { loadConfig } from '../../src/config.js';
import { actAsAdmin, get, post, unique } from '../http/harness.js';
import { createTestDatabase, type TestDatabase, testDialects } from '../support/dialects.js';
import { redisUrl } from '../support/global-setup.js';

// Two instances of the service on one PostgreSQL database, each with its cache in front of the
// shared Redis: a write through one is seen through the other within the in-process TTL, and at
// once by a read that passes the write's position.

const l1TtlMs = 1000;

type Instance = Awaited<ReturnType<typeof startInstance>>;

async function startInstance(db: TestDatabase) {
  const env = { ...db.env, SKULD_LOG_LEVEL: 'silent', SKULD_CACHE: 'redis', SKULD_REDIS_URL: redisUrl };
  const runtime = await createRuntime(loadConfig({ ...env, SKULD_CACHE_L1_TTL_MS: String(l1TtlMs) }));
  const app = await buildApp({ runtime, logger: false });
  await actAsAdmin(app, runtime);
  const close = async () => {
    await app.close();
    await runtime.close();
  };
  return { app, runtime, close };
}

const available = async (instance: Instance, sku: string, query = '') =>
  (await get(instance.app, `/v1/items/${sku}/stock${query}`)).json().totals?.available as number | undefined;

/** Reads until the instance answers `expected`, which must come within the in-process TTL of the write. */
async function seenWithinTtl(instance: Instance, sku: string, expected: number): Promise<void> {
  const writtenAt = Date.now();
  while ((await available(instance, sku)) !== expected) {
    expect(Date.now() - writtenAt, 'visible through the other instance within the in-process TTL').toBeLessThan(
      l1TtlMs + 250,
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.skipIf(!testDialects().includes('postgres'))('two instances on one database', () => {
  let db: TestDatabase;
  let first: Instance;
  let second: Instance;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    first = await startInstance(db);
    second = await startInstance(db);
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await db?.drop();
  });

  it('see a write through the other within the in-process TTL, and at once with minPosition', async () => {
    const sku = unique('SHARED');
    expect((await post(first.app, '/v1/items', { id: unique('reg'), sku })).statusCode).toBe(201);
    const receive = (quantity: number) =>
      post(first.app, '/v1/receipts', { id: unique('rcv'), sku, location: 'A1', quantity });
    expect((await receive(10)).statusCode).toBe(201);
    // Cached on both (the other learns of the new item from the first's message).
    await seenWithinTtl(second, sku, 10);
    expect(await available(first, sku)).toBe(10);

    const written = await receive(5);
    const position = written.json().position as number;
    expect(await available(second, sku, `?minPosition=${position}`)).toBe(15);
    expect(await available(first, sku)).toBe(15);

    const third = await receive(1);
    await seenWithinTtl(second, sku, 16);
    expect(third.json().position).toBeGreaterThan(position);
  });

  it('serves a location page fresh at a position, reports its read path in /readyz and its counters at /metrics', async () => {
    const sku = unique('PAGE');
    expect((await post(first.app, '/v1/items', { id: unique('reg'), sku })).statusCode).toBe(201);
    const location = unique('LOC');
    const received = await post(first.app, '/v1/receipts', { id: unique('rcv'), sku, location, quantity: 2 });
    const fresh = await get(second.app, `/v1/locations/${location}/stock?minPosition=${received.json().position}`);
    expect(fresh.json().levels).toHaveLength(1);
    // Cached now: a read without a position is served from the cache.
    expect((await get(second.app, `/v1/locations/${location}/stock`)).json().levels[0].onHand).toBe(2);
    const moved = await post(first.app, '/v1/receipts', { id: unique('rcv'), sku, location, quantity: 3 });
    const page = await get(second.app, `/v1/locations/${location}/stock?minPosition=${moved.json().position}`);
    expect(page.json().levels[0].onHand).toBe(5);

    const ready = await get(second.app, '/readyz');
    expect(ready.json().reads).toEqual({ cache: 'redis', redis: 'up', degraded: false });
    const metrics = await get(second.app, '/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/^skuld_cache_hits_total\{layer="l1"\} \d+$/m);
    expect(metrics.body).toMatch(/^skuld_cache_store_loads_total [1-9]\d*$/m);
    expect(metrics.body).toMatch(/^skuld_cache_breaker_state 0$/m);
  });
});
