import { describe, expect, it } from 'vitest';
import { codeLengthMax, emptyLevel, onHandMax, textLengthMax } from '../../src/domain/index.js';
import { given, item, t0 } from '../support/given.js';

describe('RegisterItem', () => {
  const registered = {
    type: 'ItemRegistered',
    location: '',
    streamVersion: 1,
    onHandDelta: 0,
    reservedDelta: 0,
  } as const;

  it('registers an item with an event of its own stream, which records it whole', () => {
    const state = given()
      .when({ type: 'RegisterItem', id: 'c1', sku: 'SKU-1', actor: 'buyer' })
      .then([
        {
          ...registered,
          sku: 'SKU-1',
          commandId: 'c1',
          actor: 'buyer',
          occurredAt: t0,
          recordedAt: t0,
          attributes: { name: '', allowBackorder: false, lowStockThreshold: null },
        },
      ]);
    expect(state.item('SKU-1')).toEqual({
      sku: 'SKU-1',
      name: '',
      allowBackorder: false,
      lowStockThreshold: null,
      createdAt: t0,
    });
    expect(state.level('SKU-1', '')).toEqual(emptyLevel('SKU-1', ''));
  });

  it('keeps the name, the backorder opt-in and the low-stock threshold', () => {
    const command = {
      type: 'RegisterItem',
      id: 'c1',
      sku: 'SKU-1',
      name: 'Bolt M6',
      allowBackorder: true,
      lowStockThreshold: 12,
    } as const;
    const state = given()
      .when(command, { now: t0 + 5 })
      .then([{ ...registered, attributes: { name: 'Bolt M6', allowBackorder: true, lowStockThreshold: 12 } }]);
    expect(state.item('SKU-1')).toEqual({
      sku: 'SKU-1',
      name: 'Bolt M6',
      allowBackorder: true,
      lowStockThreshold: 12,
      createdAt: t0 + 5,
    });
  });

  it.each([-1, 1.5, onHandMax + 1])('rejects the low-stock threshold %j', (lowStockThreshold) => {
    const error = given()
      .when({ type: 'RegisterItem', id: 'c1', sku: 'SKU-1', lowStockThreshold })
      .then('VALIDATION_FAILED');
    expect(error.details).toEqual({ field: 'lowStockThreshold', value: lowStockThreshold });
  });

  it('rejects a second registration of the same SKU', () => {
    const error = given(item('SKU-1'))
      .when({ type: 'RegisterItem', id: 'c2', sku: 'SKU-1' })
      .then('ITEM_ALREADY_EXISTS');
    expect(error.details).toEqual({ sku: 'SKU-1' });
  });

  it.each(['', '-SKU', '.SKU', 'SKU 1', 'SKU@1', 'SKU:1', 'SKU/1', 'é', 'S'.repeat(codeLengthMax + 1)])(
    'rejects the SKU code %j',
    (sku) => {
      const error = given().when({ type: 'RegisterItem', id: 'c1', sku }).then('INVALID_CODE');
      expect(error.details).toEqual({ field: 'sku', value: sku });
    },
  );

  it.each(['S', 'sku_1.a-B', 'S'.repeat(codeLengthMax)])('accepts the SKU code %j', (sku) => {
    given().when({ type: 'RegisterItem', id: 'c1', sku }).then([registered]);
  });

  it('bounds the name', () => {
    given()
      .when({ type: 'RegisterItem', id: 'c1', sku: 'SKU-1', name: 'n'.repeat(textLengthMax) })
      .then([registered]);
    given()
      .when({ type: 'RegisterItem', id: 'c1', sku: 'SKU-1', name: 'n'.repeat(textLengthMax + 1) })
      .then('INVALID_TEXT');
  });
});
