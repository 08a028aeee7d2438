import { describe, expect, it } from 'vitest';
import { codeLengthMax, textLengthMax } from '../../src/domain/index.js';
import { given, item, t0 } from '../support/given.js';

describe('RegisterItem', () => {
  it('registers an item without writing any event', () => {
    const state = given().when({ type: 'RegisterItem', id: 'c1', sku: 'SKU-1' }).then([]);
    expect(state.item('SKU-1')).toEqual({ sku: 'SKU-1', name: '', allowBackorder: false, createdAt: t0 });
  });

  it('keeps the name and the backorder opt-in', () => {
    const command = { type: 'RegisterItem', id: 'c1', sku: 'SKU-1', name: 'Bolt M6', allowBackorder: true } as const;
    const state = given()
      .when(command, { now: t0 + 5 })
      .then([]);
    expect(state.item('SKU-1')).toEqual({ sku: 'SKU-1', name: 'Bolt M6', allowBackorder: true, createdAt: t0 + 5 });
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
    given().when({ type: 'RegisterItem', id: 'c1', sku }).then([]);
  });

  it('bounds the name', () => {
    given()
      .when({ type: 'RegisterItem', id: 'c1', sku: 'SKU-1', name: 'n'.repeat(textLengthMax) })
      .then([]);
    given()
      .when({ type: 'RegisterItem', id: 'c1', sku: 'SKU-1', name: 'n'.repeat(textLengthMax + 1) })
      .then('INVALID_TEXT');
  });
});
