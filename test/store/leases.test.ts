import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/port.js';
import { openTestStore, type TestDatabase, testDialects } from '../support/dialects.js';

// A lease gives a job to one instance at a time across all of them, and keeps its checkpoint:
// the contract every store keeps, on every dialect, between two stores open on one database.

describe.each(testDialects())('leases on %s', (dialect) => {
  let store: Store;
  let db: TestDatabase;
  let cleanup: (() => Promise<void>) | undefined;
  const others: Store[] = [];
  afterEach(async () => {
    for (const other of others.splice(0)) await other.close();
    await cleanup?.();
  });

  const opened = async () => {
    ({ store, db, cleanup } = await openTestStore(dialect));
    const other = db.open();
    others.push(other);
    return other;
  };

  it('is held by one instance until it expires, then taken over with its checkpoint', async () => {
    const other = await opened();
    expect(await store.leases.get('relay:x')).toBeUndefined();
    expect(await store.leases.acquire('relay:x', 'a', 1_000, 2_000)).toBe(true);
    expect(await other.leases.acquire('relay:x', 'b', 1_500, 2_500)).toBe(false);
    // The holder renews, and moves its checkpoint forward only.
    expect(await store.leases.acquire('relay:x', 'a', 1_900, 2_900)).toBe(true);
    expect(await store.leases.advance('relay:x', 'a', 1_950, 40)).toBe(true);
    expect(await store.leases.advance('relay:x', 'a', 1_960, 30)).toBe(false);
    expect(await other.leases.advance('relay:x', 'b', 1_970, 50)).toBe(false);
    expect(await other.leases.get('relay:x')).toEqual({ name: 'relay:x', holder: 'a', expiresAt: 2_900, position: 40 });
    // a stops renewing: at its expiry b takes over, from a's checkpoint, and a is fenced off.
    expect(await other.leases.acquire('relay:x', 'b', 2_899, 3_899)).toBe(false);
    expect(await other.leases.acquire('relay:x', 'b', 2_900, 3_900)).toBe(true);
    expect(await store.leases.advance('relay:x', 'a', 2_950, 60)).toBe(false);
    expect(await store.leases.acquire('relay:x', 'a', 2_950, 3_950)).toBe(false);
    expect(await other.leases.advance('relay:x', 'b', 2_960, 45)).toBe(true);
    expect((await store.leases.get('relay:x'))?.position).toBe(45);
    // A lease past its expiry moves no checkpoint, even its holder's.
    expect(await other.leases.advance('relay:x', 'b', 3_900, 46)).toBe(false);
  });

  it('is given up at once on release, and leases of other names are apart', async () => {
    const other = await opened();
    expect(await store.leases.acquire('relay:x', 'a', 1_000, 60_000)).toBe(true);
    expect(await store.leases.acquire('relay:y', 'a', 1_000, 60_000)).toBe(true);
    await other.leases.release('relay:x', 'b');
    expect(await other.leases.acquire('relay:x', 'b', 2_000, 60_000)).toBe(false);
    await store.leases.release('relay:x', 'a');
    expect(await other.leases.acquire('relay:x', 'b', 2_000, 60_000)).toBe(true);
    expect((await store.leases.get('relay:y'))?.holder).toBe('a');
  });

  it('goes to exactly one of many instances asking at once', async () => {
    const stores = [await opened(), store, db.open(), db.open()];
    others.push(...stores.slice(2));
    // SQLite's one write lock serializes whole transactions across processes; in one thread, a
    // second connection waiting for it would block the first one's await, so there they ask in turn.
    const ask = async <T>(calls: (() => Promise<T>)[]): Promise<T[]> => {
      if (dialect !== 'sqlite') return Promise.all(calls.map((call) => call()));
      const results: T[] = [];
      for (const call of calls) results.push(await call());
      return results;
    };
    for (let round = 0; round < 5; round += 1) {
      const name = `job-${round}`;
      const won = await ask(stores.map((each, i) => () => each.leases.acquire(name, `i${i}`, 1_000, 5_000)));
      expect(won.filter(Boolean), `round ${round}: ${won}`).toHaveLength(1);
      const holder = `i${won.indexOf(true)}`;
      expect((await store.leases.get(name))?.holder).toBe(holder);
    }
  });
});
