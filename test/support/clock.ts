import { SharedClock } from '../../src/thread/shared-clock.js';

/** The clock every test starts from: a fixed instant, so times in assertions are exact. */
export const t0 = 1_700_000_000_000;

/**
 * A clock that moves only when a test says so; pass `read` to the Engine and the Sweeper, or the
 * clock itself to createRuntime (an engine thread reads the same shared time).
 */
export class ManualClock extends SharedClock {
  constructor(startMs = t0) {
    super(startMs);
  }

  advance(ms: number): number {
    const next = this.read() + ms;
    this.set(next);
    return next;
  }
}
