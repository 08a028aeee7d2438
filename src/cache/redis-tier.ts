import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Log } from '../log.js';
import type { CacheMetrics } from './cache-metrics.js';
import { type BreakerState, CircuitBreaker } from './circuit-breaker.js';

// The shared layer (L2) in Redis, the lock that lets one instance load a key for all, and the
// channel that carries invalidations to every instance. Every call has a timeout, Redis's offline
// queue is off (a call while disconnected fails at once instead of piling up), and a breaker
// skips Redis after repeated failures: a read then goes on without it, never fails for it.
//
// An entry is `<position>\n<json>`; a guard key holds the position of the latest write that
// changed what it covers. Both scripts compare positions inside Redis, so a slow refill never
// overwrites a newer value or outlives a newer write.

/** Failures in a row that open the breaker. */
const breakerFailuresMax = 5;
/** How often an instance waiting for another's load looks for its value. */
const lockPollMs = 5;

const offerScript = `
local position = tonumber(ARGV[1])
local guard = tonumber(redis.call('GET', KEYS[2]) or '0')
if position < guard then return 0 end
local current = redis.call('GET', KEYS[1])
if current then
  local held = tonumber(string.match(current, '^(%d+)'))
  if held and held > position then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

const invalidateScript = `
local position = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') < position then redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;

/** The entry if it is valid and fresh enough; else the load lock, taken or held by another. One round trip. */
const getOrLockScript = `
local raw = redis.call('GET', KEYS[1])
if raw then
  local position = tonumber(string.match(raw, '^(%d+)'))
  local guard = tonumber(redis.call('GET', KEYS[2]) or '0')
  if position >= guard and position >= tonumber(ARGV[1]) then return {1, raw} end
end
if redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3], 'NX') then return {2, ''} end
return {0, ''}`;

const unlockScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface RedisTierOptions {
  readonly url: string;
  /** Prefix of every key and of the channel: one per deployment (its database), so others never mix in. */
  readonly namespace: string;
  readonly timeoutMs: number;
  readonly breakerOpenMs: number;
  readonly guardTtlMs: number;
  readonly lockWaitMs: number;
  readonly now: () => number;
}

export interface RemoteEntry {
  readonly position: number;
  readonly json: string;
}

export type RemoteLookup =
  | { readonly kind: 'hit'; readonly entry: RemoteEntry }
  | { readonly kind: 'locked'; readonly token: string }
  | { readonly kind: 'busy' };

/** What another instance's committed batch changed. */
export interface InvalidationMessage {
  /** The instance that sent it. */
  readonly origin: string;
  readonly position: number;
  readonly guards: readonly string[];
  /** SKUs registered by the batch, for the bloom filters. */
  readonly registered: readonly string[];
}

export class RedisTier {
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly breaker: CircuitBreaker;
  private readonly channel: string;
  private subscriberReady = false;

