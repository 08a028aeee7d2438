/** The clock every test starts from: a fixed instant, so times in assertions are exact. */
export const t0 = 1_700_000_000_000;

/** A clock that moves only when a test says so; pass `read` to the Engine and the Sweeper. */
export class ManualClock {
  private nowMs: number;

  constructor(startMs = t0) {
    this.nowMs = startMs;
  }

  readonly read = (): number => this.nowMs;

  advance(ms: number): number {
    this.nowMs += ms;
    return this.nowMs;
  }
}
