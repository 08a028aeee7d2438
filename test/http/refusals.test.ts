import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../support/dialects.js';
import { type Api, expectProblem, get, line, post, startApi, stockedItem } from './harness.js';

// A refused command changes nothing: no level row (not even an empty one), no event, no read.

const locations = ['WH1', 'NEW1', 'NEW2', 'NEW3', 'NEW4', 'NEW5', 'NEW6'];

describe.each(testDialects())('a refused command leaves no trace: %s', (dialect) => {
  let api: Api;
  let sku: string;
  let backorder: string;

  beforeAll(async () => {
    api = await startApi(dialect);
    sku = await stockedItem(api.app, { WH1: 5 });
    backorder = await stockedItem(api.app, {}, { allowBackorder: true });
    const reserved = await post(api.app, '/v1/reservations', { id: 'held-1', lines: [line(sku, 'WH1', 2)] });
    expect(reserved.statusCode).toBe(201);
    for (const [path, body] of [
      ['/v1/receipts', { id: 'used-rcv', sku, location: 'WH1', quantity: 1 }],
      ['/v1/counts', { id: 'used-cnt', sku, location: 'WH1', counted: 6 }],
      ['/v1/adjustments', { id: 'used-adj', sku, location: 'WH1', delta: 1, reason: 'found' }],
    ] as const) {
      expect((await post(api.app, path, body)).statusCode).toBe(201);
    }
  });
  afterAll(async () => api.close());

  /** Every read a client has, and every row of every level, as text. */
  async function everything(): Promise<string> {
    const reads = [
      '/v1/items?limit=1000',
      '/v1/ledger?limit=1000',
      '/v1/reservations/held-1',
      ...[sku, backorder].flatMap((s) => [`/v1/items/${s}`, `/v1/items/${s}/stock`, `/v1/items/${s}/history`]),
      ...locations.map((location) => `/v1/locations/${location}/stock`),
    ];
    const bodies = await Promise.all(reads.map(async (url) => [url, (await get(api.app, url)).body]));
    const levels = await api.runtime.store.scanLevels(undefined, 10_000);
    return JSON.stringify({ bodies, levels, head: await api.runtime.store.headPosition() });
  }

  const refusals = () =>
    [
      [
        'a transfer to the same new location',
        '/v1/transfers',
        { id: 'r1', sku, from: 'NEW1', to: 'NEW1', quantity: 1 },
      ],
      [
        'a transfer beyond stock to a new location',
        '/v1/transfers',
        { id: 'r2', sku, from: 'WH1', to: 'NEW2', quantity: 99 },
      ],
      ['a transfer from a new location', '/v1/transfers', { id: 'r3', sku, from: 'NEW3', to: 'WH1', quantity: 1 }],
      [
        'a receipt with a used id at a new location',
        '/v1/receipts',
        { id: 'used-rcv', sku, location: 'NEW4', quantity: 1 },
      ],
      ['a count with a used id at a new location', '/v1/counts', { id: 'used-cnt', sku, location: 'NEW5', counted: 1 }],
      [
        'an adjustment with a used id at a new location',
        '/v1/adjustments',
        { id: 'used-adj', sku, location: 'NEW6', delta: 1, reason: 'found' },
      ],
      [
        'a reservation of an unknown item beside a backorder line at a new location',
        '/v1/reservations',
        { id: 'r7', lines: [line(backorder, 'NEW1', 3), line('NO-SUCH-SKU', 'NEW1', 1)] },
      ],
      [
        'a reservation beyond stock beside a backorder line at a new location',
        '/v1/reservations',
        { id: 'r8', lines: [line(backorder, 'NEW2', 3), line(sku, 'NEW2', 1)] },
      ],
      [
        'a negative adjustment at a new location',
        '/v1/adjustments',
        { id: 'r9', sku, location: 'NEW3', delta: -1, reason: 'lost' },
      ],
      ['a count below reserved', '/v1/counts', { id: 'r10', sku, location: 'WH1', counted: 1 }],
    ] as const;

  // The cases are listed before beforeAll has made the items: each is built again inside its test.
  const names = refusals().map(([name], index) => [name, index] as const);
  it.each(names)('%s', async (_, index) => {
    const [, url, body] = refusals()[index] as ReturnType<typeof refusals>[number];
    expect(JSON.stringify(body)).toMatch(/"sku":"SKU-\d+"/);
    const before = await everything();
    const response = await post(api.app, url, body);
    expect(response.statusCode, response.body).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(await everything()).toBe(before);
  });

  it('all of them in one batch request, beside nothing else', async () => {
    const before = await everything();
    const commands = refusals().map(([, url, body]) => ({ type: commandType[url], ...body }));
    const response = await post(api.app, '/v1/batch', { commands });
    expect(response.statusCode, response.body).toBe(200);
    const results = response.json().results as { problem?: { status: number } }[];
    const statuses = results.map((result) => result.problem?.status ?? 200);
    expect(statuses.filter((status) => status < 400 || status >= 500)).toEqual([]);
    expect(statuses.length).toBe(commands.length);
    expect(await everything()).toBe(before);
  });

  it('a refused command with a lone surrogate in its text is a 400 that writes nothing', async () => {
    const before = await everything();
    const response = await api.app.inject({
      method: 'POST',
      url: '/v1/returns',
      headers: { 'content-type': 'application/json' },
      payload: `{"id":"s-r1","sku":"${sku}","location":"NEW1","quantity":1,"reason":"a\\ud800b"}`,
    });
    expectProblem(response, 400, 'INVALID_TEXT');
    expect(await everything()).toBe(before);
  });
});

const commandType: Record<string, string> = {
  '/v1/transfers': 'TransferStock',
  '/v1/receipts': 'ReceiveStock',
  '/v1/counts': 'CountStock',
  '/v1/adjustments': 'AdjustStock',
  '/v1/reservations': 'ReserveStock',
};
