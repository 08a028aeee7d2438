import { describe, expect, it } from 'vitest';
import { type Entry, LocalCache } from '../../src/cache/local-cache.js';

function cacheAt(time: { now: number }, entriesMax = 100) {
  return new LocalCache({ entriesMax, guardTtlMs: 10_000, now: () => time.now });
}

function entry(value: string, position: number, time: { now: number }, guard = 'g'): Entry<string> {
  return { value, position, freshUntil: time.now + 1000, staleUntil: time.now + 2000, guard };
}

describe('the in-process cache', () => {
  it('refuses a refill older than a write that invalidated its key meanwhile, and keeps a newer one', () => {
    const time = { now: 0 };
    const cache = cacheAt(time);
    expect(cache.offer('k', entry('v5', 5, time), 0)).toBe(true);
    cache.invalidate('g', 7);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.offer('k', entry('slow v6', 6, time), 0)).toBe(false);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.offer('k', entry('v7', 7, time), 0)).toBe(true);
    expect(cache.get<string>('k')?.value).toBe('v7');
  });

  it('never lets an older value replace a newer one in place', () => {
    const time = { now: 0 };
    const cache = cacheAt(time);
    cache.offer('k', entry('v9', 9, time), 0);
    expect(cache.offer('k', entry('v8', 8, time), 0)).toBe(false);
    expect(cache.get<string>('k')?.value).toBe('v9');
  });

  it('invalidates every entry under one guard (a location and its pages)', () => {
    const time = { now: 0 };
    const cache = cacheAt(time);
    cache.offer('page-1', entry('a', 3, time, 'loc'), 0);
    cache.offer('page-2', entry('b', 3, time, 'loc'), 0);
    cache.offer('other', entry('c', 3, time, 'elsewhere'), 0);
    cache.invalidate('loc', 4);
    expect([cache.get('page-1'), cache.get('page-2'), cache.get<string>('other')?.value]).toEqual([
      undefined,
      undefined,
      'c',
    ]);
  });

  it('keeps an expired entry until its staleness bound, and refuses a load begun longer ago than a guard lasts', () => {
    const time = { now: 0 };
    const cache = cacheAt(time);
    cache.offer('k', entry('v', 1, time), 0);
    time.now = 1500;
    expect(cache.get<string>('k')?.value).toBe('v');
    time.now = 2000;
    expect(cache.get('k')).toBeUndefined();
    time.now = 20_000;
    expect(cache.offer('k', entry('late', 2, time), 5000)).toBe(false);
  });

  it('holds at most its bound of entries, dropping the least recently used', () => {
    const time = { now: 0 };
    const cache = cacheAt(time, 16);
    for (let index = 0; index < 16; index += 1) cache.offer(`k${index}`, entry(`v${index}`, 1, time), 0);
    cache.get('k0');
    cache.offer('k16', entry('v16', 1, time), 0);
    expect(cache.size).toBe(16);
    expect(cache.get('k1')).toBeUndefined();
    expect(cache.get<string>('k0')?.value).toBe('v0');
  });
});
