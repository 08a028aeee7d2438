// A circuit breaker for the cache's Redis calls: after `failuresMax` failures in a row (errors or
// timeouts) it opens and every call skips Redis; after `openMs` one call probes it (half-open), and
// its success closes the breaker, its failure opens it again.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  readonly failuresMax: number;
  readonly openMs: number;
  readonly now: () => number;
  readonly onChange: (state: BreakerState) => void;
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;

  constructor(private readonly options: BreakerOptions) {}

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
    if (this.current === 'closed') return;
    this.probing = false;
    this.change('closed');
  }

  failure(): void {
    this.probing = false;
    this.failures += 1;
    if (this.current === 'half-open' || (this.current === 'closed' && this.failures >= this.options.failuresMax)) {
      this.openedAt = this.options.now();
      this.change('open');
    }
  }

  private change(state: BreakerState): void {
    this.current = state;
    this.options.onChange(state);
  }
}
