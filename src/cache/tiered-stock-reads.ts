import { randomUUID } from 'node:crypto';
import type { Item, Level } from '../domain/index.js';
import type { Answer } from '../engine/executor.js';
import type { Log } from '../log.js';
import type { StoreReads } from '../store/port.js';
import { BloomFilter } from './bloom-filter.js';
import { itemKey, locationGuard, pageKey, touchedBy } from './cache-keys.js';
import type { CacheMetrics } from './cache-metrics.js';
import type { CommitListener } from './invalidating-executor.js';
import { type Entry, LocalCache } from './local-cache.js';
import type { InvalidationMessage, RedisTier, RemoteEntry } from './redis-tier.js';
import { RegisteredItems } from './registered-items.js';
import type { ItemStock, ReadPathState, StockReads } from './stock-reads.js';
import type { StoreLimiter } from './store-limiter.js';

// The read cache: L1 in this process, then L2 in Redis (when configured), then the store. A read
// is loaded once per process (single-flight) and, with Redis, once across instances (a short
// lock the others wait on). SKUs never registered stop at a bloom filter; a short negative entry
// covers its false positives. Every value carries the ledger position it reflects at least (the
// head read before the value), which is what `minPosition` and invalidations compare against.

export interface TieredOptions {
  readonly l1TtlMs: number;
  readonly l2TtlMs: number;
  readonly jitterPercent: number;
  readonly negativeTtlMs: number;
  readonly staleMaxMs: number;
  readonly bloomFalsePositiveRate: number;
  readonly entriesMax: number;
  readonly now: () => number;
  readonly random: () => number;
}

type CachedStore = Pick<StoreReads, 'itemStockAt' | 'locationLevelsAt' | 'headPosition' | 'listItems'>;

/** What is cached of an item's stock: JSON-safe, so L2 holds it as it is. */
interface ItemStockValue {
  readonly item: Item | null;
  readonly levels: readonly Level[];
}

interface Loaded<T> {
  readonly value: T;
  readonly position: number;
}

interface PendingInvalidation {
  position: number;
  readonly guards: Set<string>;
  readonly registered: string[];
}

/** A read no fresh L1 entry answered: what to load, and the entry L1 still holds, if any. */
interface Miss<T> {
  readonly key: string;
  readonly guard: string;
  /** The position the value must reflect at least (0: any). */
  readonly min: number;
  readonly load: () => Promise<Loaded<T>>;
  readonly stale: Entry<T> | undefined;
}

interface Flight {
  readonly guard: string;
  readonly promise: Promise<unknown>;
}

/** Items read per page while the bloom filter is built. */
const bloomPageSize = 1000;
/** The filter is sized for twice the items it starts with, and at least this many. */
const bloomCapacityMin = 10_000;
/**
 * How often the filter is built again from the store: it learns of items registered through
 * other instances from their invalidations, which Redis pub/sub may lose, and which an
 * instance without Redis never hears.
 */
const bloomRebuildIntervalMs = 30_000;
/** Guards not yet sent to Redis (it was down) kept for the next batch's message; beyond it they are dropped. */
const unsentGuardsMax = 10_000;
/** How long /readyz reports degraded after a stale value was served. */
const degradedShownMs = 5000;

