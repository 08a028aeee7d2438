import type { DecideContext } from '../domain/index.js';
import { type LevelGuard, type Store, StoreError, staleLevelCode } from '../store/port.js';
import { type PendingCommand, runBatch } from './batch.js';
import type { Answer } from './executor.js';
import { ItemCache } from './item-cache.js';

/**
 * Runs one batch as one write transaction. It throws only StoreError (a `conflict` is retried
 * by the engine). Write paths that wrap the transaction (a lock service, another thread) are
 * runners of their own.
 */
export interface BatchRunner {
  run(batch: readonly PendingCommand[], context: DecideContext): Promise<Answer[]>;
  close(): Promise<void>;
}

/** Runs each batch in one transaction of the store, its levels held as `guard` says. */
export class InProcessRunner implements BatchRunner {
  private readonly store: Store;
  private readonly itemCache: ItemCache;
  private readonly guard: LevelGuard;

  constructor(store: Store, itemCacheMax: number, guard: LevelGuard = { kind: 'locked' }) {
    this.store = store;
    this.itemCache = new ItemCache(itemCacheMax);
    this.guard = guard;
  }

  async run(batch: readonly PendingCommand[], context: DecideContext, guard = this.guard): Promise<Answer[]> {
    try {
      return await this.store.writeTransaction((session) => runBatch(session, batch, context, this.itemCache, guard));
    } catch (error) {
      // Under row locks a level cannot change behind the transaction's back: a miss is a bug.
      if (guard.kind === 'locked' && error instanceof StoreError && error.code === staleLevelCode) {
        throw new StoreError('internal', error.message, { cause: error });
      }
      throw error;
    }
  }

  async close(): Promise<void> {}
}
