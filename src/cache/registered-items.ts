// Items registered lately (by their cache key), here or through another instance. A registration writes no ledger
// event, so positions cannot order it against a load that read "no such item": instead, for a
// while after a registration, a negative value for that SKU is neither served nor kept. The
// while is longer than any load may take to be offered (the guards' lifetime); the set is bounded.

export class RegisteredItems {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly options: { readonly keptMs: number; readonly entriesMax: number; readonly now: () => number },
  ) {}

  add(key: string): void {
    const now = this.options.now();
    this.until.delete(key);
    this.until.set(key, now + this.options.keptMs);
    // All are kept equally long, so the first is the oldest: drop the expired, then any beyond the bound.
    for (const [oldest, until] of this.until) {
      if (until > now && this.until.size <= this.options.entriesMax) break;
      this.until.delete(oldest);
    }
  }

  /** Registered within the kept time. */
  has(key: string): boolean {
    const until = this.until.get(key);
    return until !== undefined && until > this.options.now();
  }
}
