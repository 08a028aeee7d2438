import { Redis } from 'ioredis';
import { type DecideContext, levelKey, type Reservation } from '../domain/index.js';
import type { Log } from '../log.js';
import { StartupError } from '../startup-error.js';
import { conflictError, type Store, StoreError } from '../store/port.js';
import { type PendingCommand, referencedReservations, touchedLevels } from './batch.js';
import type { BatchRunner, InProcessRunner } from './batch-runner.js';
import type { Answer } from './executor.js';
import { type HeldLock, RedisLocks } from './redis-lock.js';

export interface RedlockOptions {
  readonly redisUrl: string;
  /** How long a lock holds if its holder stalls; the fence makes a stale holder harmless. */
  readonly lockTtlMs: number;
  /** Attempts to take a contended lock before the command counts as a conflict. */
  readonly acquireAttemptsMax: number;
  /** Where locks that could not be released, or expired before their transaction ended, are reported. */
  readonly log: Log;
}

const fenceKey = 'skuld:fence';

/**
 * The distributed-lock write path: before its transaction, each command takes Redis locks on
 * every level it touches (one atomic acquisition of the sorted keys, so no holder ever waits
 * while holding part of them) and, with them, a fencing token: a counter every acquisition
 * increments. The transaction reads the levels without row locks and writes them only if their
 * version is still the one read and their fence is older than its token, so a holder whose lock
 * expired while it stalled cannot overwrite a newer holder's write.
 */
export class RedlockRunner implements BatchRunner {
  private readonly redis: Redis;
  private readonly locks: RedisLocks;
  private readonly inner: InProcessRunner;
  private readonly store: Store;
  private readonly options: RedlockOptions;

  private constructor(redis: Redis, inner: InProcessRunner, store: Store, options: RedlockOptions) {
    this.redis = redis;
    this.inner = inner;
    this.store = store;
    this.options = options;
    this.locks = new RedisLocks(redis, {
      fenceKey,
      acquireAttemptsMax: options.acquireAttemptsMax,
      retryDelayMs: 2,
      retryJitterMs: 4,
    });
  }

  /** Connects to Redis; refuses to start, naming it, when it does not answer. */
  static async start(inner: InProcessRunner, store: Store, options: RedlockOptions): Promise<RedlockRunner> {
    const redis = new Redis(options.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
    });
    // Errors surface through each command's answer; the client must not crash the process.
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      throw new StartupError(
        'REDIS_UNREACHABLE',
        `Redis is unreachable at ${options.redisUrl} (${(error as Error).message}): the redlock strategy needs it`,
        { cause: error },
      );
    }
    return new RedlockRunner(redis, inner, store, options);
  }

  async run(batch: readonly PendingCommand[], context: DecideContext): Promise<Answer[]> {
    if (this.redis.status !== 'ready') {
      throw new StoreError('unavailable', `Redis is not connected (${this.redis.status}): no write without its lock`);
    }
    const keys = (await this.levelsOf(batch)).map((key) => `skuld:level:${key}`);
    const lock = await this.acquire(keys);
    try {
      return await this.inner.run(batch, context, { kind: 'version', fence: lock.fence });
    } finally {
      await this.release(lock);
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private async acquire(keys: readonly string[]): Promise<HeldLock> {
    let lock: HeldLock | undefined;
    try {
      lock = await this.locks.acquire(keys, this.options.lockTtlMs);
    } catch (error) {
      if (this.redis.status !== 'ready') {
        throw new StoreError('unavailable', `Redis went away while locking: ${(error as Error).message}`, {
          cause: error,
        });
      }
      throw conflictError('lock_timeout', `could not lock ${keys.length} levels: ${(error as Error).message}`, {
        cause: error,
        code: 'LOCK_FAILED',
      });
    }
    if (lock === undefined) {
      const attempts = this.options.acquireAttemptsMax;
      throw conflictError('lock_timeout', `${keys.length} levels stayed locked through ${attempts} attempts`, {
        code: 'LOCK_BUSY',
      });
    }
    return lock;
  }

  /**
   * The transaction has ended, so its answers stand whatever happens here: a lock that cannot be
   * released expires after its TTL (its levels wait until then), and one that expired early was
   * fenced. Both are reported, never thrown.
   */
  private async release(lock: HeldLock): Promise<void> {
    try {
      if (!(await this.locks.release(lock))) {
        this.options.log.warn(
          { keys: lock.keys.length, lockTtlMs: this.options.lockTtlMs },
          'a Redis lock expired before its transaction ended (the fence kept its writes safe); consider a longer SKULD_REDLOCK_TTL_MS',
        );
      }
    } catch (error) {
      this.options.log.error(
        { keys: lock.keys.length, err: error },
        'a Redis lock could not be released: it expires after its TTL',
      );
    }
  }

  /** Level keys the commands touch, in global order; a reservation's lines never change, so read ahead. */
  private async levelsOf(batch: readonly PendingCommand[]): Promise<string[]> {
    const reservations = new Map<string, Reservation>();
    for (const id of referencedReservations(batch)) {
      const reservation = await this.store.getReservation(id);
      if (reservation !== undefined) reservations.set(id, reservation);
    }
    return touchedLevels(batch, reservations).map((ref) => levelKey(ref.sku, ref.location));
  }
}
