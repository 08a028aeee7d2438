import { describe, expect, it } from 'vitest';
import { onHandMax, quantityMax } from '../../src/domain/index.js';
import { event, given, item, received, reserved, t0 } from '../support/given.js';

describe('ReceiveStock', () => {
  it('opens a level with the received quantity', () => {
    const state = given(item('SKU-1'))
      .when({ type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 10, reference: 'PO-7' })
      .then([
        {
          type: 'StockReceived',
          sku: 'SKU-1',
          location: 'WH1',
          onHandDelta: 10,
          reservedDelta: 0,
          onHandAfter: 10,
          reservedAfter: 0,
          quantity: 10,
          commandId: 'c1',
          reservationId: null,
          expiresAt: null,
          peerLocation: null,
          reason: null,
          reference: 'PO-7',
          actor: 'system',
          occurredAt: t0,
          recordedAt: t0,
        },
      ]);
    expect(state.level('SKU-1', 'WH1')).toMatchObject({ onHand: 10, reserved: 0, version: 1 });
  });

  it('adds to what is on hand and keeps the reserved balance in its balances-after', () => {
    given(item('SKU-1'), received('SKU-1', 'WH1', 10), reserved('r1', [{ sku: 'SKU-1', location: 'WH1', quantity: 4 }]))
      .when({ type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 5 })
      .then([{ onHandDelta: 5, reservedDelta: 0, onHandAfter: 15, reservedAfter: 4 }]);
  });

  it('records when the receipt took effect apart from when it was recorded', () => {
    given(item('SKU-1'))
      .when(
        { type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 1, occurredAt: t0 - 3_600_000 },
        { now: t0 + 1 },
      )
      .then([{ occurredAt: t0 - 3_600_000, recordedAt: t0 + 1 }]);
  });

  it('records the actor', () => {
    given(item('SKU-1'))
      .when({ type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 1, actor: 'dock-3' })
      .then([{ actor: 'dock-3' }]);
  });

  it('needs a registered item', () => {
    const error = given(item('SKU-1'))
      .when({ type: 'ReceiveStock', id: 'c1', sku: 'SKU-2', location: 'WH1', quantity: 1 })
      .then('UNKNOWN_ITEM');
    expect(error.details).toEqual({ sku: 'SKU-2' });
  });

  it('rejects a bad location code', () => {
    const error = given(item('SKU-1'))
      .when({ type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH 1', quantity: 1 })
      .then('INVALID_CODE');
    expect(error.details).toEqual({ field: 'location', value: 'WH 1' });
  });

  it('never takes a level past the on-hand maximum', () => {
    const nearlyFull = event(
      'StockAdjusted',
      { sku: 'SKU-1', location: 'WH1', quantity: 0 },
      {
        onHand: onHandMax - quantityMax,
        reserved: 0,
      },
    );
    const facts = [item('SKU-1'), nearlyFull];
    given(...facts)
      .when({ type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: quantityMax })
      .then([{ onHandAfter: onHandMax }]);
    const error = given(...facts, received('SKU-1', 'WH1', 1))
      .when({ type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: quantityMax })
      .then('LEVEL_LIMIT_EXCEEDED');
    expect(error.details).toEqual({ sku: 'SKU-1', location: 'WH1', onHand: onHandMax + 1 });
    given(...facts, received('SKU-1', 'WH1', 1))
      .when({ type: 'ReturnStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: quantityMax })
      .then('LEVEL_LIMIT_EXCEEDED');
  });
});

describe('ReturnStock', () => {
  it('puts units back on hand with its reason and reference', () => {
    given(item('SKU-1'), received('SKU-1', 'WH1', 3))
      .when({
        type: 'ReturnStock',
        id: 'c1',
        sku: 'SKU-1',
        location: 'WH1',
        quantity: 2,
        reason: 'customer return',
        reference: 'RMA-9',
        occurredAt: t0 - 10,
      })
      .then([
        {
          type: 'StockReturned',
          onHandDelta: 2,
          reservedDelta: 0,
          onHandAfter: 5,
          reservedAfter: 0,
          quantity: 2,
          reason: 'customer return',
          reference: 'RMA-9',
          occurredAt: t0 - 10,
          recordedAt: t0,
        },
      ]);
  });

  it('needs a registered item', () => {
    given().when({ type: 'ReturnStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 1 }).then('UNKNOWN_ITEM');
  });
});