  constructor(
    private readonly options: RedisTierOptions,
    private readonly metrics: CacheMetrics,
    private readonly log: Log,
  ) {
    const common = {
      lazyConnect: true,
      connectTimeout: Math.max(options.timeoutMs, 1000),
      retryStrategy: (times: number) => Math.min(times * 50, options.breakerOpenMs),
    };
    this.client = new Redis(options.url, {
      ...common,
      commandTimeout: options.timeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    this.subscriber = new Redis(options.url, common);
    // Connection errors repeat on every reconnection attempt: counted here, logged once by the breaker.
    this.client.on('error', () => this.metrics.redisErrors.inc());
    this.subscriber.on('error', () => undefined);
    this.channel = `${options.namespace}invalidations`;
    this.breaker = new CircuitBreaker({
      failuresMax: breakerFailuresMax,
      openMs: options.breakerOpenMs,
      now: options.now,
      onChange: (state) => this.breakerChanged(state),
    });
  }

  get state(): BreakerState {
    return this.breaker.state;
  }

  /**
   * Connects; Redis being down does not fail the start (reads go on without it). `onMessage`
   * receives other instances' invalidations; `onResync` runs when the subscription is back after
   * a disconnection, during which messages may have been lost.
   */
  async start(onMessage: (message: InvalidationMessage) => void, onResync: () => void): Promise<void> {
    this.subscriber.on('message', (_channel: string, text: string) => {
      try {
        onMessage(JSON.parse(text) as InvalidationMessage);
      } catch (error) {
        this.log.error({ err: error }, 'cache: an invalidation message could not be read');
      }
    });
    let started = false;
    this.subscriber.on('ready', () => {
      if (this.subscriberReady) return;
      this.subscriberReady = true;
      // A subscription made after the start missed whatever was sent before it.
      if (started) onResync();
    });
    this.subscriber.on('close', () => {
      if (!this.subscriberReady) return;
      this.subscriberReady = false;
      this.log.warn({}, 'cache: lost the Redis subscription; the in-process cache is flushed when it is back');
    });
    await Promise.all([this.connect(this.client), this.connect(this.subscriber)]);
    const subscribed = this.subscriber.subscribe(this.channel).catch((error: unknown) => {
      this.log.warn({ err: error }, 'cache: could not subscribe to invalidations');
    });
    // Without Redis the subscription waits in the subscriber's queue for the connection.
    if (this.subscriber.status === 'ready') await subscribed;
    started = true;
  }

  async get(key: string, guard: string): Promise<RemoteEntry | undefined> {
    const found = await this.call(() => this.client.mget(this.entryKey(key), this.guardKey(guard)));
    if (found === undefined) return undefined;
    const [raw, guarded] = found;
    if (raw === null || raw === undefined) return undefined;
    const entry = parseEntry(raw);
    if (guarded !== null && guarded !== undefined && entry.position < Number(guarded)) return undefined;
    return entry;
  }

  /** Stores the entry unless Redis holds a newer one or a newer write's guard; true when stored. */
  async offer(key: string, guard: string, entry: RemoteEntry, ttlMs: number): Promise<boolean> {
    const stored = await this.call(() =>
      this.client.eval(
        offerScript,
        2,
        this.entryKey(key),
        this.guardKey(guard),
        entry.position,
        `${entry.position}\n${entry.json}`,
        ttlMs,
      ),
    );
    return stored === 1;
  }

  /** Sets the guards of a committed batch and tells every instance, in one script. False: Redis did not take it. */
  async invalidate(message: InvalidationMessage): Promise<boolean> {
    const keys = message.guards.map((guard) => this.guardKey(guard));
    const done = await this.call(() =>
      this.client.eval(
        invalidateScript,
        keys.length,
        ...keys,
        message.position,
        this.options.guardTtlMs,
        this.channel,
        JSON.stringify(message),
      ),
    );
    return done === 1;
  }

  /**
   * The entry when Redis holds a valid one at `minPosition` or later; otherwise the key's load
   * lock: taken (with the token that releases it) or held by another instance. Undefined when
   * Redis is skipped or failed.
   */
  async getOrLock(key: string, guard: string, minPosition: number): Promise<RemoteLookup | undefined> {
    const token = randomUUID();
    const found = await this.call(
      () =>
        this.client.eval(
          getOrLockScript,
          3,
          this.entryKey(key),
          this.guardKey(guard),
          this.lockKey(key),
          minPosition,
          token,
          this.options.lockWaitMs * 2 + 50,
        ) as Promise<[number, string]>,
    );
    if (found === undefined) return undefined;
    const [kind, raw] = found;
    if (kind === 1) return { kind: 'hit', entry: parseEntry(raw) };
    return kind === 2 ? { kind: 'locked', token } : { kind: 'busy' };
  }

  async unlock(key: string, token: string): Promise<void> {
    await this.call(() => this.client.eval(unlockScript, 1, this.lockKey(key), token));
  }

  /** Waits, at most lockWaitMs, for another instance's load of the key to reach Redis. */
  async awaitEntry(key: string, guard: string, minPosition: number): Promise<RemoteEntry | undefined> {
    const deadline = this.options.now() + this.options.lockWaitMs;
    while (this.options.now() < deadline && this.breaker.state === 'closed') {
      await new Promise((resolve) => setTimeout(resolve, lockPollMs));
      const entry = await this.get(key, guard);
      if (entry !== undefined && entry.position >= minPosition) return entry;
    }
    return undefined;
  }

  async close(): Promise<void> {
    this.client.disconnect();
    this.subscriber.disconnect();
  }

  /** The call's result, or undefined when it failed or the breaker skipped Redis. */
  private async call<T>(work: () => Promise<T>): Promise<T | undefined> {
    if (!this.breaker.allow()) return undefined;
    try {
      const result = await work();
      this.breaker.success();
      return result;
    } catch (error) {
      this.metrics.redisErrors.inc();
      const before = this.breaker.state;
      this.breaker.failure();
      if (before === 'closed' && this.breaker.state === 'open') {
        this.log.warn({ err: error }, 'cache: Redis calls keep failing; reads skip Redis until a probe succeeds');
      }
      return undefined;
    }
  }

  private async connect(redis: Redis): Promise<void> {
    try {
      await redis.connect();
    } catch (error) {
      this.log.warn(
        { err: error, url: redactedUrl(this.options.url) },
        'cache: Redis is unreachable; reads go on without it',
      );
    }
  }

  private breakerChanged(state: BreakerState): void {
    this.metrics.breakerState(state);
    if (state === 'closed') this.log.info({}, 'cache: Redis answers again; the breaker is closed');
  }

  private entryKey(key: string): string {
    return `${this.options.namespace}e:${key}`;
  }

  private guardKey(guard: string): string {
    return `${this.options.namespace}g:${guard}`;
  }

  private lockKey(key: string): string {
    return `${this.options.namespace}l:${key}`;
  }
}

function parseEntry(raw: string): RemoteEntry {
  const split = raw.indexOf('\n');
  return { position: Number(raw.slice(0, split)), json: raw.slice(split + 1) };
}

function redactedUrl(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
