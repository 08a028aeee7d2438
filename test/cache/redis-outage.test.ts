import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unique } from '../http/harness.js';
import { metricValue, openReadPath } from '../support/cache.js';
import { expectAccepted, openTestEngine } from '../support/test-engine.js';

// Redis killed in the middle of a read load. The test kills a Redis server of its own (the same
// redis-server, on a free port), not the shared one on 6379 that other suites running beside it
// use; it restarts it, and stops it at the end.

const storeConcurrencyMax = 2;
const readersCount = 32;

describe('the read cache when Redis dies under load', () => {
  let opened: Awaited<ReturnType<typeof openTestEngine>>;
  let redis: OwnRedis;

  beforeAll(async () => {
    redis = await OwnRedis.start();
    opened = await openTestEngine('sqlite');
  });

  afterAll(async () => {
    await opened?.cleanup();
    redis?.stop();
  });

  it('fails no read, keeps store reads under the limit, and opens and closes its breaker', async () => {
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
      SKULD_REDIS_URL: redis.url,
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
      redis.kill();
      await until(() => path.stock.state().redis === 'down', 'the breaker opens');
      expect(path.stock.state().degraded).toBe(true);
      const readsWhileDown = load.reads;
      await sleep(500);
      expect(load.reads, 'reads go on while Redis is down').toBeGreaterThan(readsWhileDown);
      await redis.restart();
      await until(() => path.stock.state().redis === 'up', 'the breaker closes when Redis is back');
      await sleep(200);
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

/** A redis-server of this test's own, on a free port. */
class OwnRedis {
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.restart();
    return redis;
  }

  async restart(): Promise<void> {
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const started = this.process;
    const failed = new Promise<never>((_, reject) => {
      started.once('error', (error) =>
        reject(new Error(`redis-server could not be started (is Redis installed?): ${error.message}`)),
      );
    });
    await Promise.race([failed, until(() => this.answers(), `redis-server answers on ${this.port}`)]);
  }

  kill(): void {
    this.process?.kill('SIGKILL');
    this.process = undefined;
  }

  stop(): void {
    this.kill();
  }

  private async answers(): Promise<boolean> {
    const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 200 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}
