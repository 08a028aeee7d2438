import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisLockOptions, RedisLocks } from '../../src/engine/redis-lock.js';
import { testDialects } from '../support/dialects.js';
import { redisUrl } from '../support/global-setup.js';

// The redlock strategy's locks, against the real Redis: all keys or none, only the holder
// releases or extends, and every acquisition draws a larger fencing token.

const prefix = `skuld-test:${process.pid}:${Date.now().toString(36)}`;
const options: RedisLockOptions = {
  fenceKey: `${prefix}:fence`,
  acquireAttemptsMax: 1,
  retryDelayMs: 2,
  retryJitterMs: 4,
};
let counter = 0;
const freshKeys = (count: number) => Array.from({ length: count }, () => `${prefix}:key-${counter++}`);

// Redis runs beside the row-locking stores (see global-setup.ts): an SQLite-only run leaves it out.
describe.skipIf(testDialects().every((dialect) => dialect === 'sqlite'))('Redis locks', () => {
  let redis: Redis;
  let locks: RedisLocks;
  beforeAll(async () => {
    redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect().catch((error: Error) => {
      throw new Error(`Redis is unreachable at ${redisUrl} (${error.message}); set SKULD_TEST_REDIS_URL`);
    });
    locks = new RedisLocks(redis, options);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('takes every key or none, and sets them with the TTL', async () => {
    const [shared, free] = freshKeys(2) as [string, string];
    const first = await locks.acquire([shared], 5000);
    expect(first).toBeDefined();
    expect(await locks.acquire([free, shared], 5000)).toBeUndefined();
    expect(await redis.exists(free)).toBe(0);
    const ttlMs = await redis.pttl(shared);
    expect(ttlMs).toBeGreaterThan(4000);
    expect(ttlMs).toBeLessThanOrEqual(5000);
  });

  it('draws a larger fencing token with every lock, also for no keys at all', async () => {
    const fences: number[] = [];
    for (const keys of [freshKeys(1), [], freshKeys(3)]) {
      const lock = await locks.acquire(keys, 1000);
      if (lock === undefined) throw new Error('a free key was refused');
      fences.push(lock.fence);
    }
    expect(fences[1]).toBeGreaterThan(fences[0] as number);
    expect(fences[2]).toBeGreaterThan(fences[1] as number);
  });

  it('waits for a busy key through its attempts and takes it once it is released', async () => {
    const keys = freshKeys(2);
    const holder = await locks.acquire(keys, 5000);
    if (holder === undefined) throw new Error('a free key was refused');
    const patient = new RedisLocks(redis, { ...options, acquireAttemptsMax: 1000 });
    const waiting = patient.acquire(keys, 5000);
    await sleep(20);
    expect(await locks.release(holder)).toBe(true);
    const next = await waiting;
    expect(next?.fence).toBeGreaterThan(holder.fence);
  });

  it('lets only the holder release or extend: a stalled holder cannot touch the next holder’s lock', async () => {
    const keys = freshKeys(2);
    const stalled = await locks.acquire(keys, 30);
    if (stalled === undefined) throw new Error('a free key was refused');
    await sleep(80);
    const next = await locks.acquire(keys, 5000);
    if (next === undefined) throw new Error('an expired key was not taken');
    expect(next.fence).toBeGreaterThan(stalled.fence);
    expect(await locks.extend(stalled, 60_000)).toBe(false);
    expect(await locks.release(stalled)).toBe(false);
    for (const key of keys) {
      expect(await redis.get(key)).toBe(next.token);
      expect(await redis.pttl(key)).toBeLessThanOrEqual(5000);
    }
    expect(await locks.extend(next, 60_000)).toBe(true);
    expect(await redis.pttl(keys[0] as string)).toBeGreaterThan(5000);
    expect(await locks.release(next)).toBe(true);
    expect(await redis.exists(...keys)).toBe(0);
  });

  it('loads its scripts again when the server has lost them', async () => {
    await redis.script('FLUSH');
    const lock = await locks.acquire(freshKeys(1), 1000);
    expect(lock).toBeDefined();
    await redis.script('FLUSH');
    expect(await locks.release(lock as NonNullable<typeof lock>)).toBe(true);
  });
});
