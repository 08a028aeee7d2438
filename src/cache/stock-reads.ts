import type { Item, Level } from '../domain/index.js';
import type { StoreReads } from '../store/port.js';

// The stock reads the API serves (an item's stock, a location's page), as a port of their own:
// straight from the store, or through the tiered cache (tiered-stock-reads.ts). Either way a read
// never decides anything: reservations and every write are decided by the engine under locks.

/** An item's levels in every location; `item` is undefined when no such item is registered. */
export interface ItemStock {
  readonly item: Item | undefined;
  readonly levels: readonly Level[];
}

export type CacheMode = 'off' | 'local' | 'redis';

/** How the read path stands, for /readyz. */
export interface ReadPathState {
  readonly cache: CacheMode;
  /** `down`: the breaker is open and reads skip Redis; `none`: no Redis is used. */
  readonly redis: 'up' | 'down' | 'none';
  /** Reads skip Redis, or stale values were served lately because the store limit was full. */
  readonly degraded: boolean;
}

export interface StockReads {
  /** `minPosition`: served only from data that reflects at least this ledger position. */
  itemStock(sku: string, minPosition?: number): Promise<ItemStock>;
  locationStock(
    location: string,
    after: string | undefined,
    limit: number,
    minPosition?: number,
  ): Promise<readonly Level[]>;
  state(): ReadPathState;
}

/**
 * Reads from the store itself. A write is answered after its commit, so the store already holds
 * every position a client was given: `minPosition` is met without looking at it.
 */
export class StoreStockReads implements StockReads {
  constructor(private readonly store: Pick<StoreReads, 'itemStockAt' | 'locationLevels'>) {}

  async itemStock(sku: string): Promise<ItemStock> {
    return (await this.store.itemStockAt(sku)).value;
  }

  locationStock(location: string, after: string | undefined, limit: number): Promise<readonly Level[]> {
    return this.store.locationLevels(location, after, limit);
  }

  state(): ReadPathState {
    return { cache: 'off', redis: 'none', degraded: false };
  }
}
