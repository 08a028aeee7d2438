// The in-process layer (L1): a bounded map in least-recently-used order, of entries that each
// carry the ledger position they reflect, and of guards: the position of the latest write known
// to have changed a key. An entry older than its guard is gone, and a refill older than the
// guard or than the entry in place is refused, so a slow load can never put back a value that a
// newer write replaced.

export interface Entry<T = unknown> {
  readonly value: T;
  /** The ledger position the value reflects at least. */
  readonly position: number;
  /** Served as a hit until then. */
  readonly freshUntil: number;
  /** Kept until then, to be served when the store limit is full (bounded staleness). */
  readonly staleUntil: number;
  /** The key whose invalidations reach this entry (several entries may share one, such as a location's pages). */
  readonly guard: string;
}

export interface LocalCacheOptions {
  readonly entriesMax: number;
  /** How long a guard is remembered: longer than an entry lives, and than a load may take to be offered. */
  readonly guardTtlMs: number;
  readonly now: () => number;
}

interface Guard {
  readonly position: number;
  readonly until: number;
}

export class LocalCache {
  private readonly entries = new Map<string, Entry>();
  private readonly guards = new Map<string, Guard>();

  constructor(private readonly options: LocalCacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** The entry, fresh or stale, unless a newer write has invalidated it. */
  get<T>(key: string): Entry<T> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const now = this.options.now();
    if (entry.staleUntil <= now || entry.position < this.guardPosition(entry.guard, now)) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry as Entry<T>;
  }

  /**
   * Keeps the entry unless a write newer than it is known (its guard, or a newer entry in place),
   * or its load began so long ago that a guard set since may be forgotten. Returns whether it was kept.
   */
  offer(key: string, entry: Entry, loadStartedAt: number): boolean {
    const now = this.options.now();
    if (now - loadStartedAt >= this.options.guardTtlMs) return false;
    if (entry.position < this.guardPosition(entry.guard, now)) return false;
    const current = this.entries.get(key);
    if (current !== undefined && current.position > entry.position && current.staleUntil > now) return false;
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.options.entriesMax) this.evictOldest(this.entries);
    return true;
  }

  /**
   * A write at `position` changed what `guard` covers: older entries under it are gone. `now` is
   * the clock read once for all the keys of one write (this runs for every write answer).
   */
  invalidate(guard: string, position: number, now: number = this.options.now()): void {
    if (position <= this.guardPosition(guard, now)) return;
    this.guards.delete(guard);
    this.guards.set(guard, { position, until: now + this.options.guardTtlMs });
    if (this.guards.size <= this.options.entriesMax) return;
    // Guards are kept in the order they were set, and all live equally long: the first is the oldest.
    const [oldest, { until }] = this.guards.entries().next().value as [string, Guard];
    this.guards.delete(oldest);
    // A live guard forgotten could let an older entry be served again: forget the entries too.
    if (until > now) this.entries.clear();
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every entry (invalidations may have been missed); guards stay. */
  clear(): void {
    this.entries.clear();
  }

  private guardPosition(guard: string, now: number): number {
    const found = this.guards.get(guard);
    if (found === undefined) return 0;
    if (found.until > now) return found.position;
    this.guards.delete(guard);
    return 0;
  }

  private evictOldest(map: Map<string, unknown>): void {
    const oldest = map.keys().next().value as string;
    map.delete(oldest);
  }
}
