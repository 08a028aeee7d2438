import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/index.js';
import { Engine } from '../../src/engine/engine.js';
import type { Store } from '../../src/store/port.js';
import { openTestStore, type TestDatabase, testDialects } from '../support/dialects.js';

// What the heartbeat and the gauges read of every store: the instances table, written by each
// instance for itself and read by any; and the bounded count of pending reservations with the
// oldest expiry, on every dialect.

describe.each(testDialects())('instances and pending reservations on %s', (dialect) => {
  let store: Store;
  let db: TestDatabase;
  let cleanup: (() => Promise<void>) | undefined;
  const others: Store[] = [];
  afterEach(async () => {
    for (const other of others.splice(0)) await other.close();
    await cleanup?.();
  });

  it('records each instance’s heartbeats, lists the most recently seen first, and forgets the long gone', async () => {
    ({ store, db, cleanup } = await openTestStore(dialect));
    const other = db.open();
    others.push(other);
    const a = { id: 'host-1-aa', httpUrl: 'http://h1:3000', grpcUrl: 'http://h1:50051', startedAt: 1_000 };
    const b = { id: 'host-2-bb', httpUrl: 'http://h2:3000', grpcUrl: null, startedAt: 1_500 };
    await store.instances.beat({ ...a, lastSeenAt: 1_000 });
    await other.instances.beat({ ...b, lastSeenAt: 2_000 });
    await store.instances.beat({ ...a, lastSeenAt: 3_000 });
    // A beat that changes nothing (the same instant) is no error, on MySQL too (0 rows changed).
    await store.instances.beat({ ...a, lastSeenAt: 3_000 });
    expect(await other.instances.list(10)).toEqual([
      { ...a, lastSeenAt: 3_000 },
      { ...b, lastSeenAt: 2_000 },
    ]);
    expect(await store.instances.list(1)).toEqual([{ ...a, lastSeenAt: 3_000 }]);
    expect(await store.instances.forget(2_500)).toBe(1);
    expect(await other.instances.list(10)).toEqual([{ ...a, lastSeenAt: 3_000 }]);
    await store.instances.remove(a.id);
    expect(await other.instances.list(10)).toEqual([]);
  });

  it('counts pending reservations up to a bound, with the earliest expiry', async () => {
    ({ store, db, cleanup } = await openTestStore(dialect));
    expect(await store.pendingReservations(100)).toEqual({ count: 0, oldestExpiresAt: null });
    const engine = Engine.on(store, { clock: () => 10_000 });
    const run = async (command: Command) => expect((await engine.execute(command)).outcome.ok).toBe(true);
    await run({ type: 'RegisterItem', id: 'pr-item', sku: 'PR-1', actor: 't' });
    await run({ type: 'ReceiveStock', id: 'pr-rcv', sku: 'PR-1', location: 'WH', quantity: 10, actor: 't' });
    for (const [n, ttlMs] of [
      [1, 5_000],
      [2, 3_000],
      [3, 7_000],
    ] as const) {
      const lines = [{ sku: 'PR-1', location: 'WH', quantity: 1 }];
      await run({ type: 'ReserveStock', id: `pr-res-${n}`, lines, ttlMs, actor: 't' });
    }
    await run({ type: 'CommitReservation', id: 'pr-commit', reservationId: 'pr-res-2', actor: 't' });
    await engine.close();
    expect(await store.pendingReservations(100)).toEqual({ count: 2, oldestExpiresAt: 15_000 });
    expect(await store.pendingReservations(1)).toEqual({ count: 1, oldestExpiresAt: 15_000 });
  });
});
