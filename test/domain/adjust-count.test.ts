import { describe, expect, it } from 'vitest';
import { type AdjustStock, type CountStock, onHandMax, quantityMax } from '../../src/domain/index.js';
import { event, given, item, line, received, reserved, t0 } from '../support/given.js';

// Adjustments and counts correct what is on the shelf; neither may take on hand below what
// orders already hold (unless the item allows backorders), nor below zero.

const stocked = [
  item('SKU-1'),
  item('SKU-B', { allowBackorder: true }),
  received('SKU-1', 'WH1', 10),
  reserved('r1', [line('SKU-1', 'WH1', 4)]),
  received('SKU-B', 'WH1', 3),
  reserved('r2', [line('SKU-B', 'WH1', 5)]),
];

const adjust = (sku: string, delta: number, fields: Partial<AdjustStock> = {}): AdjustStock => ({
  type: 'AdjustStock',
  id: 'c1',
  sku,
  location: 'WH1',
  delta,
  reason: 'damaged',
  ...fields,
});

const count = (sku: string, counted: number, fields: Partial<CountStock> = {}): CountStock => ({
  type: 'CountStock',
  id: 'c1',
  sku,
  location: 'WH1',
  counted,
  ...fields,
});

describe('AdjustStock', () => {
  it('applies a signed delta with its reason', () => {
    given(...stocked)
      .when(adjust('SKU-1', -6, { occurredAt: t0 - 5, actor: 'auditor' }))
      .then([
        {
          type: 'StockAdjusted',
          onHandDelta: -6,
          reservedDelta: 0,
          onHandAfter: 4,
          reservedAfter: 4,
          quantity: 6,
          reason: 'damaged',
          reference: null,
          actor: 'auditor',
          occurredAt: t0 - 5,
          recordedAt: t0,
        },
      ]);
    given(...stocked)
      .when(adjust('SKU-1', 5, { reason: 'found' }))
      .then([{ onHandDelta: 5, onHandAfter: 15, quantity: 5, reason: 'found' }]);
  });

  it('never takes on hand below what is reserved', () => {
    const error = given(...stocked)
      .when(adjust('SKU-1', -7))
      .then('INSUFFICIENT_STOCK');
    expect(error.details).toEqual({ sku: 'SKU-1', location: 'WH1', onHand: 10, reserved: 4, delta: -7 });
  });

  it('lets a backorder item fall below what is reserved, never below zero', () => {
    given(...stocked)
      .when(adjust('SKU-B', -3))
      .then([{ onHandAfter: 0, reservedAfter: 5 }]);
    given(...stocked)
      .when(adjust('SKU-B', -4))
      .then('INSUFFICIENT_STOCK');
  });

  it('never takes a level past the on-hand maximum', () => {
    const full = event('StockAdjusted', line('SKU-1', 'WH1', 0), { onHand: onHandMax - 10, reserved: 0 });
    given(...stocked, full)
      .when(adjust('SKU-1', 1))
      .then('LEVEL_LIMIT_EXCEEDED');
    given(...stocked, full)
      .when(adjust('SKU-1', -1))
      .then([{ onHandAfter: onHandMax - 1 }]);
  });

  it.each([0, 1.5, quantityMax + 1, -(quantityMax + 1), Number.NaN])('rejects the delta %d', (delta) => {
    const error = given(...stocked)
      .when(adjust('SKU-1', delta))
      .then('INVALID_QUANTITY');
    expect(error.details).toEqual({ field: 'delta', value: delta });
  });

  it('accepts a delta of the named maximum either way', () => {
    given(item('SKU-1'), received('SKU-1', 'WH1', quantityMax))
      .when(adjust('SKU-1', -quantityMax))
      .then([{ onHandAfter: 0 }]);
    given(item('SKU-1'))
      .when(adjust('SKU-1', quantityMax))
      .then([{ onHandAfter: quantityMax }]);
  });

  it('needs a registered item', () => {
    given(...stocked)
      .when(adjust('SKU-9', 1))
      .then('UNKNOWN_ITEM');
  });
});

describe('CountStock', () => {
  it('records the count and the adjustment it implies', () => {
    given(...stocked)
      .when(count('SKU-1', 7, { reason: 'cycle count', occurredAt: t0 - 100 }))
      .then([
        {
          type: 'StockCounted',
          onHandDelta: -3,
          reservedDelta: 0,
          onHandAfter: 7,
          reservedAfter: 4,
          quantity: 7,
          reason: 'cycle count',
          occurredAt: t0 - 100,
          recordedAt: t0,
        },
      ]);
    given(...stocked)
      .when(count('SKU-1', 12))
      .then([{ onHandDelta: 2, onHandAfter: 12, quantity: 12 }]);
  });

  it('records a count that matches what is on hand as a zero adjustment', () => {
    const state = given(...stocked)
      .when(count('SKU-1', 10))
      .then([{ type: 'StockCounted', onHandDelta: 0, onHandAfter: 10, quantity: 10 }]);
    expect(state.level('SKU-1', 'WH1')).toMatchObject({ onHand: 10, reserved: 4 });
  });

  it('counts an empty shelf to zero', () => {
    given(item('SKU-1'), received('SKU-1', 'WH1', 6))
      .when(count('SKU-1', 0))
      .then([{ onHandDelta: -6, onHandAfter: 0, quantity: 0 }]);
    given(item('SKU-1'))
      .when(count('SKU-1', 0))
      .then([{ onHandDelta: 0, onHandAfter: 0, quantity: 0 }]);
  });

  it('refuses a count below what is reserved: the reservations must be released first', () => {
    const error = given(...stocked)
      .when(count('SKU-1', 3))
      .then('COUNT_BELOW_RESERVED');
    expect(error.details).toEqual({ sku: 'SKU-1', location: 'WH1', counted: 3, reserved: 4 });
    given(...stocked)
      .when(count('SKU-1', 4))
      .then([{ onHandAfter: 4, reservedAfter: 4 }]);
    given(...stocked)
      .when(count('SKU-1', 0))
      .then('COUNT_BELOW_RESERVED');
  });

  it('lets a backorder item count below what is reserved', () => {
    given(...stocked)
      .when(count('SKU-B', 0))
      .then([{ onHandDelta: -3, onHandAfter: 0, reservedAfter: 5 }]);
  });

  it.each([-1, 1.5, quantityMax + 1, Number.NaN])('rejects the count %d', (counted) => {
    const error = given(...stocked)
      .when(count('SKU-1', counted))
      .then('INVALID_QUANTITY');
    expect(error.details).toEqual({ field: 'counted', value: counted });
  });

  it('needs a registered item', () => {
    given(...stocked)
      .when(count('SKU-9', 1))
      .then('UNKNOWN_ITEM');
  });
});
