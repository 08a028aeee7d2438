import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../support/dialects.js';
import { type Api, expectProblem, get, post, startApi, stockedItem, unchangedBy, unique } from './harness.js';

const bodyLimitBytes = 2048;

const routes = [
  ['/healthz', 'get'],
  ['/readyz', 'get'],
  ['/metrics', 'get'],
  ['/v1/items', 'post'],
  ['/v1/items', 'get'],
  ['/v1/items/{sku}', 'get'],
  ['/v1/items/{sku}/stock', 'get'],
  ['/v1/items/{sku}/history', 'get'],
  ['/v1/receipts', 'post'],
  ['/v1/reservations', 'post'],
  ['/v1/reservations/{id}', 'get'],
  ['/v1/reservations/{id}/commit', 'post'],
  ['/v1/reservations/{id}/release', 'post'],
  ['/v1/returns', 'post'],
  ['/v1/adjustments', 'post'],
  ['/v1/counts', 'post'],
  ['/v1/transfers', 'post'],
  ['/v1/locations/{location}/stock', 'get'],
  ['/v1/ledger', 'get'],
  ['/v1/batch', 'post'],
] as const;

describe.each(testDialects())('HTTP platform on %s', (dialect) => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi(dialect, { SKULD_BODY_LIMIT_BYTES: String(bodyLimitBytes) });
    // Hidden, as only a test has it: every route of the API is in the table of operations.
    api.app.get('/fails', { schema: { hide: true } }, async () => {
      throw new Error('secret driver text');
    });
  });
  afterAll(async () => api?.close());

  it('answers liveness and readiness', async () => {
    const health = await get(api.app, '/healthz');
    expect([health.statusCode, health.json()]).toEqual([200, { status: 'ok' }]);
    const ready = await get(api.app, '/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      position: await api.runtime.store.headPosition(),
      reads: { cache: 'local', redis: 'none', degraded: false },
    });
  });

  it('serves the OpenAPI document with every route and its limits', async () => {
    const response = await get(api.app, '/docs/json');
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe('3.1.0');
    for (const [path, method] of routes) expect(document.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    const reserve = document.paths['/v1/reservations'].post;
    const body = reserve.requestBody.content['application/json'].schema;
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.lines.maxItems).toBe(100);
    expect(body.properties.lines.items.properties.quantity.maximum).toBe(1_000_000_000);
    expect(reserve.responses['201']).toBeDefined();
    expect(reserve.responses['4XX'].content['application/problem+json']).toBeDefined();
    expect(document.paths['/v1/reservations/{id}/commit'].post.responses['200']).toBeDefined();
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['Problem', 'Reservation', 'LedgerEvent', 'ReserveStockCommand']),
    );
    const ui = await get(api.app, '/docs');
    expect([ui.statusCode, ui.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
  });

  it('answers unknown routes with a 404 problem', async () => {
    const problem = expectProblem(await get(api.app, '/v1/nothing'), 404, 'NOT_FOUND');
    expect(problem.instance).toBe('/v1/nothing');
    expectProblem(await api.app.inject({ method: 'DELETE', url: '/v1/nothing' }), 404, 'NOT_FOUND');
  });

  it('echoes a client request id, and makes one when the client sends none or a bad one', async () => {
    const echoed = await api.app.inject({ method: 'GET', url: '/v1/nothing', headers: { 'x-request-id': 'trace-42' } });
    expect(echoed.headers['x-request-id']).toBe('trace-42');
    expect(echoed.json().requestId).toBe('trace-42');
    const made = await api.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\u0007' } });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const other = await get(api.app, '/healthz');
    expect(other.headers['x-request-id']).not.toBe(made.headers['x-request-id']);
  });

  it('answers malformed JSON with 400 VALIDATION_FAILED, changing nothing', async () => {
    const response = await unchangedBy(api, [], () =>
      api.app.inject({
        method: 'POST',
        url: '/v1/receipts',
        headers: { 'content-type': 'application/json' },
        payload: '{"id": "r1", "sku": ',
      }),
    );
    expectProblem(response, 400, 'VALIDATION_FAILED');
    const empty = await post(api.app, '/v1/items', undefined);
    expectProblem(empty, 400, 'VALIDATION_FAILED');
    const text = await api.app.inject({
      method: 'POST',
      url: '/v1/items',
      headers: { 'content-type': 'text/plain' },
      payload: 'id=x',
    });
    expectProblem(text, 400, 'VALIDATION_FAILED');
  });

  it(`answers a body over ${bodyLimitBytes} bytes with 413 PAYLOAD_TOO_LARGE, changing nothing`, async () => {
    const sku = await stockedItem(api.app, { WH1: 1 });
    const payload = { id: unique('rcv'), sku, location: 'WH1', quantity: 1, reference: 'r'.repeat(bodyLimitBytes) };
    const response = await unchangedBy(api, [sku], () => post(api.app, '/v1/receipts', payload));
    expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers an unexpected error with 500 INTERNAL without its internals', async () => {
    const response = await get(api.app, '/fails');
    const problem = expectProblem(response, 500, 'INTERNAL');
    expect(JSON.stringify(problem)).not.toContain('secret');
    expect(problem.detail).toContain(response.headers['x-request-id']);
  });
});

describe.each(testDialects())('HTTP readiness on %s without a store', (dialect) => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi(dialect);
  });
  afterAll(async () => api?.close());

  it('answers 503 UNAVAILABLE once the store is closed', async () => {
    await api.runtime.store.close();
    const problem = expectProblem(await get(api.app, '/readyz'), 503, 'UNAVAILABLE');
    expect(problem.detail).not.toMatch(/connection|database|5432/i);
    expect((await get(api.app, '/healthz')).statusCode).toBe(200);
  });
});
