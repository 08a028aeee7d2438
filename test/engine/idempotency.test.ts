import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Command, expiryCommandId, type ReservationStatus } from '../../src/domain/index.js';
import { Engine } from '../../src/engine/engine.js';
import { Sweeper } from '../../src/engine/sweeper.js';
import { silentLog } from '../../src/log.js';
import type { Store } from '../../src/store/port.js';
import type { ManualClock } from '../support/clock.js';
import { testDialects } from '../support/dialects.js';
import { expectAccepted, expectConsistent, expectRejected, openTestEngine } from '../support/test-engine.js';

// Each command id takes effect at most once, and each reservation resolves at most once,
// whoever repeats it, however the repeats are batched, whichever sweeper gets there first.

const receive = (id: string, quantity: number): Command => ({
  type: 'ReceiveStock',
  id,
  sku: 'SKU-1',
  location: 'WH1',
  quantity,
});

const reserve = (id: string, quantity: number, ttlMs?: number): Command => ({
  type: 'ReserveStock',
  id,
  lines: [{ sku: 'SKU-1', location: 'WH1', quantity }],
  ...(ttlMs === undefined ? {} : { ttlMs }),
});

const commit = (id: string, reservationId: string): Command => ({ type: 'CommitReservation', id, reservationId });
const release = (id: string, reservationId: string): Command => ({ type: 'ReleaseReservation', id, reservationId });
const expire = (reservationId: string): Command => ({
  type: 'ExpireReservation',
  id: expiryCommandId(reservationId),
  reservationId,
});

