import { Redis } from 'ioredis';
import type { Log } from '../log.js';

// Token buckets: a bucket per key (a principal, or a source address for failed authentication)
// holds up to `burst` tokens and refills at `perSecond`. A request takes one token, a batch one per
// command, a failed authentication one of its address's. With Redis the buckets are shared by
// every instance (one Lua script: read, refill, take, on Redis's clock); without it, or while
// Redis does not answer, each process keeps its own, so a limit never falls away and Redis being
// down never refuses anyone by itself.

export interface BucketSettings {
  readonly perSecond: number;
  readonly burst: number;
}

/** Buckets a process keeps; beyond, the least recently used is forgotten (it refills to full anyway). */
const localBucketsMax = 100_000;
/** Refused addresses a process remembers; beyond, the least recently refused is forgotten. */
const refusedAddressesMax = 100_000;
/** How long a Redis call may take before the process's own bucket answers instead. */
const redisTimeoutMs = 50;
/** How long a connection to Redis may take to open; a start waits at most this for it. */
const redisConnectTimeoutMs = 1000;

/** Milliseconds until `cost` tokens are there: 0 when they were, and were taken. */
export type Wait = number;

export class LocalBuckets {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();
  private readonly settings: BucketSettings;
  private readonly now: () => number;

  constructor(settings: BucketSettings, now: () => number = Date.now) {
    this.settings = settings;
    this.now = now;
  }

  take(key: string, cost: number): Wait {
    const now = this.now();
    const tokens = this.tokens(key, now);
    const wait = this.waitFor(tokens, cost);
    setNewest(
      this.buckets,
      key,
      { tokens: wait === 0 ? tokens - Math.min(cost, this.settings.burst) : tokens, atMs: now },
      localBucketsMax,
    );
    return wait;
  }

  private tokens(key: string, now: number): number {
    const { perSecond, burst } = this.settings;
    const bucket = this.buckets.get(key);
    return bucket === undefined ? burst : Math.min(burst, bucket.tokens + ((now - bucket.atMs) * perSecond) / 1000);
  }

  private waitFor(tokens: number, cost: number): Wait {
    const wanted = Math.min(cost, this.settings.burst);
    return tokens >= wanted ? 0 : Math.ceil(((wanted - tokens) * 1000) / this.settings.perSecond);
  }
}

const takeScript = `
local perMs = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 't', 'a')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * perMs)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = math.ceil((cost - tokens) / perMs) end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'a', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / perMs) + 1000)
return wait
`;

type ScriptedRedis = Redis & {
  skuldTake(key: string, perSecond: number, burst: number, cost: number): Promise<number>;
};

/** Buckets in Redis, shared by every instance; the process's own while Redis does not answer. */
export class SharedBuckets {
  private readonly redis: ScriptedRedis;
  private readonly local: LocalBuckets;
  private readonly settings: BucketSettings;
  private readonly prefix: string;
  private readonly log: Log;
  private fallingBack = false;

  constructor(url: string, prefix: string, settings: BucketSettings, log: Log) {
    this.settings = settings;
    this.prefix = prefix;
    this.log = log;
    this.local = new LocalBuckets(settings);
    // No offline queue and no retries: a command Redis cannot take now fails now, and the
    // process's own bucket answers (an offline queue would hold requests until Redis is back).
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: redisTimeoutMs,
      connectTimeout: redisConnectTimeoutMs,
      lazyConnect: false,
    }) as ScriptedRedis;
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('skuldTake', { numberOfKeys: 1, lua: takeScript });
  }

  /** Resolves once Redis answers, or after the connect timeout: a start never waits longer for it. */
  ready(): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, redisConnectTimeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.redis.once('ready', done);
    });
  }

  async take(key: string, cost: number): Promise<Wait> {
    const { perSecond, burst } = this.settings;
    try {
      const wait = await this.redis.skuldTake(this.prefix + key, perSecond, burst, Math.min(cost, burst));
      if (this.fallingBack) this.log.warn({}, 'rate limits: Redis answers again; the buckets are shared');
      this.fallingBack = false;
      return wait;
    } catch (error) {
      if (!this.fallingBack) {
        const cause = error instanceof Error ? error.message : String(error);
        this.log.warn({ cause }, 'rate limits: Redis does not answer; each process keeps its own buckets');
      }
      this.fallingBack = true;
      return this.local.take(key, cost);
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

export interface Buckets {
  take(key: string, cost: number): Wait | Promise<Wait>;
}

export function createBuckets(redisUrl: string, prefix: string, settings: BucketSettings, log: Log) {
  return redisUrl === '' ? new LocalBuckets(settings) : new SharedBuckets(redisUrl, prefix, settings, log);
}

/** Sets a map's entry as its newest, forgetting the oldest when the map holds `sizeMax`. */
function setNewest<V>(map: Map<string, V>, key: string, value: V, sizeMax: number): void {
  map.delete(key);
  if (map.size >= sizeMax) map.delete(map.keys().next().value as string);
  map.set(key, value);
}

/**
 * Failed authentications per source address: each failure takes a token from the address's
 * bucket (shared through Redis when it is configured). The process remembers until when the
 * buckets refused an address, and refuses it before looking at its credential: a request with a
 * credential asks that memory alone and costs no Redis call. Another instance learns of the
 * refusal from the next failure of the address it sees (refused too), so an address spread over
 * N instances has at most N - 1 guesses looked at beyond its budget each time it is refused.
 */
export class FailureLimit {
  private readonly buckets: Buckets;
  private readonly now: () => number;
  private readonly refusedUntil = new Map<string, number>();

  constructor(buckets: Buckets, now: () => number = Date.now) {
    this.buckets = buckets;
    this.now = now;
  }

  /** Milliseconds until the address may try again; 0 when it may now. */
  refused(address: string): Wait {
    const until = this.refusedUntil.get(address);
    if (until === undefined) return 0;
    const wait = until - this.now();
    if (wait > 0) return wait;
    this.refusedUntil.delete(address);
    return 0;
  }

  /** Counts a failure of the address; the wait when it is over its budget (0 while within it). */
  fail(address: string): Wait | Promise<Wait> {
    const wait = this.buckets.take(address, 1);
    return typeof wait === 'number' ? this.remember(address, wait) : wait.then((ms) => this.remember(address, ms));
  }

  private remember(address: string, wait: Wait): Wait {
    if (wait > 0) setNewest(this.refusedUntil, address, this.now() + wait, refusedAddressesMax);
    return wait;
  }
}
