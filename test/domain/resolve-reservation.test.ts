import { describe, expect, it } from 'vitest';
import { type Command, expiryCommandId } from '../../src/domain/index.js';
import { given, item, line, received, reserved, resolved, t0 } from '../support/given.js';

// A reservation resolves at most once: committed (stock leaves), released (cancelled) or
// expired (the sweeper, once it is due).

const expiresAt = t0 + 1_000;
const lines = [line('SKU-1', 'WH1', 4), line('SKU-2', 'WH2', 2)];
const pending = [
  item('SKU-1'),
  item('SKU-2'),
  received('SKU-1', 'WH1', 10),
  received('SKU-2', 'WH2', 5),
  reserved('r1', lines, expiresAt),
];

type Resolution = Extract<Command, { type: 'CommitReservation' | 'ReleaseReservation' | 'ExpireReservation' }>;

const commit = (fields: Partial<Extract<Command, { type: 'CommitReservation' }>> = {}): Resolution => ({
  type: 'CommitReservation',
  id: 'c1',
  reservationId: 'r1',
  ...fields,
});
const release: Resolution = { type: 'ReleaseReservation', id: 'c1', reservationId: 'r1', reason: 'order cancelled' };
const expire: Resolution = { type: 'ExpireReservation', id: expiryCommandId('r1'), reservationId: 'r1' };

describe('CommitReservation', () => {
  it('deducts every reserved unit from on hand and from reserved', () => {
    const state = given(...pending)
      .when(commit({ actor: 'packer' }), { now: t0 + 10 })
      .then([
        {
          type: 'ReservationCommitted',
          sku: 'SKU-1',
          location: 'WH1',
          onHandDelta: -4,
          reservedDelta: -4,
          onHandAfter: 6,
          reservedAfter: 0,
          quantity: 4,
          commandId: 'c1',
          reservationId: 'r1',
          expiresAt: null,
          actor: 'packer',
          occurredAt: t0 + 10,
          recordedAt: t0 + 10,
        },
        { sku: 'SKU-2', location: 'WH2', onHandDelta: -2, reservedDelta: -2, onHandAfter: 3, reservedAfter: 0 },
      ]);
    expect(state.reservation('r1')).toMatchObject({
      status: 'committed',
      resolvedAt: t0 + 10,
      lines: [
        { sku: 'SKU-1', quantity: 4, committed: 4 },
        { sku: 'SKU-2', quantity: 2, committed: 2 },
      ],
    });
  });

  it('commits part of a reservation and releases the rest', () => {
    const state = given(...pending)
      .when(commit({ lines: [line('SKU-1', 'WH1', 3)] }))
      .then([
        { sku: 'SKU-1', onHandDelta: -3, reservedDelta: -4, onHandAfter: 7, reservedAfter: 0, quantity: 3 },
        { sku: 'SKU-2', reservedDelta: -2, onHandAfter: 5, reservedAfter: 0, quantity: 0 },
      ]);
    const [first, second] = state.reservation('r1')?.lines ?? [];
    expect(first).toMatchObject({ quantity: 4, committed: 3 });
    expect(second).toMatchObject({ quantity: 2, committed: 0 });
    expect(state.level('SKU-2', 'WH2')).toMatchObject({ onHand: 5, reserved: 0 });
  });

  it('never commits more than a line reserved, nor a line it did not reserve', () => {
    const over = given(...pending)
      .when(commit({ lines: [line('SKU-1', 'WH1', 5)] }))
      .then('COMMIT_EXCEEDS_RESERVATION');
    expect(over.details).toEqual({ sku: 'SKU-1', location: 'WH1', requested: 5, reserved: 4 });
    const elsewhere = given(...pending)
      .when(commit({ lines: [line('SKU-1', 'WH2', 1)] }))
      .then('COMMIT_EXCEEDS_RESERVATION');
    expect(elsewhere.details).toEqual({ sku: 'SKU-1', location: 'WH2', requested: 1, reserved: 0 });
  });

  it('ships a backordered line only from what is on hand', () => {
    const backordered = [
      item('SKU-B', { allowBackorder: true }),
      received('SKU-B', 'WH1', 2),
      reserved('r1', [line('SKU-B', 'WH1', 5)], expiresAt),
    ];
    const error = given(...backordered)
      .when(commit())
      .then('INSUFFICIENT_STOCK');
    expect(error.details).toEqual({
      lines: [{ sku: 'SKU-B', location: 'WH1', requested: 5, available: 2, onHand: 2 }],
    });
    given(...backordered)
      .when(commit({ lines: [line('SKU-B', 'WH1', 2)] }))
      .then([{ onHandDelta: -2, reservedDelta: -5, onHandAfter: 0, reservedAfter: 0 }]);
    given(...backordered, received('SKU-B', 'WH1', 3))
      .when(commit())
      .then([{ onHandAfter: 0, reservedAfter: 0 }]);
  });
});

