import type { Item } from '../domain/index.js';
import type { WriteSession } from '../store/port.js';

/**
 * Items known to this engine. An item never changes or disappears once registered, so a cached
 * one is never stale, whichever instance registered it; a batch whose SKUs are all known skips
 * the catalogue query. Bounded by `itemCacheMax`: when full it starts over.
 */
export class ItemCache {
  private readonly items = new Map<string, Item>();
  private readonly itemCacheMax: number;

  constructor(itemCacheMax: number) {
    this.itemCacheMax = itemCacheMax;
  }

  /** The items among `skus`, from the cache and, for any not cached, from the session. */
  async load(session: WriteSession, skus: readonly string[]): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    const missing: string[] = [];
    for (const sku of skus) {
      const item = this.items.get(sku);
      if (item === undefined) missing.push(sku);
      else found.set(sku, item);
    }
    if (missing.length === 0) return found;
    for (const [sku, item] of await session.loadItems(missing)) {
      found.set(sku, item);
      this.remember(item);
    }
    return found;
  }

  remember(item: Item): void {
    if (this.items.size >= this.itemCacheMax) this.items.clear();
    this.items.set(item.sku, item);
  }
}
