import { describe, expect, it } from 'vitest';
import { incomingMax, quantityMax, viewLevel } from '../../src/domain/index.js';
import { event, given, item, line, received, t0 } from '../support/given.js';

// Incoming: units on confirmed purchase orders. ExpectStock moves it by a signed delta; a receipt
// against an order settles part of it in the same event that puts the units on hand.

const expected = (sku: string, location: string, delta: number) =>
  event('StockExpected', line(sku, location, Math.abs(delta)), { onHand: 0, reserved: 0 }, { incomingDelta: delta });

describe('ExpectStock', () => {
  it('raises a level’s incoming and leaves on hand and reserved alone', () => {
    const state = given(item('SKU-1'), received('SKU-1', 'WH1', 4))
      .when({ type: 'ExpectStock', id: 'c1', sku: 'SKU-1', location: 'WH1', delta: 10, reference: 'po:7#1' })
      .then([
        {
          type: 'StockExpected',
          sku: 'SKU-1',
          location: 'WH1',
          onHandDelta: 0,
          reservedDelta: 0,
          incomingDelta: 10,
          onHandAfter: 4,
          reservedAfter: 0,
          incomingAfter: 10,
          quantity: 10,
          reference: 'po:7#1',
          occurredAt: t0,
        },
      ]);
    expect(viewLevel(state.level('SKU-1', 'WH1'))).toMatchObject({
      onHand: 4,
      reserved: 0,
      incoming: 10,
      available: 4,
      projected: 14,
      version: 2,
    });
  });

  it('withdraws what will not come, down to zero and not below', () => {
    given(item('SKU-1'), expected('SKU-1', 'WH1', 6))
      .when({ type: 'ExpectStock', id: 'c1', sku: 'SKU-1', location: 'WH1', delta: -6, reason: 'closed short' })
      .then([{ incomingDelta: -6, incomingAfter: 0, quantity: 6, reason: 'closed short' }]);
    const error = given(item('SKU-1'), expected('SKU-1', 'WH1', 6))
      .when({ type: 'ExpectStock', id: 'c1', sku: 'SKU-1', location: 'WH1', delta: -7 })
      .then('INCOMING_SHORT');
    expect(error.details).toEqual({ sku: 'SKU-1', location: 'WH1', incoming: 6, delta: -7 });
  });

  it('needs a registered item and a non-zero delta within bounds', () => {
    given(item('SKU-1'))
      .when({ type: 'ExpectStock', id: 'c1', sku: 'SKU-2', location: 'WH1', delta: 1 })
      .then('UNKNOWN_ITEM');
    for (const delta of [0, 1.5, quantityMax + 1, -quantityMax - 1]) {
      given(item('SKU-1'))
        .when({ type: 'ExpectStock', id: 'c1', sku: 'SKU-1', location: 'WH1', delta })
        .then('INVALID_QUANTITY');
    }
  });

  it('never takes incoming past its maximum', () => {
    const nearlyFull = expected('SKU-1', 'WH1', incomingMax - 1);
    given(item('SKU-1'), nearlyFull)
      .when({ type: 'ExpectStock', id: 'c1', sku: 'SKU-1', location: 'WH1', delta: 1 })
      .then([{ incomingAfter: incomingMax }]);
    const error = given(item('SKU-1'), nearlyFull)
      .when({ type: 'ExpectStock', id: 'c1', sku: 'SKU-1', location: 'WH1', delta: 2 })
      .then('LEVEL_LIMIT_EXCEEDED');
    expect(error.details).toMatchObject({ incoming: incomingMax + 1 });
  });

  it('is not available to reserve: only what is on hand is', () => {
    given(item('SKU-1'), received('SKU-1', 'WH1', 2), expected('SKU-1', 'WH1', 10))
      .when({ type: 'ReserveStock', id: 'r1', lines: [line('SKU-1', 'WH1', 3)] })
      .then('INSUFFICIENT_STOCK');
  });
});

describe('ReceiveStock against incoming', () => {
  it('settles `fromIncoming` units of incoming in the event that puts the units on hand', () => {
    const state = given(item('SKU-1'), expected('SKU-1', 'WH1', 10))
      .when({ type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 4, fromIncoming: 4 })
      .then([
        {
          type: 'StockReceived',
          onHandDelta: 4,
          incomingDelta: -4,
          onHandAfter: 4,
          incomingAfter: 6,
          quantity: 4,
        },
      ]);
    expect(viewLevel(state.level('SKU-1', 'WH1'))).toMatchObject({ onHand: 4, incoming: 6, projected: 10 });
  });

  it('takes an over-delivery on hand while settling only what was expected', () => {
    given(item('SKU-1'), expected('SKU-1', 'WH1', 3))
      .when({ type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 5, fromIncoming: 3 })
      .then([{ onHandDelta: 5, incomingDelta: -3, onHandAfter: 5, incomingAfter: 0 }]);
  });

  it('leaves incoming alone without `fromIncoming`', () => {
    given(item('SKU-1'), expected('SKU-1', 'WH1', 3))
      .when({ type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 5 })
      .then([{ onHandDelta: 5, incomingDelta: 0, incomingAfter: 3 }]);
  });

  it('refuses to settle more than the level expects, and more than it receives', () => {
    const error = given(item('SKU-1'), expected('SKU-1', 'WH1', 3))
      .when({ type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 5, fromIncoming: 4 })
      .then('INCOMING_SHORT');
    expect(error.details).toEqual({ sku: 'SKU-1', location: 'WH1', incoming: 3, delta: -4 });
    for (const fromIncoming of [6, -1, 0.5]) {
      const invalid = given(item('SKU-1'), expected('SKU-1', 'WH1', 10))
        .when({ type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 5, fromIncoming })
        .then('INVALID_QUANTITY');
      expect(invalid.details).toEqual({ field: 'fromIncoming', value: fromIncoming });
    }
  });

  it('is a receipt’s field only: a return never settles incoming', () => {
    given(item('SKU-1'), expected('SKU-1', 'WH1', 3))
      .when({ type: 'ReturnStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 2 })
      .then([{ type: 'StockReturned', incomingDelta: 0, incomingAfter: 3 }]);
  });
});
