import { describe, expect, it } from 'vitest';
import { type ReserveStock, reservationLinesMax } from '../../src/domain/index.js';
import { given, item, line, received, reserved, t0, ttlMsDefault, ttlMsMax } from '../support/given.js';

const stocked = [
  item('SKU-1'),
  item('SKU-2'),
  item('SKU-B', { allowBackorder: true }),
  received('SKU-1', 'WH1', 10),
  received('SKU-2', 'WH1', 3),
  received('SKU-2', 'WH2', 8),
];

function reserve(lines: ReserveStock['lines'], fields: Partial<ReserveStock> = {}): ReserveStock {
  return { type: 'ReserveStock', id: 'r1', lines, ...fields };
}

describe('ReserveStock', () => {
  it('holds every line, each as an event that names the reservation and its expiry', () => {
    const state = given(...stocked)
      .when(reserve([line('SKU-1', 'WH1', 4), line('SKU-2', 'WH2', 8)], { actor: 'web' }))
      .then([
        {
          type: 'StockReserved',
          sku: 'SKU-1',
          location: 'WH1',
          onHandDelta: 0,
          reservedDelta: 4,
          onHandAfter: 10,
          reservedAfter: 4,
          quantity: 4,
          commandId: 'r1',
          reservationId: 'r1',
          expiresAt: t0 + ttlMsDefault,
          actor: 'web',
          occurredAt: t0,
          recordedAt: t0,
        },
        {
          sku: 'SKU-2',
          location: 'WH2',
          reservedDelta: 8,
          onHandAfter: 8,
          reservedAfter: 8,
          expiresAt: t0 + ttlMsDefault,
        },
      ]);
    expect(state.reservation('r1')).toEqual({
      id: 'r1',
      status: 'pending',
      lines: [
        { sku: 'SKU-1', location: 'WH1', quantity: 4, committed: null },
        { sku: 'SKU-2', location: 'WH2', quantity: 8, committed: null },
      ],
      createdAt: t0,
      expiresAt: t0 + ttlMsDefault,
      resolvedAt: null,
    });
  });

  it('takes its expiry from the requested TTL on the given clock', () => {
    given(...stocked)
      .when(reserve([line('SKU-1', 'WH1', 1)], { ttlMs: 1_000 }), { now: t0 + 7 })
      .then([{ expiresAt: t0 + 7 + 1_000, occurredAt: t0 + 7 }]);
    given(...stocked)
      .when(reserve([line('SKU-1', 'WH1', 1)], { ttlMs: ttlMsMax }))
      .then([{ expiresAt: t0 + ttlMsMax }]);
    given(...stocked)
      .when(reserve([line('SKU-1', 'WH1', 1)]), { reservationTtlMsDefault: 5 })
      .then([{ expiresAt: t0 + 5 }]);
  });

  it('is all or nothing: one short line rejects the whole reservation and names only the short lines', () => {
    const lines = [line('SKU-1', 'WH1', 10), line('SKU-2', 'WH1', 4), line('SKU-2', 'WH2', 9)];
    const error = given(...stocked)
      .when(reserve(lines))
      .then('INSUFFICIENT_STOCK');
    expect(error.details).toEqual({
      lines: [
        { sku: 'SKU-2', location: 'WH1', requested: 4, available: 3, onHand: 3 },
        { sku: 'SKU-2', location: 'WH2', requested: 9, available: 8, onHand: 8 },
      ],
    });
  });

  it('counts what other reservations already hold', () => {
    const held = reserved('r0', [line('SKU-1', 'WH1', 7)]);
    given(...stocked, held)
      .when(reserve([line('SKU-1', 'WH1', 3)]))
      .then([{ onHandAfter: 10, reservedAfter: 10 }]);
    const error = given(...stocked, held)
      .when(reserve([line('SKU-1', 'WH1', 4)]))
      .then('INSUFFICIENT_STOCK');
    expect(error.details).toEqual({
      lines: [{ sku: 'SKU-1', location: 'WH1', requested: 4, available: 3, onHand: 10 }],
    });
  });

  it('finds nothing at a location that never received stock', () => {
    given(...stocked)
      .when(reserve([line('SKU-1', 'WH9', 1)]))
      .then('INSUFFICIENT_STOCK');
  });

  it('needs every item registered', () => {
    const error = given(...stocked)
      .when(reserve([line('SKU-1', 'WH1', 1), line('SKU-9', 'WH1', 1)]))
      .then('UNKNOWN_ITEM');
    expect(error.details).toEqual({ sku: 'SKU-9' });
  });

  it('lets a backorder item reserve beyond what is on hand', () => {
    const state = given(...stocked, received('SKU-B', 'WH1', 2))
      .when(reserve([line('SKU-B', 'WH1', 5), line('SKU-B', 'WH2', 3)]))
      .then([
        { sku: 'SKU-B', location: 'WH1', onHandAfter: 2, reservedAfter: 5 },
        { sku: 'SKU-B', location: 'WH2', onHandAfter: 0, reservedAfter: 3 },
      ]);
    expect(state.level('SKU-B', 'WH1')).toMatchObject({ onHand: 2, reserved: 5 });
  });

  it('still holds other lines of a mixed reservation to what is available', () => {
    given(...stocked)
      .when(reserve([line('SKU-B', 'WH1', 50), line('SKU-1', 'WH1', 11)]))
      .then('INSUFFICIENT_STOCK');
  });

  it.each([0, -1, 1.5, ttlMsMax + 1, Number.NaN])('rejects the TTL %d', (ttlMs) => {
    const error = given(...stocked)
      .when(reserve([line('SKU-1', 'WH1', 1)], { ttlMs }))
      .then('INVALID_TTL');
    expect(error.details).toEqual({ field: 'ttlMs', value: ttlMs });
  });

  it('bounds the number of lines', () => {
    const many = (count: number) => Array.from({ length: count }, (_, i) => line('SKU-B', `L${i}`, 1));
    const empty = given(...stocked)
      .when(reserve([]))
      .then('INVALID_LINES');
    expect(empty.details).toEqual({ field: 'lines', count: 0 });
    const tooMany = given(...stocked)
      .when(reserve(many(reservationLinesMax + 1)))
      .then('INVALID_LINES');
    expect(tooMany.details).toEqual({ field: 'lines', count: reservationLinesMax + 1 });
    const state = given(...stocked)
      .when(reserve(many(reservationLinesMax)))
      .then(many(reservationLinesMax).map(() => ({ type: 'StockReserved' as const })));
    expect(state.reservation('r1')?.lines).toHaveLength(reservationLinesMax);
  });

  it('rejects two lines for the same item and location', () => {
    const error = given(...stocked)
      .when(reserve([line('SKU-1', 'WH1', 1), line('SKU-2', 'WH1', 1), line('SKU-1', 'WH1', 2)]))
      .then('INVALID_LINES');
    expect(error.details).toEqual({ field: 'lines[2]', sku: 'SKU-1', location: 'WH1' });
  });

  it('checks the codes and quantity of every line', () => {
    const badCode = given(...stocked)
      .when(reserve([line('SKU-1', 'WH1', 1), line('SKU-1', 'WH 2', 1)]))
      .then('INVALID_CODE');
    expect(badCode.details).toEqual({ field: 'lines[1].location', value: 'WH 2' });
    const badQuantity = given(...stocked)
      .when(reserve([line('SKU-1', 'WH1', 0)]))
      .then('INVALID_QUANTITY');
    expect(badQuantity.details).toEqual({ field: 'lines[0].quantity', value: 0 });
  });
});
