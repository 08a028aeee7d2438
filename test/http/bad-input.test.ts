import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantityMax, reservationLinesMax, textLengthMax } from '../../src/domain/index.js';
import { testDialects } from '../support/dialects.js';
import { type Api, expectProblem, get, line, post, startApi, stockedItem, unchangedBy, unique } from './harness.js';

interface Case {
  readonly name: string;
  readonly url: string;
  readonly body: (sku: string) => unknown;
  readonly status: number;
  readonly code: string;
}

const receipt = (sku: string, changes: object = {}) => ({
  id: unique('rcv'),
  sku,
  location: 'WH1',
  quantity: 5,
  ...changes,
});
const order = (sku: string, changes: object = {}) => ({
  id: unique('order'),
  lines: [line(sku, 'WH1', 2)],
  ...changes,
});

/** Each is rejected with its documented status and code, and must leave the store as it was. */
const cases: readonly Case[] = [
  {
    name: 'unknown SKU on a receipt',
    url: '/v1/receipts',
    body: () => receipt(unique('NOPE')),
    status: 404,
    code: 'UNKNOWN_ITEM',
  },
  {
    name: 'unknown SKU on a reservation line',
    url: '/v1/reservations',
    body: (sku) => ({ id: unique('order'), lines: [line(sku, 'WH1', 1), line(unique('NOPE'), 'WH1', 1)] }),
    status: 404,
    code: 'UNKNOWN_ITEM',
  },
  {
    name: 'zero quantity',
    url: '/v1/receipts',
    body: (sku) => receipt(sku, { quantity: 0 }),
    status: 400,
    code: 'INVALID_QUANTITY',
  },
  {
    name: 'negative quantity',
    url: '/v1/receipts',
    body: (sku) => receipt(sku, { quantity: -4 }),
    status: 400,
    code: 'INVALID_QUANTITY',
  },
  {
    name: 'huge quantity',
    url: '/v1/receipts',
    body: (sku) => receipt(sku, { quantity: quantityMax + 1 }),
    status: 400,
    code: 'INVALID_QUANTITY',
  },
  {
    name: 'zero quantity on a reservation line',
    url: '/v1/reservations',
    body: (sku) => order(sku, { lines: [line(sku, 'WH1', 0)] }),
    status: 400,
    code: 'INVALID_QUANTITY',
  },
  {
    name: 'zero adjustment',
    url: '/v1/adjustments',
    body: (sku) => ({ id: unique('adj'), sku, location: 'WH1', delta: 0, reason: 'none' }),
    status: 400,
    code: 'INVALID_QUANTITY',
  },
  {
    name: 'negative count',
    url: '/v1/counts',
    body: (sku) => ({ id: unique('cnt'), sku, location: 'WH1', counted: -1 }),
    status: 400,
    code: 'INVALID_QUANTITY',
  },
  {
    name: 'malformed id',
    url: '/v1/receipts',
    body: (sku) => receipt(sku, { id: 'bad id!' }),
    status: 400,
    code: 'INVALID_ID',
  },
  {
    name: 'system id',
    url: '/v1/receipts',
    body: (sku) => receipt(sku, { id: 'sys:expire:x' }),
    status: 400,
    code: 'INVALID_ID',
  },
  {
    name: 'too long id',
    url: '/v1/reservations',
    body: (sku) => order(sku, { id: 'x'.repeat(65) }),
    status: 400,
    code: 'INVALID_ID',
  },
  {
    name: 'an actor in the body (the actor is the credential)',
    url: '/v1/receipts',
    body: (sku) => receipt(sku, { actor: 'someone-else' }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  { name: 'malformed SKU', url: '/v1/receipts', body: () => receipt('SKU 1'), status: 400, code: 'INVALID_CODE' },
  {
    name: 'empty location',
    url: '/v1/receipts',
    body: (sku) => receipt(sku, { location: '' }),
    status: 400,
    code: 'INVALID_CODE',
  },
  {
    name: 'malformed transfer target',
    url: '/v1/transfers',
    body: (sku) => ({ id: unique('trf'), sku, from: 'WH1', to: 'W/2', quantity: 1 }),
    status: 400,
    code: 'INVALID_CODE',
  },
  {
    name: 'TTL beyond the maximum',
    url: '/v1/reservations',
    body: (sku) => order(sku, { ttlMs: 10 ** 12 }),
    status: 400,
    code: 'INVALID_TTL',
  },
  {
    name: 'no lines',
    url: '/v1/reservations',
    body: (sku) => order(sku, { lines: [] }),
    status: 400,
    code: 'INVALID_LINES',
  },
  {
    name: 'too many lines',
    url: '/v1/reservations',
    body: (sku) =>
      order(sku, { lines: Array.from({ length: reservationLinesMax + 1 }, (_, i) => line(sku, `L${i}`, 1)) }),
    status: 400,
    code: 'INVALID_LINES',
  },
  {
    name: 'the same level on two lines',
    url: '/v1/reservations',
    body: (sku) => order(sku, { lines: [line(sku, 'WH1', 1), line(sku, 'WH1', 1)] }),
    status: 400,
    code: 'INVALID_LINES',
  },
  {
    name: 'too long a name',
    url: '/v1/items',
    body: () => ({ id: unique('reg'), sku: unique('NEW'), name: 'n'.repeat(textLengthMax + 1) }),
    status: 400,
    code: 'INVALID_TEXT',
  },
  {
    name: 'empty adjustment reason',
    url: '/v1/adjustments',
    body: (sku) => ({ id: unique('adj'), sku, location: 'WH1', delta: 1, reason: '' }),
    status: 400,
    code: 'INVALID_TEXT',
  },
  {
    name: 'quantity as a string',
    url: '/v1/receipts',
    body: (sku) => receipt(sku, { quantity: '5' }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'fractional quantity',
    url: '/v1/receipts',
    body: (sku) => receipt(sku, { quantity: 1.5 }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'lines as an object',
    url: '/v1/reservations',
    body: (sku) => order(sku, { lines: {} }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'allowBackorder as a string',
    url: '/v1/items',
    body: () => ({ id: unique('reg'), sku: unique('NEW'), allowBackorder: 'yes' }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'an unknown member',
    url: '/v1/receipts',
    body: (sku) => receipt(sku, { priority: 1 }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'an unknown member in a line',
    url: '/v1/reservations',
    body: (sku) => order(sku, { lines: [{ ...line(sku, 'WH1', 1), note: 'x' }] }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  {
    name: 'a missing quantity',
    url: '/v1/receipts',
    body: (sku) => ({ id: unique('rcv'), sku, location: 'WH1' }),
    status: 400,
    code: 'VALIDATION_FAILED',
  },
  { name: 'an array body', url: '/v1/receipts', body: (sku) => [receipt(sku)], status: 400, code: 'VALIDATION_FAILED' },
  {
    name: 'a transfer to the same location',
    url: '/v1/transfers',
    body: (sku) => ({ id: unique('trf'), sku, from: 'WH1', to: 'WH1', quantity: 1 }),
    status: 400,
    code: 'SAME_LOCATION',
  },
  {
    name: 'a reservation beyond available stock',
    url: '/v1/reservations',
    body: (sku) => order(sku, { lines: [line(sku, 'WH1', 11)] }),
    status: 409,
    code: 'INSUFFICIENT_STOCK',
  },
  {
    name: 'a transfer beyond available stock',
    url: '/v1/transfers',
    body: (sku) => ({ id: unique('trf'), sku, from: 'WH1', to: 'WH2', quantity: 11 }),
    status: 409,
    code: 'INSUFFICIENT_STOCK',
  },
  {
    name: 'a registration of an existing item',
    url: '/v1/items',
    body: (sku) => ({ id: unique('reg'), sku }),
    status: 409,
    code: 'ITEM_ALREADY_EXISTS',
  },
];

describe.each(testDialects())('HTTP bad input on %s', (dialect) => {
  let api: Api;
  let sku: string;
  beforeAll(async () => {
    api = await startApi(dialect);
    sku = await stockedItem(api.app, { WH1: 10 });
  });
  afterAll(async () => api?.close());

  it.each(cases)('$name → $status $code, changing nothing', async ({ url, body, status, code }) => {
    const response = await unchangedBy(api, [sku], () => post(api.app, url, body(sku)));
    expectProblem(response, status, code);
  });

  it('names the failing field of a schema failure', async () => {
    const response = await post(
      api.app,
      '/v1/reservations',
      order(sku, { lines: [line(sku, 'WH1', 1), line(sku, 'B', -1)] }),
    );
    const problem = expectProblem(response, 400, 'INVALID_QUANTITY');
    expect(problem).toMatchObject({ field: 'lines[1].quantity', in: 'body', instance: '/v1/reservations' });
  });

  it('rejects a malformed path id and an unknown query parameter', async () => {
    expectProblem(await get(api.app, '/v1/reservations/bad!id'), 400, 'INVALID_ID');
    expectProblem(await get(api.app, '/v1/items/bad%20sku'), 400, 'INVALID_CODE');
    expectProblem(await get(api.app, '/v1/ledger?from=3'), 400, 'VALIDATION_FAILED');
    expectProblem(await get(api.app, '/v1/ledger?limit=0'), 400, 'VALIDATION_FAILED');
    expectProblem(await get(api.app, '/v1/items?limit=many'), 400, 'VALIDATION_FAILED');
  });

  it('answers 422 IDEMPOTENCY_CONFLICT for an id reused with another payload, changing nothing', async () => {
    const first = receipt(sku);
    expect((await post(api.app, '/v1/receipts', first)).statusCode).toBe(201);
    const response = await unchangedBy(api, [sku], () => post(api.app, '/v1/receipts', { ...first, quantity: 6 }));
    expect(expectProblem(response, 422, 'IDEMPOTENCY_CONFLICT')).toMatchObject({ commandId: first.id });
    // Another command type under the same id conflicts too.
    const reused = await unchangedBy(api, [sku], () => post(api.app, '/v1/reservations', order(sku, { id: first.id })));
    expectProblem(reused, 422, 'IDEMPOTENCY_CONFLICT');
  });

  it('answers 409 for a commit after a release, changing nothing', async () => {
    const held = order(sku);
    await post(api.app, '/v1/reservations', held);
    expect((await post(api.app, `/v1/reservations/${held.id}/release`, { id: unique('rel') })).statusCode).toBe(200);
    const response = await unchangedBy(api, [sku], () =>
      post(api.app, `/v1/reservations/${held.id}/commit`, { id: unique('commit') }),
    );
    const problem = expectProblem(response, 409, 'RESERVATION_ALREADY_RELEASED');
    expect(problem).toMatchObject({ reservationId: held.id, reservationStatus: 'released' });
    expectProblem(
      await post(api.app, `/v1/reservations/${held.id}/release`, { id: unique('rel') }),
      409,
      'RESERVATION_ALREADY_RELEASED',
    );
  });

  it('answers 409 for a commit after expiry, changing nothing until the sweep expires it', async () => {
    const held = order(sku, { ttlMs: 1000 });
    await post(api.app, '/v1/reservations', held);
    api.clock.advance(1001);
    const response = await unchangedBy(api, [sku], () =>
      post(api.app, `/v1/reservations/${held.id}/commit`, { id: unique('commit') }),
    );
    expectProblem(response, 409, 'RESERVATION_EXPIRED');
    expect(await api.runtime.sweeper.sweep()).toBe(1);
    expect((await get(api.app, `/v1/reservations/${held.id}`)).json().status).toBe('expired');
    expect((await get(api.app, `/v1/items/${sku}/stock`)).json().totals.reserved).toBe(0);
  });

  it('answers 409 for a commit beyond what was reserved and 404 for an unknown reservation', async () => {
    const held = order(sku);
    await post(api.app, '/v1/reservations', held);
    const over = await unchangedBy(api, [sku], () =>
      post(api.app, `/v1/reservations/${held.id}/commit`, { id: unique('commit'), lines: [line(sku, 'WH1', 3)] }),
    );
    expectProblem(over, 409, 'COMMIT_EXCEEDS_RESERVATION');
    const missing = await unchangedBy(api, [sku], () =>
      post(api.app, `/v1/reservations/${unique('none')}/commit`, { id: unique('commit') }),
    );
    expectProblem(missing, 404, 'RESERVATION_NOT_FOUND');
    expectProblem(await get(api.app, `/v1/reservations/${unique('none')}`), 404, 'RESERVATION_NOT_FOUND');
    await post(api.app, `/v1/reservations/${held.id}/release`, { id: unique('rel') });
  });

  it('answers 409 for a count below what is reserved', async () => {
    const held = order(sku, { lines: [line(sku, 'WH1', 4)] });
    await post(api.app, '/v1/reservations', held);
    const response = await unchangedBy(api, [sku], () =>
      post(api.app, '/v1/counts', { id: unique('cnt'), sku, location: 'WH1', counted: 3 }),
    );
    expectProblem(response, 409, 'COUNT_BELOW_RESERVED');
    await post(api.app, `/v1/reservations/${held.id}/release`, { id: unique('rel') });
  });
});