describe('ReleaseReservation', () => {
  it('returns every reserved unit to available, with its reason', () => {
    const state = given(...pending)
      .when(release)
      .then([
        {
          type: 'ReservationReleased',
          sku: 'SKU-1',
          onHandDelta: 0,
          reservedDelta: -4,
          onHandAfter: 10,
          reservedAfter: 0,
          quantity: 4,
          reservationId: 'r1',
          reason: 'order cancelled',
        },
        { type: 'ReservationReleased', sku: 'SKU-2', reservedDelta: -2, onHandAfter: 5, reservedAfter: 0 },
      ]);
    expect(state.reservation('r1')).toMatchObject({ status: 'released', resolvedAt: t0 });
    expect(state.reservation('r1')?.lines.map((l) => l.committed)).toEqual([null, null]);
  });
});

describe('ExpireReservation', () => {
  it('expires a due reservation on the given clock', () => {
    const state = given(...pending)
      .when({ ...expire, actor: 'sweeper' }, { now: expiresAt })
      .then([
        {
          type: 'ReservationExpired',
          sku: 'SKU-1',
          onHandDelta: 0,
          reservedDelta: -4,
          reservedAfter: 0,
          commandId: 'sys:expire:r1',
          reservationId: 'r1',
          reason: null,
          actor: 'sweeper',
          recordedAt: expiresAt,
        },
        { type: 'ReservationExpired', sku: 'SKU-2', reservedDelta: -2 },
      ]);
    expect(state.reservation('r1')).toMatchObject({ status: 'expired', resolvedAt: expiresAt });
  });

  it('does not expire a reservation before it is due', () => {
    const error = given(...pending)
      .when(expire, { now: expiresAt - 1 })
      .then('RESERVATION_NOT_EXPIRED');
    expect(error.details).toEqual({ reservationId: 'r1', expiresAt });
  });
});

describe('a reservation resolves at most once', () => {
  const resolutions: Array<[string, Resolution, number]> = [
    ['commit', commit(), t0],
    ['release', release, t0],
    ['expire', expire, expiresAt],
  ];
  const outcomes = [
    ['committed', 'RESERVATION_ALREADY_COMMITTED'],
    ['released', 'RESERVATION_ALREADY_RELEASED'],
    ['expired', 'RESERVATION_EXPIRED'],
  ] as const;

  for (const [status, code] of outcomes) {
    it.each(resolutions)(`rejects a %s of a ${status} reservation with ${code}`, (_, command, now) => {
      const error = given(...pending, resolved(status, 'r1', lines))
        .when(command, { now })
        .then(code);
      expect(error.details).toEqual({ reservationId: 'r1', reservationStatus: status, expiresAt });
    });
  }

  it.each(resolutions)('rejects a %s of an unknown reservation', (_, command, now) => {
    const error = given(...pending)
      .when(
        { ...command, reservationId: 'r9', id: command.type === 'ExpireReservation' ? 'sys:expire:r9' : 'c1' },
        {
          now,
        },
      )
      .then('RESERVATION_NOT_FOUND');
    expect(error.details).toEqual({ reservationId: 'r9' });
  });

  it('treats a pending reservation past its expiry as expired before the sweeper runs', () => {
    for (const command of [commit(), release]) {
      for (const now of [expiresAt, expiresAt + 60_000]) {
        const error = given(...pending)
          .when(command, { now })
          .then('RESERVATION_EXPIRED');
        expect(error.details).toEqual({ reservationId: 'r1', reservationStatus: 'pending', expiresAt });
      }
      given(...pending)
        .when(command, { now: expiresAt - 1 })
        .then([{ reservationId: 'r1' }, { reservationId: 'r1' }]);
    }
  });
});
