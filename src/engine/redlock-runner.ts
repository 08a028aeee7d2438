import { Redis } from 'ioredis';
import Redlock, { ExecutionError } from 'redlock';
import { type DecideContext, levelKey, type Reservation } from '../domain/index.js';
import { type Store, StoreError } from '../store/port.js';
import { type Answer, type PendingCommand, referencedReservations, touchedLevels } from './batch.js';
import type { BatchRunner, InProcessRunner } from './batch-runner.js';

export interface RedlockOptions {
  readonly redisUrl: string;
  /** How long a lock holds if its holder stalls; the fence makes a stale holder harmless. */
  readonly lockTtlMs: number;
  /** Attempts to take a contended lock before the command counts as a conflict. */
  readonly acquireAttemptsMax: number;
}

const fenceKey = 'skuld:fence';

/**
 * The distributed-lock write path: before its transaction, each command takes Redis locks on
 * every level it touches (Redlock, one atomic acquisition of the sorted keys, so no holder ever
 * waits while holding part of them), then a fencing token: a counter every acquisition
 * increments. The transaction reads the levels without row locks and writes them only if their
 * version is still the one read and their fence is older than its token, so a holder whose lock
 * expired while it stalled cannot overwrite a newer holder's write.
 */
export class RedlockRunner implements BatchRunner {
  private readonly redis: Redis;
  private readonly redlock: Redlock;
  private readonly inner: InProcessRunner;
  private readonly store: Store;
  private readonly options: RedlockOptions;

  private constructor(redis: Redis, inner: InProcessRunner, store: Store, options: RedlockOptions) {
    this.redis = redis;
    this.inner = inner;
    this.store = store;
    this.options = options;
    this.redlock = new Redlock([redis], {
      retryCount: options.acquireAttemptsMax,
      retryDelay: 2,
      retryJitter: 4,
    });
    // Errors surface through each command's answer; the client must not crash the process.
    redis.on('error', () => undefined);
  }

  /** Connects to Redis; refuses to start, naming it, when it does not answer. */
  static async start(inner: InProcessRunner, store: Store, options: RedlockOptions): Promise<RedlockRunner> {
    const redis = new Redis(options.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      throw new Error(
        `Redis is unreachable at ${options.redisUrl} (${(error as Error).message}): the redlock strategy needs it`,
      );
    }
    return new RedlockRunner(redis, inner, store, options);
  }

  async run(batch: readonly PendingCommand[], context: DecideContext): Promise<Answer[]> {
    if (this.redis.status !== 'ready') {
      throw new StoreError('unavailable', `Redis is not connected (${this.redis.status}): no write without its lock`);
    }
    const resources = (await this.levelsOf(batch)).map((key) => `skuld:level:${key}`);
    const lock = await this.acquire(resources);
    try {
      const fence = await this.redis.incr(fenceKey);
      return await this.inner.run(batch, context, { kind: 'version', fence });
    } finally {
      await lock?.release().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private async acquire(resources: string[]) {
    if (resources.length === 0) return undefined;
    try {
      return await this.redlock.acquire(resources, this.options.lockTtlMs);
    } catch (error) {
      if (this.redis.status !== 'ready') {
        throw new StoreError('unavailable', `Redis went away while locking: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const code = error instanceof ExecutionError ? 'LOCK_BUSY' : 'LOCK_FAILED';
      throw new StoreError('conflict', `could not lock ${resources.length} levels: ${(error as Error).message}`, {
        cause: error,
        code,
      });
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
