import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { CommandExecutor } from '../engine/executor.js';
import type { Log } from '../log.js';
import type { StoreReads } from '../store/port.js';
import { CacheMetrics } from './cache-metrics.js';
import { InvalidatingExecutor } from './invalidating-executor.js';
import { RedisTier } from './redis-tier.js';
import { type StockReads, StoreStockReads } from './stock-reads.js';
import { StoreLimiter } from './store-limiter.js';
import { TieredStockReads } from './tiered-stock-reads.js';

// The read path of a runtime, as its settings choose it: the store alone, or the cache in front
// of it (and then the write path the API and the sweeper use tells the cache what it changed).

export type CacheSettings = Pick<
  Config,
  | 'cache'
  | 'redisUrl'
  | 'cacheL1TtlMs'
  | 'cacheL2TtlMs'
  | 'cacheTtlJitterPercent'
  | 'cacheEntriesMax'
  | 'cacheNegativeTtlMs'
  | 'cacheBloomFalsePositiveRate'
  | 'cacheStoreConcurrencyMax'
  | 'cacheStaleMaxMs'
  | 'cacheRedisTimeoutMs'
  | 'cacheLockWaitMs'
  | 'cacheBreakerOpenMs'
>;

export interface ReadPath {
  readonly stock: StockReads;
  /** The write path to hand the API and the sweeper. */
  readonly engine: CommandExecutor;
  close(): Promise<void>;
}

/** Reads waiting for the store beyond the concurrency limit, per allowed read in flight. */
const waitersPerSlot = 256;

export interface ReadPathParts {
  readonly store: StoreReads;
  readonly engine: CommandExecutor;
  readonly registry: Registry;
  readonly log: Log;
  /** Prefix of the Redis keys: one per deployment (its database). */
  readonly namespace: string;
}

export async function createReadPath(settings: CacheSettings, parts: ReadPathParts): Promise<ReadPath> {
  const { store, engine, registry, log } = parts;
  if (settings.cache === 'off') {
    return { stock: new StoreStockReads(store), engine, close: async () => undefined };
  }
  const limiter = new StoreLimiter(
    settings.cacheStoreConcurrencyMax,
    settings.cacheStoreConcurrencyMax * waitersPerSlot,
  );
  const metrics = new CacheMetrics(registry, () => ({ now: limiter.inFlight, peak: limiter.inFlightPeak }));
  const options = {
    l1TtlMs: settings.cacheL1TtlMs,
    l2TtlMs: settings.cacheL2TtlMs,
    jitterPercent: settings.cacheTtlJitterPercent,
    negativeTtlMs: settings.cacheNegativeTtlMs,
    staleMaxMs: settings.cacheStaleMaxMs,
    bloomFalsePositiveRate: settings.cacheBloomFalsePositiveRate,
    entriesMax: settings.cacheEntriesMax,
    now: Date.now,
    random: Math.random,
  };
  const redis =
    settings.cache === 'redis'
      ? new RedisTier(
          {
            url: settings.redisUrl,
            namespace: parts.namespace,
            timeoutMs: settings.cacheRedisTimeoutMs,
            breakerOpenMs: settings.cacheBreakerOpenMs,
            guardTtlMs: TieredStockReads.guardTtlMs(options),
            lockWaitMs: settings.cacheLockWaitMs,
            now: Date.now,
          },
          metrics,
          log,
        )
      : undefined;
  const stock = new TieredStockReads(store, redis, limiter, metrics, log, options);
  await stock.start();
  return { stock, engine: new InvalidatingExecutor(engine, stock), close: () => stock.close() };
}
