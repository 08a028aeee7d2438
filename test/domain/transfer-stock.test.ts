import { describe, expect, it } from 'vitest';
import { onHandMax, type TransferStock } from '../../src/domain/index.js';
import { event, given, item, line, received, reserved, t0 } from '../support/given.js';

const stocked = [item('SKU-1'), received('SKU-1', 'WH1', 10), reserved('r1', [line('SKU-1', 'WH1', 4)])];

const transfer = (quantity: number, fields: Partial<TransferStock> = {}): TransferStock => ({
  type: 'TransferStock',
  id: 'c1',
  sku: 'SKU-1',
  from: 'WH1',
  to: 'WH2',
  quantity,
  ...fields,
});

describe('TransferStock', () => {
  it('moves stock in two events of one command, each naming the other location', () => {
    const state = given(...stocked, received('SKU-1', 'WH2', 1))
      .when(transfer(6, { reference: 'TO-1', actor: 'forklift-2' }), { now: t0 + 3 })
      .then([
        {
          type: 'StockTransferred',
          sku: 'SKU-1',
          location: 'WH1',
          onHandDelta: -6,
          reservedDelta: 0,
          onHandAfter: 4,
          reservedAfter: 4,
          quantity: 6,
          commandId: 'c1',
          peerLocation: 'WH2',
          reference: 'TO-1',
          actor: 'forklift-2',
          occurredAt: t0 + 3,
          recordedAt: t0 + 3,
        },
        {
          type: 'StockTransferred',
          sku: 'SKU-1',
          location: 'WH2',
          onHandDelta: 6,
          reservedDelta: 0,
          onHandAfter: 7,
          reservedAfter: 0,
          quantity: 6,
          commandId: 'c1',
          peerLocation: 'WH1',
          reference: 'TO-1',
        },
      ]);
    expect(state.level('SKU-1', 'WH1')).toMatchObject({ onHand: 4, reserved: 4 });
    expect(state.level('SKU-1', 'WH2')).toMatchObject({ onHand: 7, reserved: 0 });
  });

  it('moves only what is available: reserved units stay', () => {
    const error = given(...stocked)
      .when(transfer(7))
      .then('INSUFFICIENT_STOCK');
    expect(error.details).toEqual({
      lines: [{ sku: 'SKU-1', location: 'WH1', requested: 7, available: 6, onHand: 10 }],
    });
    given(...stocked)
      .when(transfer(1, { from: 'WH3', to: 'WH1' }))
      .then('INSUFFICIENT_STOCK');
  });

  it('needs two different locations', () => {
    const error = given(...stocked)
      .when(transfer(1, { to: 'WH1' }))
      .then('SAME_LOCATION');
    expect(error.details).toEqual({ location: 'WH1' });
  });

  it('never takes the target past the on-hand maximum', () => {
    const full = event('StockAdjusted', line('SKU-1', 'WH2', 0), { onHand: onHandMax, reserved: 0 });
    const error = given(...stocked, full)
      .when(transfer(1))
      .then('LEVEL_LIMIT_EXCEEDED');
    expect(error.details).toEqual({ sku: 'SKU-1', location: 'WH2', onHand: onHandMax + 1 });
  });

  it('needs a registered item and valid codes', () => {
    given(...stocked)
      .when(transfer(1, { sku: 'SKU-9' }))
      .then('UNKNOWN_ITEM');
    const from = given(...stocked)
      .when(transfer(1, { from: 'WH 1' }))
      .then('INVALID_CODE');
    expect(from.details).toEqual({ field: 'from', value: 'WH 1' });
    const to = given(...stocked)
      .when(transfer(1, { to: '' }))
      .then('INVALID_CODE');
    expect(to.details).toEqual({ field: 'to', value: '' });
  });
});
