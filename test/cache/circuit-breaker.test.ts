import { describe, expect, it } from 'vitest';
import { type BreakerState, CircuitBreaker } from '../../src/cache/circuit-breaker.js';

describe('the Redis circuit breaker', () => {
  it('opens after failures in a row, lets one probe through after its open time, and closes on its success', () => {
    const time = { now: 0 };
    const changes: BreakerState[] = [];
    const breaker = new CircuitBreaker({
      failuresMax: 3,
      openMs: 100,
      now: () => time.now,
      onChange: (state) => changes.push(state),
    });
    breaker.failure();
    breaker.success();
    breaker.failure();
    breaker.failure();
    expect(breaker.state).toBe('closed');
    breaker.failure();
    expect([breaker.state, breaker.allow()]).toEqual(['open', false]);
    time.now = 100;
    expect([breaker.allow(), breaker.allow(), breaker.state]).toEqual([true, false, 'half-open']);
    breaker.failure();
    expect(breaker.state).toBe('open');
    time.now = 200;
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect([breaker.state, breaker.allow()]).toEqual(['closed', true]);
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  const rated = (time: { now: number }, changes: BreakerState[] = []) =>
    new CircuitBreaker({
      failuresMax: 5,
      openMs: 100,
      now: () => time.now,
      onChange: (state) => changes.push(state),
      errorRateMax: 0.5,
      windowMs: 1_000,
      volumeMin: 20,
    });

  it('opens on a failure rate over its window, though no run of failures is long enough', () => {
    const time = { now: 5_000 };
    const breaker = rated(time);
    // Two failures, then two successes: never more than two in a row, half of all calls.
    for (let call = 0; call < 19; call += 1) {
      if (call % 4 < 2) breaker.failure();
      else breaker.success();
      time.now += 10;
      expect(breaker.state, `call ${call}: fewer calls than the window needs`).toBe('closed');
    }
    breaker.failure();
    expect(breaker.window()).toEqual({ calls: 20, failures: 11 });
    expect(breaker.state).toBe('open');
  });

  it('stays closed below the rate, and forgets what left the window', () => {
    const time = { now: 5_000 };
    const breaker = rated(time);
    for (let call = 0; call < 40; call += 1) {
      if (call % 3 === 1) breaker.failure();
      else breaker.success();
    }
    expect([breaker.state, breaker.window()]).toEqual(['closed', { calls: 40, failures: 13 }]);
    // A second later those calls are out of the window: a few failures are no rate yet.
    time.now += 1_000;
    for (let call = 0; call < 4; call += 1) breaker.failure();
    expect([breaker.state, breaker.window()]).toEqual(['closed', { calls: 4, failures: 4 }]);
    breaker.failure();
    expect(breaker.state).toBe('open');
  });

  it('starts a fresh window when a probe closes it', () => {
    const time = { now: 5_000 };
    const breaker = rated(time);
    for (let call = 0; call < 5; call += 1) breaker.failure();
    expect(breaker.state).toBe('open');
    time.now += 100;
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect([breaker.state, breaker.window()]).toEqual(['closed', { calls: 0, failures: 0 }]);
  });
});
