import { describe, expect, it } from 'vitest';
import { FailureLimit, LocalBuckets } from '../../src/auth/rate-limit.js';

// The failed-authentication limit of an address, on a clock the test moves: what it remembers
// of a refusal, and for how long.

function limit(perMinute: number) {
  let nowMs = 0;
  const now = () => nowMs;
  const failures = new FailureLimit(new LocalBuckets({ perSecond: perMinute / 60, burst: perMinute }, now), now);
  return { failures, advance: (ms: number) => (nowMs += ms) };
}

describe('failed authentications per address', () => {
  it('lets the budget through, then refuses the address until a token is back, and only that address', () => {
    const { failures, advance } = limit(3);
    expect([1, 2, 3, 4].map(() => failures.fail('10.0.0.1'))).toEqual([0, 0, 0, 20_000]);
    expect(failures.refused('10.0.0.1')).toBe(20_000);
    expect(failures.refused('10.0.0.2')).toBe(0);
    advance(19_999);
    expect(failures.refused('10.0.0.1')).toBe(1);
    advance(1);
    expect(failures.refused('10.0.0.1')).toBe(0);
    expect(failures.fail('10.0.0.1')).toBe(0);
    expect(failures.fail('10.0.0.1')).toBe(20_000);
  });

  it('refuses an address another instance filled the shared bucket of, at its first failure here', async () => {
    const shared = new LocalBuckets({ perSecond: 1 / 60, burst: 1 }, () => 0);
    const asShared = { take: (key: string, cost: number) => Promise.resolve(shared.take(key, cost)) };
    const first = new FailureLimit(asShared, () => 0);
    const second = new FailureLimit(asShared, () => 0);
    expect(await first.fail('10.0.0.1')).toBe(0);
    expect(second.refused('10.0.0.1')).toBe(0);
    expect(await second.fail('10.0.0.1')).toBe(60_000);
    expect(second.refused('10.0.0.1')).toBe(60_000);
  });
});
