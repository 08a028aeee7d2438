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
});