describe.each(testDialects())('idempotency on %s', (dialect) => {
  let store: Store;
  let engine: Engine;
  let clock: ManualClock;
  let cleanup: () => Promise<void>;
  let openSecond: () => Store;

  beforeEach(async () => {
    const opened = await openTestEngine(dialect);
    ({ store, engine, clock, cleanup } = opened);
    openSecond = () => opened.db.open();
    expectAccepted(await engine.execute({ type: 'RegisterItem', id: 'reg-1', sku: 'SKU-1' }));
    expectAccepted(await engine.execute(receive('rcv-1', 10)));
  });

  afterEach(async () => {
    await cleanup();
  });

  async function expectLevel(onHand: number, reserved: number): Promise<void> {
    expect(await store.itemLevels('SKU-1')).toMatchObject([{ location: 'WH1', onHand, reserved }]);
  }

  async function expectReservation(id: string, status: ReservationStatus): Promise<void> {
    expect(await store.getReservation(id)).toMatchObject({ id, status });
  }

  async function ledgerTypes(): Promise<string[]> {
    return (await store.readLedger(0, 1000)).map((event) => `${event.type}:${event.commandId}`);
  }

  it('answers a repeated command with its first result and writes nothing more', async () => {
    const head = await store.headPosition();
    const first = await engine.execute(receive('rcv-2', 5));
    expect(first.replayed).toBe(false);
    clock.advance(1_000);
    const again = await engine.execute({ ...receive('rcv-2', 5), actor: 'someone-else' });
    expect(again).toEqual({ outcome: first.outcome, replayed: true });
    expect(first.outcome).toMatchObject({ ok: true, position: head + 1 });
    expect(await store.headPosition()).toBe(head + 1);
    await expectLevel(15, 0);
    expect((await store.getCommand('rcv-2'))?.outcome).toEqual(first.outcome);
    await expectConsistent(store);
  });

  it('replays a stored rejection even once the command would succeed', async () => {
    const first = await engine.execute(reserve('ord-1', 11));
    expectRejected(first, 'INSUFFICIENT_STOCK');
    expectAccepted(await engine.execute(receive('rcv-2', 5)));
    const again = await engine.execute(reserve('ord-1', 11));
    expect(again).toEqual({ outcome: first.outcome, replayed: true });
    expect(await store.getReservation('ord-1')).toBeUndefined();
    await expectLevel(15, 0);
    await expectConsistent(store);
  });

  it('refuses the same id with another payload and writes nothing', async () => {
    const first = await engine.execute(reserve('ord-1', 3));
    expectAccepted(first);
    const head = await store.headPosition();
    const others = [reserve('ord-1', 4), reserve('ord-1', 3, 5_000), receive('ord-1', 3), release('ord-1', 'ord-1')];
    for (const other of others) {
      const error = expectRejected(await engine.execute(other), 'IDEMPOTENCY_CONFLICT');
      expect(error.details).toEqual({ commandId: 'ord-1', existingType: 'ReserveStock' });
    }
    expect(await store.headPosition()).toBe(head);
    await expectLevel(10, 3);
    // The conflict is not stored: the id still answers with its first result.
    expect(await engine.execute(reserve('ord-1', 3))).toEqual({ outcome: first.outcome, replayed: true });
    await expectConsistent(store);
  });

  it('takes one effect from duplicates that share a batch', async () => {
    const batches = engine.stats.batches;
    const answers = await Promise.all([
      engine.execute(reserve('ord-1', 2)),
      engine.execute(reserve('ord-1', 2)),
      engine.execute(reserve('ord-2', 1)),
      engine.execute(reserve('ord-1', 2)),
      engine.execute(reserve('ord-2', 9)),
    ]);
    expect(engine.stats.batches).toBe(batches + 1);
    const [first, second, other, third, conflicting] = answers;
    expect(first?.replayed).toBe(false);
    expectAccepted(first as NonNullable<typeof first>);
    expect(second).toEqual({ outcome: first?.outcome, replayed: true });
    expect(third).toEqual({ outcome: first?.outcome, replayed: true });
    expectAccepted(other as NonNullable<typeof other>);
    expectRejected(conflicting as NonNullable<typeof conflicting>, 'IDEMPOTENCY_CONFLICT');
    await expectLevel(10, 3);
    expect(await ledgerTypes()).toEqual([
      'ItemRegistered:reg-1',
      'StockReceived:rcv-1',
      'StockReserved:ord-1',
      'StockReserved:ord-2',
    ]);
    await expectConsistent(store);
  });

  it('resolves a reservation at most once, in sequence', async () => {
    expectAccepted(await engine.execute(reserve('ord-1', 4)));
    expectAccepted(await engine.execute(release('rel-1', 'ord-1')));
    expectRejected(await engine.execute(commit('com-1', 'ord-1')), 'RESERVATION_ALREADY_RELEASED');
    expectRejected(await engine.execute(release('rel-2', 'ord-1')), 'RESERVATION_ALREADY_RELEASED');
    expectAccepted(await engine.execute(reserve('ord-2', 4)));
    expectAccepted(await engine.execute(commit('com-2', 'ord-2')));
    expectRejected(await engine.execute(commit('com-3', 'ord-2')), 'RESERVATION_ALREADY_COMMITTED');
    expectRejected(await engine.execute(release('rel-3', 'ord-2')), 'RESERVATION_ALREADY_COMMITTED');
    await expectLevel(6, 0);
    await expectReservation('ord-1', 'released');
    await expectReservation('ord-2', 'committed');
    await expectConsistent(store);
  });

  it('resolves a reservation at most once within one batch: the first in arrival order wins', async () => {
    expectAccepted(await engine.execute(reserve('ord-1', 4)));
    const [committed, released, committedAgain] = await Promise.all([
      engine.execute(commit('com-1', 'ord-1')),
      engine.execute(release('rel-1', 'ord-1')),
      engine.execute(commit('com-2', 'ord-1')),
    ]);
    expectAccepted(committed as NonNullable<typeof committed>);
    expectRejected(released as NonNullable<typeof released>, 'RESERVATION_ALREADY_COMMITTED');
    expectRejected(committedAgain as NonNullable<typeof committedAgain>, 'RESERVATION_ALREADY_COMMITTED');
    // A reservation created in a batch can be resolved later in the same batch.
    const [reserved, releasedNew] = await Promise.all([
      engine.execute(reserve('ord-2', 6)),
      engine.execute(release('rel-2', 'ord-2')),
    ]);
    expectAccepted(reserved as NonNullable<typeof reserved>);
    expectAccepted(releasedNew as NonNullable<typeof releasedNew>);
    await expectLevel(6, 0);
    await expectConsistent(store);
  });

  it('expires each due reservation once, however many sweepers run', async () => {
    expectAccepted(await engine.execute(reserve('ord-1', 2, 1_000)));
    expectAccepted(await engine.execute(reserve('ord-2', 3, 1_000)));
    expectAccepted(await engine.execute(reserve('ord-3', 4, 5_000)));
    const options = { intervalMs: 1_000, sweepBatchMax: 100, clock: clock.read, log: silentLog };
    const sweeper = new Sweeper(engine, store, options);
    expect(await sweeper.sweep()).toBe(0);
    clock.advance(999);
    expect(await sweeper.sweep()).toBe(0);
    clock.advance(1);
    const secondStore = openSecond();
    try {
      // A second engine on the same database, as a second instance would run.
      const secondEngine = Engine.on(secondStore, { clock: clock.read });
      const secondSweeper = new Sweeper(secondEngine, secondStore, options);
      const swept = await Promise.all([sweeper.sweep(), secondSweeper.sweep(), sweeper.sweep()]);
      expect(swept.reduce((sum, count) => sum + count, 0)).toBe(2);
      await secondEngine.drain();
    } finally {
      await secondStore.close();
    }
    expect(await sweeper.sweep()).toBe(0);
    await expectReservation('ord-1', 'expired');
    await expectReservation('ord-2', 'expired');
    await expectReservation('ord-3', 'pending');
    await expectLevel(10, 4);
    const expiries = (await ledgerTypes()).filter((entry) => entry.startsWith('ReservationExpired'));
    expect(expiries).toEqual(['ReservationExpired:sys:expire:ord-1', 'ReservationExpired:sys:expire:ord-2']);
    expect((await store.readLedger(0, 100)).find((e) => e.type === 'ReservationExpired')).toMatchObject({
      actor: 'sweeper',
      recordedAt: clock.read(),
    });
    // The expiry command replays like any other.
    expect(await engine.execute(expire('ord-1'))).toMatchObject({ outcome: { ok: true }, replayed: true });
    await expectConsistent(store);
  });

  it('refuses to commit or release a reservation once it has expired', async () => {
    expectAccepted(await engine.execute(reserve('ord-1', 2, 1_000)));
    expectAccepted(await engine.execute(reserve('ord-2', 3, 1_000)));
    clock.advance(1_000);
    // Due but not yet swept: the engine's clock already says expired.
    const early = expectRejected(await engine.execute(commit('com-1', 'ord-1')), 'RESERVATION_EXPIRED');
    expect(early.details).toMatchObject({ reservationStatus: 'pending' });
    expectRejected(await engine.execute(release('rel-1', 'ord-1')), 'RESERVATION_EXPIRED');
    expect(
      await new Sweeper(engine, store, {
        intervalMs: 1_000,
        sweepBatchMax: 100,
        clock: clock.read,
        log: silentLog,
      }).sweep(),
    ).toBe(2);
    const late = expectRejected(await engine.execute(commit('com-2', 'ord-2')), 'RESERVATION_EXPIRED');
    expect(late.details).toMatchObject({ reservationStatus: 'expired' });
    expectRejected(await engine.execute(release('rel-2', 'ord-2')), 'RESERVATION_EXPIRED');
    // The first answer of com-1 was decided on the clock of its time and is replayed as such.
    expect(await engine.execute(commit('com-1', 'ord-1'))).toMatchObject({ replayed: true });
    await expectLevel(10, 0);
    await expectConsistent(store);
  });

  // Known defect: a rejected ExpireReservation is stored under the one id an expiry can have,
  // so an expiry decided before the reservation is due blocks every later expiry of it. The
  // reservation then stays pending with its stock held: commit and release answer
  // RESERVATION_EXPIRED, and the sweeper's expiry replays RESERVATION_NOT_EXPIRED forever.
  // Here the wall clock steps back between the sweeper's read and the engine's decision, as an
  // NTP correction may; a direct caller of Engine.execute can do the same by expiring early.
  it('still expires a reservation after an expiry was refused as premature', async () => {
    expectAccepted(await engine.execute(reserve('ord-1', 4, 1_000)));
    clock.advance(1_000);
    const steppingBack = () => {
      const now = clock.read();
      clock.advance(-1);
      return now;
    };
    const options = { intervalMs: 1_000, sweepBatchMax: 100, log: silentLog };
    expect(await new Sweeper(engine, store, { ...options, clock: steppingBack }).sweep()).toBe(0);
    clock.advance(60_000);
    expect(await new Sweeper(engine, store, { ...options, clock: clock.read }).sweep()).toBe(1);
    await expectReservation('ord-1', 'expired');
    await expectLevel(10, 0);
    await expectConsistent(store);
  });

  // The same defect starves the sweeper: blocked reservations stay first in its due list.
  it('keeps expiring other reservations while one expiry is blocked', async () => {
    expectAccepted(await engine.execute(reserve('ord-1', 1, 1_000)));
    expectAccepted(await engine.execute(reserve('ord-2', 1, 2_000)));
    expectRejected(await engine.execute(expire('ord-1')), 'RESERVATION_NOT_EXPIRED');
    clock.advance(2_000);
    const sweeper = new Sweeper(engine, store, {
      intervalMs: 1_000,
      sweepBatchMax: 1,
      clock: clock.read,
      log: silentLog,
    });
    for (let sweep = 0; sweep < 3; sweep += 1) await sweeper.sweep();
    await expectReservation('ord-2', 'expired');
    await expectConsistent(store);
  });
});
