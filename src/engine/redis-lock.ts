import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

// Locks on one Redis server: each key is set to the holder's token with `SET key token NX PX ttl`,
// so a stalled holder's keys expire by themselves, and only the token's holder can release or
// extend them (compare-and-delete, compare-and-pexpire). A lock covers several keys, taken all or
// none in one script, so no holder ever waits while holding part of what it needs. Each lock
// taken also draws a fencing token from a counter in the same script: a holder whose keys
// expired while it stalled is told apart from the next holder by its older token, which the store
// refuses (see LevelGuard in store/port.ts). On one server there is no quorum to gather, which is
// all Redlock adds.

/** Keys 2… are the lock's, key 1 the fence counter; ARGV: token, TTL in ms. Answers the fence, or 0 when busy. */
const acquireLua = `
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2])
end
return redis.call('INCR', KEYS[1])`;

/** Deletes each key that still holds the token; answers how many did. */
const releaseLua = `
local count = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    count = count + 1
  end
end
return count`;

/** Sets a new TTL on each key that still holds the token; answers how many did. */
const extendLua = `
local count = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
    count = count + 1
  end
end
return count`;

interface Script {
  readonly lua: string;
  readonly sha: string;
}

const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });
const acquireScript = script(acquireLua);
const releaseScript = script(releaseLua);
const extendScript = script(extendLua);

export interface RedisLockOptions {
  /** The counter every acquisition increments: its value is the lock's fencing token. */
  readonly fenceKey: string;
  /** Attempts to take a contended lock before giving up. */
  readonly acquireAttemptsMax: number;
  /** Pause between attempts: the base, plus up to the jitter at random so waiters do not march in step. */
  readonly retryDelayMs: number;
  readonly retryJitterMs: number;
}

export interface HeldLock {
  readonly keys: readonly string[];
  /** Proves the holder: only it can release or extend the keys. */
  readonly token: string;
  /** Grows with every lock taken: a later holder's fence is larger. */
  readonly fence: number;
}

export class RedisLocks {
  private readonly redis: Redis;
  private readonly options: RedisLockOptions;

  constructor(redis: Redis, options: RedisLockOptions) {
    this.redis = redis;
    this.options = options;
  }

  /**
   * Takes every key for ttlMs, or none; answers undefined when some key is still held by another
   * after acquireAttemptsMax attempts. Errors of Redis itself are thrown.
   */
  async acquire(keys: readonly string[], ttlMs: number): Promise<HeldLock | undefined> {
    const token = randomUUID();
    for (let attempt = 1; attempt <= this.options.acquireAttemptsMax; attempt += 1) {
      const fence = Number(await this.eval(acquireScript, [this.options.fenceKey, ...keys], [token, ttlMs]));
      if (fence > 0) return { keys, token, fence };
      if (attempt < this.options.acquireAttemptsMax) await sleep(this.retryDelayMs());
    }
    return undefined;
  }

  /** Deletes the keys the lock still holds; false if some had expired (and may be another's now). */
  async release(lock: HeldLock): Promise<boolean> {
    // A command that touches no level (registering an item) holds only its fence.
    if (lock.keys.length === 0) return true;
    return Number(await this.eval(releaseScript, lock.keys, [lock.token])) === lock.keys.length;
  }

  /** Gives the keys the lock still holds a new TTL; false if some had expired (and may be another's now). */
  async extend(lock: HeldLock, ttlMs: number): Promise<boolean> {
    return Number(await this.eval(extendScript, lock.keys, [lock.token, ttlMs])) === lock.keys.length;
  }

  private retryDelayMs(): number {
    return this.options.retryDelayMs + Math.random() * this.options.retryJitterMs;
  }

  /** Runs a script by its hash, sending its text only when the server does not have it yet. */
  private async eval(script: Script, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return this.redis.eval(script.lua, keys.length, ...keys, ...args);
    }
  }
}
