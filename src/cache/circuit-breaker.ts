// A circuit breaker for the cache's Redis calls. It opens on either of two signs that Redis is
// not serving: `failuresMax` failures in a row (errors or timeouts: a Redis that is gone fails
// every call, and waiting for a rate over a window would send it several more), or a failure
// rate of at least `errorRateMax` over the last `windowMs`, once that window holds `volumeMin`
// calls (a Redis that is slow or half there fails some calls between successes, which the run
// alone never counts). Once open, every call skips Redis; after `openMs` one call probes it
// (half-open): its success closes the breaker with a fresh window, its failure opens it again.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  readonly failuresMax: number;
  readonly openMs: number;
  readonly now: () => number;
  readonly onChange: (state: BreakerState) => void;
  /** The rate of failures over the window that opens the breaker (0 to 1). */
  readonly errorRateMax?: number;
  readonly windowMs?: number;
  /** Calls the window must hold before its rate counts: two failures of three are no sign. */
  readonly volumeMin?: number;
}

export const breakerDefaults = { errorRateMax: 0.5, windowMs: 10_000, volumeMin: 20 } as const;

/** The window is kept in this many slices, each counting its calls and failures. */
const windowSlices = 10;

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private readonly errorRateMax: number;
  private readonly sliceMs: number;
  private readonly volumeMin: number;
  /** Per slice: its start (a multiple of sliceMs), its calls and its failures. */
  private readonly slices = Array.from({ length: windowSlices }, () => ({ start: -1, calls: 0, failures: 0 }));

  constructor(private readonly options: BreakerOptions) {
    this.errorRateMax = options.errorRateMax ?? breakerDefaults.errorRateMax;
    this.sliceMs = Math.max(1, Math.floor((options.windowMs ?? breakerDefaults.windowMs) / windowSlices));
    this.volumeMin = options.volumeMin ?? breakerDefaults.volumeMin;
  }

  get state(): BreakerState {
    return this.current;
  }

  /** Whether a call may go to Redis now; while half-open, one call at a time probes it. */
  allow(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open') {
      if (this.options.now() - this.openedAt < this.options.openMs) return false;
      this.change('half-open');
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    if (this.current === 'closed') {
      this.count(false);
      return;
    }
    this.probing = false;
    this.forget();
    this.change('closed');
  }

  failure(): void {
    this.probing = false;
    this.failures += 1;
    if (this.current === 'closed') this.count(true);
    if (this.current === 'half-open' || (this.current === 'closed' && this.tripped())) {
      this.openedAt = this.options.now();
      this.change('open');
    }
  }

  /** Calls and failures over the window now. */
  window(): { calls: number; failures: number } {
    const oldest = this.sliceStart(this.options.now()) - (windowSlices - 1) * this.sliceMs;
    let calls = 0;
    let failures = 0;
    for (const slice of this.slices) {
      if (slice.start < oldest) continue;
      calls += slice.calls;
      failures += slice.failures;
    }
    return { calls, failures };
  }

  private tripped(): boolean {
    if (this.failures >= this.options.failuresMax) return true;
    const { calls, failures } = this.window();
    return calls >= this.volumeMin && failures >= calls * this.errorRateMax;
  }

  private count(failed: boolean): void {
    const start = this.sliceStart(this.options.now());
    const slice = this.slices[(start / this.sliceMs) % windowSlices] as (typeof this.slices)[number];
    if (slice.start !== start) {
      slice.start = start;
      slice.calls = 0;
      slice.failures = 0;
    }
    slice.calls += 1;
    if (failed) slice.failures += 1;
  }

  private sliceStart(at: number): number {
    return at - (at % this.sliceMs);
  }

  private forget(): void {
    for (const slice of this.slices) slice.start = -1;
  }

  private change(state: BreakerState): void {
    this.current = state;
    this.options.onChange(state);
  }
}
