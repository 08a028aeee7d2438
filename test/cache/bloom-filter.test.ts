import { describe, expect, it } from 'vitest';
import { BloomFilter } from '../../src/cache/bloom-filter.js';

describe('the item bloom filter', () => {
  it('never forgets a key it was given', () => {
    const filter = new BloomFilter(5000, 0.01);
    const keys = Array.from({ length: 5000 }, (_, index) => `SKU-${index}`);
    for (const key of keys) filter.add(key);
    expect(keys.filter((key) => !filter.has(key))).toEqual([]);
  });

  it('lets through about the false-positive rate it was sized for, and says when it is over its capacity', () => {
    const filter = new BloomFilter(10_000, 0.01);
    for (let index = 0; index < 10_000; index += 1) filter.add(`SKU-${index}`);
    expect(filter.full).toBe(false);
    let passed = 0;
    for (let index = 0; index < 100_000; index += 1) if (filter.has(`OTHER-${index}`)) passed += 1;
    expect(passed / 100_000).toBeLessThan(0.02);
    filter.add('one-more');
    expect(filter.full).toBe(true);
  });
});
