import type { DecideContext } from '../domain/index.js';
import type { Store } from '../store/port.js';
import { type Answer, type PendingCommand, runBatch } from './batch.js';
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

export class InProcessRunner implements BatchRunner {
  private readonly store: Store;
  private readonly itemCache: ItemCache;

  constructor(store: Store, itemCacheMax: number) {
    this.store = store;
    this.itemCache = new ItemCache(itemCacheMax);
  }

  run(batch: readonly PendingCommand[], context: DecideContext): Promise<Answer[]> {
    return this.store.writeTransaction((session) => runBatch(session, batch, context, this.itemCache));
  }

  async close(): Promise<void> {}
}