export class TieredStockReads implements StockReads, CommitListener {
  private readonly local: LocalCache;
  private readonly registeredLately: RegisteredItems;
  private readonly flights = new Map<string, Flight>();
  private readonly origin = randomUUID();
  private bloom: BloomFilter | undefined;
  /** The head when the filter's build began: it holds every item registered up to there. */
  private bloomPosition = 0;
  /** SKUs registered while a build reads the items, added to the new filter. */
  private registeredDuringBuild: Set<string> | undefined;
  private bloomTimer: NodeJS.Timeout | undefined;
  private pending: PendingInvalidation | undefined;
  private publishScheduled = false;
  private degradedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: CachedStore,
    private readonly redis: RedisTier | undefined,
    private readonly limiter: StoreLimiter,
    private readonly metrics: CacheMetrics,
    private readonly log: Log,
    private readonly options: TieredOptions,
  ) {
    const guardTtlMs = TieredStockReads.guardTtlMs(options);
    this.local = new LocalCache({ entriesMax: options.entriesMax, guardTtlMs, now: options.now });
    this.registeredLately = new RegisteredItems({
      keptMs: guardTtlMs,
      entriesMax: options.entriesMax,
      now: options.now,
    });
  }

  /** How long a guard lasts, here and in Redis: longer than every entry older than it, and than any load offered under it. */
  static guardTtlMs(options: Pick<TieredOptions, 'l1TtlMs' | 'l2TtlMs' | 'staleMaxMs'>): number {
    return 2 * (Math.max(options.l1TtlMs, options.l2TtlMs) + options.staleMaxMs) + 60_000;
  }

  async start(): Promise<void> {
    await this.buildBloom();
    this.bloomTimer = setInterval(() => this.rebuildInBackground(), bloomRebuildIntervalMs);
    this.bloomTimer.unref();
    await this.redis?.start(
      (message) => this.received(message),
      () => this.resync(),
    );
  }

  async close(): Promise<void> {
    clearInterval(this.bloomTimer);
    await this.redis?.close();
  }

  async itemStock(sku: string, minPosition?: number): Promise<ItemStock> {
    // A read asking for a position the filter may not cover yet passes it: the negative entry stops repeats.
    const filtered = minPosition === undefined || minPosition <= this.bloomPosition;
    if (filtered && this.bloom !== undefined && !this.bloom.has(sku)) {
      this.metrics.bloomRejections.inc();
      return { item: undefined, levels: [] };
    }
    const key = itemKey(sku);
    const value = await this.read<ItemStockValue>(key, key, minPosition, () => this.loadItem(sku));
    return { item: value.item ?? undefined, levels: value.levels };
  }

  locationStock(
    location: string,
    after: string | undefined,
    limit: number,
    minPosition?: number,
  ): Promise<readonly Level[]> {
    const load = (): Promise<Loaded<readonly Level[]>> => this.store.locationLevelsAt(location, after, limit);
    return this.read(pageKey(location, after, limit), locationGuard(location), minPosition, load);
  }

  state(): ReadPathState {
    if (this.redis === undefined) {
      return { cache: 'local', redis: 'none', degraded: this.options.now() - this.degradedAt < degradedShownMs };
    }
    const down = this.redis.state !== 'closed';
    const degraded = down || this.options.now() - this.degradedAt < degradedShownMs;
    return { cache: 'redis', redis: down ? 'down' : 'up', degraded };
  }

  /** A committed command: its keys are invalidated here at once, and in Redis and the other instances with its batch. */
  committed(answer: Answer): void {
    if (!answer.outcome.ok) return;
    const { position, value } = answer.outcome;
    const guards = new Set<string>();
    const registered = touchedBy(value, guards);
    this.apply(position, guards, registered === undefined ? [] : [registered]);
    if (this.redis === undefined) return;
    this.enqueue(position, guards, registered === undefined ? [] : [registered]);
    if (this.publishScheduled) return;
    // A batch's answers arrive together: one message for all of them.
    this.publishScheduled = true;
    queueMicrotask(() => {
      this.publishScheduled = false;
      this.publish().catch((error: unknown) => this.log.error({ err: error }, 'cache: invalidations not sent'));
    });
  }

  /** Adds to the next message (at the latest position of what it holds, which only invalidates more). */
  private enqueue(position: number, guards: Iterable<string>, registered: readonly string[]): void {
    this.pending ??= { position, guards: new Set(), registered: [] };
    this.pending.position = Math.max(this.pending.position, position);
    for (const guard of guards) this.pending.guards.add(guard);
    this.pending.registered.push(...registered);
  }

  private async read<T>(
    key: string,
    guard: string,
    minPosition: number | undefined,
    load: () => Promise<Loaded<T>>,
  ): Promise<T> {
    const min = minPosition ?? 0;
    const held = this.local.get<T>(key);
    if (held !== undefined && held.freshUntil > this.options.now() && held.position >= min) {
      this.metrics.l1Hits.inc();
      return held.value;
    }
    this.metrics.l1Misses.inc();
    const miss: Miss<T> = { key, guard, min, load, stale: held };
    // A read with a position waits for no load that may have begun before that position.
    if (minPosition !== undefined) return this.fill(miss);
    const joined = this.flights.get(key);
    if (joined !== undefined) {
      this.metrics.processJoins.inc();
      return joined.promise as Promise<T>;
    }
    const promise = this.fill(miss);
    const flight = { guard, promise };
    this.flights.set(key, flight);
    const landed = () => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    promise.then(landed, landed);
    return promise;
  }

  private async fill<T>(miss: Miss<T>): Promise<T> {
    const redis = this.redis;
    if (redis === undefined) return this.fromStore(miss);
    const found = await redis.getOrLock(miss.key, miss.guard, miss.min);
    if (found?.kind === 'hit') {
      this.metrics.l2Hits.inc();
      return this.keepRemote(miss, found.entry);
    }
    this.metrics.l2Misses.inc();
    if (found === undefined) return this.fromStore(miss);
    if (found.kind === 'busy') {
      // Another instance loads it: wait for its value, or time out to the store (under the limit).
      const awaited = await redis.awaitEntry(miss.key, miss.guard, miss.min);
      if (awaited === undefined) return this.fromStore(miss);
      this.metrics.instanceJoins.inc();
      return this.keepRemote(miss, awaited);
    }
    try {
      return await this.fromStore(miss);
    } finally {
      // Not awaited: the value is in Redis already (fromStore awaited its offer), and a failure is counted there.
      void redis.unlock(miss.key, found.token);
    }
  }

  private keepRemote<T>(miss: Miss<T>, found: RemoteEntry): T {
    return this.keep(miss.key, miss.guard, JSON.parse(found.json) as T, found.position, this.options.now());
  }

  private async fromStore<T>({ key, guard, min, load, stale }: Miss<T>): Promise<T> {
    if (!this.limiter.tryAcquire()) {
      if (stale !== undefined && stale.position >= min) {
        this.metrics.degradedReads.inc();
        this.degradedAt = this.options.now();
        return stale.value;
      }
      await this.limiter.acquire();
    }
    const startedAt = this.options.now();
    let loaded: Loaded<T>;
    try {
      this.metrics.storeLoads.inc();
      loaded = await load();
    } finally {
      this.limiter.release();
    }
    const kept = this.keep(key, guard, loaded.value, loaded.position, startedAt);
    // Negative values stay in this process (short-lived, and dropped at once when the item is registered).
    const shared =
      !isNegative(loaded.value) && this.options.now() - startedAt < TieredStockReads.guardTtlMs(this.options);
    if (this.redis !== undefined && shared) {
      const json = JSON.stringify(loaded.value);
      await this.redis.offer(key, guard, { position: loaded.position, json }, this.ttl(this.options.l2TtlMs, kept));
    }
    return kept;
  }

  /** Offers a value to L1 (refused when a newer write invalidated its key meanwhile) and returns it. */
  private keep<T>(key: string, guard: string, value: T, position: number, loadStartedAt: number): T {
    if (isNegative(value) && this.registeredLately.has(key)) {
      this.metrics.refusedRefills.inc();
      return value;
    }
    const now = this.options.now();
    const freshUntil = now + this.ttl(this.options.l1TtlMs, value);
    const entry: Entry<T> = { value, position, freshUntil, staleUntil: freshUntil + this.options.staleMaxMs, guard };
    if (!this.local.offer(key, entry, loadStartedAt)) this.metrics.refusedRefills.inc();
    return value;
  }

  /** A jittered TTL: the negative one for an item that is not registered. */
  private ttl(ttlMs: number, value: unknown): number {
    const base = isNegative(value) ? Math.min(ttlMs, this.options.negativeTtlMs) : ttlMs;
    const spread = (this.options.random() * 2 - 1) * (this.options.jitterPercent / 100);
    return Math.max(1, Math.round(base * (1 + spread)));
  }

  /** One store query: the item, its levels and the position they reflect, in one snapshot. */
  private async loadItem(sku: string): Promise<Loaded<ItemStockValue>> {
    const { position, value } = await this.store.itemStockAt(sku);
    return { position, value: { item: value.item ?? null, levels: value.levels } };
  }

  private apply(position: number, guards: Iterable<string>, registered: readonly string[]): void {
    for (const sku of registered) this.registered(sku);
    const now = this.options.now();
    for (const guard of guards) this.local.invalidate(guard, position, now);
    // A load in flight may have read before this write: later reads must not join it.
    if (this.flights.size === 0) return;
    const reached = new Set(guards);
    for (const [key, flight] of this.flights) if (reached.has(flight.guard)) this.flights.delete(key);
  }

  private received(message: InvalidationMessage): void {
    if (message.origin === this.origin) return;
    this.metrics.invalidationsReceived.inc();
    this.apply(message.position, message.guards, message.registered);
  }

  private async publish(): Promise<void> {
    const batch = this.pending;
    this.pending = undefined;
    if (batch === undefined || this.redis === undefined) return;
    const message: InvalidationMessage = {
      origin: this.origin,
      position: batch.position,
      guards: [...batch.guards],
      registered: batch.registered,
    };
    if (await this.redis.invalidate(message)) {
      this.metrics.invalidationsSent.inc();
      return;
    }
    // Redis did not take it: the next batch's message carries these too.
    const waiting = (this.pending as PendingInvalidation | undefined)?.guards.size ?? 0;
    if (batch.guards.size + waiting > unsentGuardsMax) {
      this.log.error(
        { guards: batch.guards.size, position: batch.position },
        'cache: invalidations could not reach Redis and too many are waiting; other instances see them when their entries expire',
      );
      return;
    }
    this.enqueue(batch.position, batch.guards, batch.registered);
  }

  /** The subscription is back after messages may have been lost: forget L1 and learn the items again. */
  private resync(): void {
    this.metrics.flushes.inc();
    this.local.clear();
    this.flights.clear();
    this.rebuildInBackground();
  }

  private registered(sku: string): void {
    const key = itemKey(sku);
    this.registeredLately.add(key);
    this.local.delete(key);
    this.flights.delete(key);
    this.registeredDuringBuild?.add(sku);
    if (this.bloom === undefined) return;
    this.bloom.add(sku);
    if (this.bloom.full) this.rebuildInBackground();
  }

  private rebuildInBackground(): void {
    this.buildBloom().catch((error: unknown) => {
      this.log.error({ err: error }, 'cache: the item bloom filter could not be rebuilt; the previous one stays');
    });
  }

  private async buildBloom(): Promise<void> {
    if (this.registeredDuringBuild !== undefined) return;
    const registered = new Set<string>();
    this.registeredDuringBuild = registered;
    try {
      const position = await this.store.headPosition();
      const skus: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await this.store.listItems(after, bloomPageSize);
        for (const item of page) skus.push(item.sku);
        if (page.length < bloomPageSize) break;
        after = page[page.length - 1]?.sku;
      }
      const capacity = Math.max(bloomCapacityMin, 2 * (skus.length + registered.size));
      const filter = new BloomFilter(capacity, this.options.bloomFalsePositiveRate);
      for (const sku of skus) filter.add(sku);
      for (const sku of registered) filter.add(sku);
      this.bloom = filter;
      this.bloomPosition = position;
    } finally {
      this.registeredDuringBuild = undefined;
    }
  }
}

/** "No such item": an item's stock read for a SKU that is not registered. */
function isNegative(value: unknown): boolean {
  return (value as Partial<ItemStockValue>).item === null;
}
