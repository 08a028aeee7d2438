import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unique } from '../http/harness.js';
import { metricValue, openReadPath } from '../support/cache.js';
import { eventually } from '../support/eventually.js';
import { redisUrl } from '../support/global-setup.js';
import { expectAccepted, openTestEngine } from '../support/test-engine.js';

// The shared Redis (6379, as CI starts it) is killed in the middle of a read load and started
// again: no read fails, the store never has more cache loads in flight than the limit, and the
// breaker opens, then closes when Redis is back. The test leaves Redis running as it found it.

const run = promisify(execFile);
const storeConcurrencyMax = 2;
const readersCount = 32;

/** The Redis server the suites use: killed by its pid, started again as .ci/run starts it. */
const sharedRedis = {
  port: Number(new URL(redisUrl).port || 6379),
  async pid(): Promise<number> {
    const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const info = await client.info('server');
      const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
      if (!Number.isInteger(pid)) throw new Error('Redis INFO gave no process_id');
      return pid;
    } finally {
      client.disconnect();
    }
  },
  async answers(): Promise<boolean> {
    return sharedRedis.pid().then(
      () => true,
      () => false,
    );
  },
  async kill(): Promise<void> {
    process.kill(await sharedRedis.pid(), 'SIGKILL');
    await eventually('Redis is gone', async () => !(await sharedRedis.answers()), 10_000);
  },
  async start(): Promise<void> {
    if (await sharedRedis.answers()) return;
    mkdirSync('/var/lib/redis', { recursive: true });
    mkdirSync('/var/log/redis', { recursive: true });
    await run('redis-server', [
      '--daemonize',
      'yes',
      '--bind',
      '127.0.0.1',
      '-::1',
      '--port',
      String(sharedRedis.port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      '/var/lib/redis',
      '--logfile',
      '/var/log/redis/ci.log',
    ]);
    await eventually('Redis answers again', sharedRedis.answers, 20_000);
  },
};

describe('the read cache when the shared Redis is killed under load', () => {
  let opened: Awaited<ReturnType<typeof openTestEngine>>;

  beforeAll(async () => {
    const host = new URL(redisUrl).hostname;
    if (host !== '127.0.0.1' && host !== 'localhost') {
      throw new Error(`this test kills and restarts Redis, so it must run on this machine, not at ${redisUrl}`);
    }
    if (!(await sharedRedis.answers())) throw new Error(`Redis is unreachable at ${redisUrl}: start it first`);
    opened = await openTestEngine('sqlite');
  });

  afterAll(async () => {
    await sharedRedis.start();
    await opened?.cleanup();
  });

  it('fails no read, keeps store loads under the limit, and opens and closes its breaker', async () => {
    const skus: string[] = [];
    for (let index = 0; index < 40; index += 1) {
      const sku = unique('OUTAGE');
      expectAccepted(await opened.engine.execute({ type: 'RegisterItem', id: unique('reg'), sku }));
      expectAccepted(
        await opened.engine.execute({ type: 'ReceiveStock', id: unique('rcv'), sku, location: 'A1', quantity: 4 }),
      );
      skus.push(sku);
    }
    const path = await openReadPath(opened.store, opened.engine, `skuld-outage:${process.pid}:`, {
      SKULD_REDIS_URL: redisUrl,
      SKULD_CACHE_STORE_CONCURRENCY_MAX: String(storeConcurrencyMax),
      // Short lives, so that the load keeps reaching past L1 while Redis is away.
      SKULD_CACHE_L1_TTL_MS: '20',
      SKULD_CACHE_STALE_MAX_MS: '100',
      SKULD_CACHE_BREAKER_OPEN_MS: '100',
      SKULD_CACHE_REDIS_TIMEOUT_MS: '50',
    });
    const load = { running: true, reads: 0, failures: [] as unknown[] };
    const readers = Array.from({ length: readersCount }, async (_, reader) => {
      for (let index = reader; load.running; index += 1) {
        try {
          const stock = await path.stock.itemStock(skus[index % skus.length] as string);
          if (stock.item === undefined) throw new Error('a registered item read as unknown');
          load.reads += 1;
        } catch (error) {
          load.failures.push(error);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    try {
      await sleep(300);
      expect(path.stock.state()).toMatchObject({ cache: 'redis', redis: 'up' });
      await sharedRedis.kill();
      await eventually('the breaker opens', () => path.stock.state().redis === 'down', 10_000);
      expect(path.stock.state().degraded).toBe(true);
      const readsWhileDown = load.reads;
      await sleep(500);
      expect(load.reads, 'reads go on while Redis is down').toBeGreaterThan(readsWhileDown);
      await sharedRedis.start();
      await eventually('the breaker closes when Redis is back', () => path.stock.state().redis === 'up', 20_000);
      const readsAfter = load.reads;
      await sleep(200);
      expect(load.reads, 'reads go on once Redis is back').toBeGreaterThan(readsAfter);
    } finally {
      load.running = false;
      await Promise.all(readers);
      await path.close();
    }
    expect(load.failures).toEqual([]);
    expect(await metricValue(path.registry, 'skuld_cache_breaker_opens_total')).toBeGreaterThanOrEqual(1);
    const peak = await metricValue(path.registry, 'skuld_cache_store_reads_in_flight_peak');
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(storeConcurrencyMax);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
