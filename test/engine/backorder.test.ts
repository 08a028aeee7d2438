import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Command, quantityMax, reservedMax } from '../../src/domain/index.js';
import type { Engine } from '../../src/engine/engine.js';
import type { Store } from '../../src/store/port.js';
import { testDialects } from '../support/dialects.js';
import { expectAccepted, expectConsistent, expectRejected, openTestEngine } from '../support/test-engine.js';

// An item that allows backorders may reserve beyond what is on hand; a commit still ships
// only what is there.

const reserve = (id: string, location: string, quantity: number): Command => ({
  type: 'ReserveStock',
  id,
  lines: [{ sku: 'SKU-B', location, quantity }],
});

describe.each(testDialects())('backorders on %s', (dialect) => {
  let store: Store;
  let engine: Engine;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, engine, cleanup } = await openTestEngine(dialect));
    expectAccepted(await engine.execute({ type: 'RegisterItem', id: 'reg-1', sku: 'SKU-B', allowBackorder: true }));
    expectAccepted(
      await engine.execute({ type: 'ReceiveStock', id: 'rcv-1', sku: 'SKU-B', location: 'WH1', quantity: 2 }),
    );
  });

  afterEach(async () => {
    await cleanup();
  });

  it('reserves beyond on hand and commits only what is on hand', async () => {
    expectAccepted(await engine.execute(reserve('ord-1', 'WH1', 5)));
    expect(await store.itemLevels('SKU-B')).toMatchObject([{ location: 'WH1', onHand: 2, reserved: 5 }]);
    expectRejected(
      await engine.execute({ type: 'CommitReservation', id: 'com-1', reservationId: 'ord-1' }),
      'INSUFFICIENT_STOCK',
    );
    expectAccepted(
      await engine.execute({ type: 'ReceiveStock', id: 'rcv-2', sku: 'SKU-B', location: 'WH1', quantity: 3 }),
    );
    expectAccepted(await engine.execute({ type: 'CommitReservation', id: 'com-2', reservationId: 'ord-1' }));
    expect(await store.itemLevels('SKU-B')).toMatchObject([{ location: 'WH1', onHand: 0, reserved: 0 }]);
    await expectConsistent(store);
  });

  // Known defect: a reservation line only locks existing level rows and never creates one, so a
  // backorder reservation at a location that never held the item writes its StockReserved event
  // while the UPDATE of the missing level row changes nothing: the level is lost and verify
  // reports ledger-without-level.
  it('keeps the level of a backorder reservation at a location that never held the item', async () => {
    expectAccepted(await engine.execute(reserve('ord-1', 'WH2', 3)));
    expect(await store.itemLevels('SKU-B')).toMatchObject([
      { location: 'WH1', onHand: 2, reserved: 0 },
      { location: 'WH2', onHand: 0, reserved: 3 },
    ]);
    await expectConsistent(store);
  });

  it('bounds what a backorder level may hold reserved, with a refusal of its own', async () => {
    const big = Array.from({ length: 1_000 }, (_, i) => engine.execute(reserve(`big-${i}`, 'WH3', quantityMax)));
    for (const answer of await Promise.all(big)) expectAccepted(answer);
    expect(await store.itemLevels('SKU-B')).toContainEqual(
      expect.objectContaining({ location: 'WH3', reserved: reservedMax }),
    );
    const error = expectRejected(await engine.execute(reserve('big-over', 'WH3', 1)), 'LEVEL_RESERVED_LIMIT_EXCEEDED');
    expect(error.details).toEqual({ sku: 'SKU-B', location: 'WH3', reserved: reservedMax + 1 });
    expect(await store.getReservation('big-over')).toBeUndefined();
    await expectConsistent(store);
  });
});
