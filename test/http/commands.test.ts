import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { t0 } from '../support/clock.js';
import { testDialects } from '../support/dialects.js';
import { type Api, bearer, get, keyFor, line, post, startApi, stockedItem, unique } from './harness.js';

describe.each(testDialects())('HTTP commands on %s', (dialect) => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi(dialect);
  });
  afterAll(async () => api?.close());

  it('registers an item, reads it back and lists items by SKU', async () => {
    // Three SKUs that sort in the order made, whatever the counter behind unique() has reached.
    const base = unique('LIST');
    const sku = `${base}-1`;
    const created = await post(api.app, '/v1/items', {
      id: unique('reg'),
      sku,
      name: 'Blue mug',
      allowBackorder: true,
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe(`/v1/items/${sku}`);
    expect(created.headers['idempotent-replayed']).toBeUndefined();
    const registered = { sku, name: 'Blue mug', allowBackorder: true, lowStockThreshold: null, createdAt: t0 };
    const position = await api.runtime.store.headPosition();
    expect(created.json()).toEqual({ ...registered, position });

    const read = await get(api.app, `/v1/items/${sku}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(registered);
    const [event] = (await get(api.app, `/v1/ledger?after=${position - 1}`)).json().events;
    expect(event).toMatchObject({ type: 'ItemRegistered', sku, position, attributes: { name: 'Blue mug' } });

    const others = [`${base}-2`, `${base}-3`];
    for (const other of others) await post(api.app, '/v1/items', { id: unique('reg'), sku: other });
    const first = await get(api.app, `/v1/items?after=${sku}&limit=1`);
    expect(first.json()).toEqual({ items: [expect.objectContaining({ sku: others[0] })], next: others[0] });
    const rest = await get(api.app, `/v1/items?after=${others[0]}&limit=50`);
    expect(rest.json().items.map((item: { sku: string }) => item.sku)).toContain(others[1]);
    expect(rest.json().next).toBeNull();
  });

  it('receives stock and answers the level with the ledger position', async () => {
    const sku = await stockedItem(api.app, {});
    const head = await api.runtime.store.headPosition();
    const receipt = await post(api.app, '/v1/receipts', {
      id: unique('rcv'),
      sku,
      location: 'WH1',
      quantity: 12,
      reference: 'PO-7',
      occurredAt: t0 - 5000,
    });
    expect(receipt.statusCode).toBe(201);
    expect(receipt.headers.location).toBeUndefined();
    expect(receipt.json()).toEqual({
      levels: [
        { sku, location: 'WH1', onHand: 12, reserved: 0, available: 12, incoming: 0, projected: 12, version: 1 },
      ],
      position: head + 1,
    });
    const [event] = (await get(api.app, `/v1/ledger?after=${head}`)).json().events;
    expect(event).toMatchObject({
      type: 'StockReceived',
      sku,
      reference: 'PO-7',
      actor: 'key:test-admin',
      occurredAt: t0 - 5000,
    });
  });

  it('expects stock on its way, settles it with a receipt, and shows incoming and projected on reads', async () => {
    const sku = await stockedItem(api.app, { WH1: 5 });
    await post(api.app, '/v1/reservations', { id: unique('ord'), lines: [line(sku, 'WH1', 2)] });
    const expected = await post(api.app, '/v1/incoming', {
      id: unique('exp'),
      sku,
      location: 'WH1',
      delta: 20,
      reference: 'po:PO-9#1',
    });
    expect(expected.statusCode).toBe(201);
    expect(expected.json().levels).toEqual([
      { sku, location: 'WH1', onHand: 5, reserved: 2, available: 3, incoming: 20, projected: 23, version: 3 },
    ]);
    const receipt = await post(api.app, '/v1/receipts', {
      id: unique('rcv'),
      sku,
      location: 'WH1',
      quantity: 8,
      fromIncoming: 8,
    });
    expect(receipt.json().levels[0]).toMatchObject({ onHand: 13, incoming: 12, available: 11, projected: 23 });
    const stock = (await get(api.app, `/v1/items/${sku}/stock`)).json();
    expect(stock.totals).toEqual({ onHand: 13, reserved: 2, available: 11, incoming: 12, projected: 23 });
    expect((await get(api.app, `/v1/items/${sku}/stock/WH1`)).json()).toMatchObject({ incoming: 12, projected: 23 });
    const head = await api.runtime.store.headPosition();
    // More than is expected is refused, and changes nothing.
    const short = await post(api.app, '/v1/incoming', { id: unique('exp'), sku, location: 'WH1', delta: -13 });
    expect(short.statusCode).toBe(409);
    expect(short.json()).toMatchObject({ code: 'INCOMING_SHORT', incoming: 12, delta: -13 });
    const over = await post(api.app, '/v1/receipts', {
      id: unique('rcv'),
      sku,
      location: 'WH1',
      quantity: 3,
      fromIncoming: 4,
    });
    expect(over.statusCode).toBe(400);
    expect(over.json().code).toBe('INVALID_QUANTITY');
    expect(await api.runtime.store.headPosition()).toBe(head);
    const events = (await get(api.app, `/v1/items/${sku}/history`)).json().events;
    expect(
      events
        .filter((event: { incomingDelta: number }) => event.incomingDelta !== 0)
        .map((event: { type: string; incomingDelta: number; incomingAfter: number }) => [
          event.type,
          event.incomingDelta,
          event.incomingAfter,
        ]),
    ).toEqual([
      ['StockExpected', 20, 20],
      ['StockReceived', -8, 12],
    ]);
  });

  it('returns, adjusts, counts and transfers stock', async () => {
    const sku = await stockedItem(api.app, { WH1: 10 });
    const returned = await post(api.app, '/v1/returns', {
      id: unique('ret'),
      sku,
      location: 'WH1',
      quantity: 2,
      reason: 'damaged box',
      reference: 'RMA-1',
    });
    expect(returned.statusCode).toBe(201);
    expect(returned.json().levels[0]).toMatchObject({ onHand: 12, available: 12 });

    const adjusted = await post(api.app, '/v1/adjustments', {
      id: unique('adj'),
      sku,
      location: 'WH1',
      delta: -3,
      reason: 'breakage',
    });
    expect(adjusted.statusCode).toBe(201);
    expect(adjusted.json().levels[0]).toMatchObject({ onHand: 9, available: 9 });

    const counted = await post(api.app, '/v1/counts', { id: unique('cnt'), sku, location: 'WH1', counted: 7 });
    expect(counted.statusCode).toBe(201);
    expect(counted.json().levels[0]).toMatchObject({ onHand: 7, available: 7 });

    const moved = await post(api.app, '/v1/transfers', { id: unique('trf'), sku, from: 'WH1', to: 'WH2', quantity: 4 });
    expect(moved.statusCode).toBe(201);
    expect(
      moved.json().levels.map(({ location, onHand }: { location: string; onHand: number }) => [location, onHand]),
    ).toEqual([
      ['WH1', 3],
      ['WH2', 4],
    ]);
    const history = (await get(api.app, `/v1/items/${sku}/history`)).json().events;
    expect(history.map((event: { type: string }) => event.type)).toEqual([
      'ItemRegistered',
      'StockReceived',
      'StockReturned',
      'StockAdjusted',
      'StockCounted',
      'StockTransferred',
      'StockTransferred',
    ]);
  });

  it('reserves, reads and fully commits a reservation', async () => {
    const sku = await stockedItem(api.app, { WH1: 10 });
    const id = unique('order');
    const reserved = await post(api.app, '/v1/reservations', { id, lines: [line(sku, 'WH1', 4)], ttlMs: 60_000 });
    expect(reserved.statusCode).toBe(201);
    expect(reserved.headers.location).toBe(`/v1/reservations/${id}`);
    const expected = {
      id,
      status: 'pending',
      lines: [{ sku, location: 'WH1', quantity: 4, committed: null }],
      createdAt: t0,
      expiresAt: t0 + 60_000,
      resolvedAt: null,
    };
    expect(reserved.json()).toEqual({ ...expected, position: expect.any(Number) });
    expect((await get(api.app, `/v1/reservations/${id}`)).json()).toEqual(expected);
    expect((await get(api.app, `/v1/items/${sku}/stock`)).json().totals).toEqual({
      onHand: 10,
      reserved: 4,
      available: 6,
      incoming: 0,
      projected: 6,
    });

    const committed = await post(api.app, `/v1/reservations/${id}/commit`, { id: unique('commit') });
    expect(committed.statusCode).toBe(200);
    expect(committed.headers.location).toBeUndefined();
    expect(committed.json()).toMatchObject({ id, status: 'committed', lines: [{ quantity: 4, committed: 4 }] });
    expect((await get(api.app, `/v1/items/${sku}/stock`)).json().totals).toEqual({
      onHand: 6,
      reserved: 0,
      available: 6,
      incoming: 0,
      projected: 6,
    });
  });

  it('commits part of a reservation and releases the rest', async () => {
    const sku = await stockedItem(api.app, { WH1: 10, WH2: 10 });
    const id = unique('order');
    await post(api.app, '/v1/reservations', { id, lines: [line(sku, 'WH1', 5), line(sku, 'WH2', 3)] });
    const committed = await post(api.app, `/v1/reservations/${id}/commit`, {
      id: unique('commit'),
      lines: [line(sku, 'WH1', 2)],
    });
    expect(committed.statusCode).toBe(200);
    expect(committed.json().lines).toEqual([
      { sku, location: 'WH1', quantity: 5, committed: 2 },
      { sku, location: 'WH2', quantity: 3, committed: 0 },
    ]);
    const stock = (await get(api.app, `/v1/items/${sku}/stock`)).json();
    expect(
      stock.levels.map(({ onHand, reserved }: { onHand: number; reserved: number }) => [onHand, reserved]),
    ).toEqual([
      [8, 0],
      [10, 0],
    ]);
    expect(stock.totals).toEqual({ onHand: 18, reserved: 0, available: 18, incoming: 0, projected: 18 });
  });

  it('releases a reservation with a reason', async () => {
    const sku = await stockedItem(api.app, { WH1: 10 });
    const id = unique('order');
    await post(api.app, '/v1/reservations', { id, lines: [line(sku, 'WH1', 6)] });
    const released = await post(api.app, `/v1/reservations/${id}/release`, { id: unique('rel'), reason: 'cancelled' });
    expect(released.statusCode).toBe(200);
    expect(released.json()).toMatchObject({ id, status: 'released', resolvedAt: t0 });
    expect((await get(api.app, `/v1/items/${sku}/stock`)).json().totals).toEqual({
      onHand: 10,
      reserved: 0,
      available: 10,
      incoming: 0,
      projected: 10,
    });
    const events = (await get(api.app, `/v1/items/${sku}/history`)).json().events;
    expect(events.at(-1)).toMatchObject({ type: 'ReservationReleased', reason: 'cancelled', quantity: 6 });
  });

  it('replays a repeated command with the same status and body, changing nothing', async () => {
    const sku = await stockedItem(api.app, { WH1: 10 });
    const order = { id: unique('order'), lines: [line(sku, 'WH1', 3)] };
    const first = await post(api.app, '/v1/reservations', order);
    const head = await api.runtime.store.headPosition();
    const again = await post(api.app, '/v1/reservations', order);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await api.runtime.store.headPosition()).toBe(head);
    expect((await get(api.app, `/v1/items/${sku}/stock`)).json().totals.reserved).toBe(3);

    // The actor is not part of the payload: a retry from another principal is still a repeat.
    const receipt = { id: unique('rcv'), sku, location: 'WH1', quantity: 1 };
    const received = await post(api.app, '/v1/receipts', receipt);
    const other = bearer(await keyFor(api, ['purchasing']));
    const repeated = await api.app.inject({ method: 'POST', url: '/v1/receipts', payload: receipt, headers: other });
    expect([repeated.statusCode, repeated.headers['idempotent-replayed']]).toEqual([201, 'true']);
    expect(repeated.json()).toEqual(received.json());
  });

  it('replays a stored failure as the same problem', async () => {
    const failing = { id: unique('rcv'), sku: unique('NOPE'), location: 'WH1', quantity: 1 };
    const first = await post(api.app, '/v1/receipts', failing);
    const again = await post(api.app, '/v1/receipts', failing);
    expect([first.statusCode, again.statusCode]).toEqual([404, 404]);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(again.headers['idempotent-replayed']).toBe('true');
    const { requestId: _a, ...firstProblem } = first.json();
    const { requestId: _b, ...againProblem } = again.json();
    expect(againProblem).toEqual(firstProblem);
    expect(againProblem.code).toBe('UNKNOWN_ITEM');
  });
});
