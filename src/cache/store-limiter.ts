import { StoreError } from '../store/port.js';

// The cache's bound on store reads in flight at once: it keeps the database alive when every
// read misses (a dead Redis, a cold start). A read over the bound is served a recent stale value
// by the cache when it has one, or waits here; waiters are bounded too.

export class StoreLimiter {
  private active = 0;
  private peak = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(
    readonly concurrencyMax: number,
    readonly waitersMax: number,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  /** The most reads in flight at once so far. */
  get inFlightPeak(): number {
    return this.peak;
  }

  tryAcquire(): boolean {
    if (this.active >= this.concurrencyMax) return false;
    this.active += 1;
    if (this.active > this.peak) this.peak = this.active;
    return true;
  }

  /** Waits for a slot; refuses (UNAVAILABLE) when `waitersMax` reads wait already. */
  async acquire(): Promise<void> {
    if (this.tryAcquire()) return;
    if (this.waiters.length >= this.waitersMax) {
      throw new StoreError('unavailable', `${this.waitersMax} stock reads are waiting for the store already`, {
        code: 'READ_LIMIT',
      });
    }
    // A released slot passes to the first waiter directly, so `active` never exceeds the bound.
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next === undefined) this.active -= 1;
    else next();
  }
}
