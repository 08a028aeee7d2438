import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpErrorStatus, problemCodes, problemStatus } from '../../src/api/http-errors.js';
import { errorStatus } from '../../src/domain/index.js';
import { testDialects } from '../support/dialects.js';
import { type Api, expectProblem, get, line, startApi, stockedItem, unchangedBy, unique } from './harness.js';

// Requests refused before a route runs: query strings read strictly, unknown query parameters,
// paths the router cannot read, methods a path does not answer. Each is a documented problem,
// never a 5xx, and changes nothing. The index at /v1 lists the routes these tests walk.

const { version: packageVersion } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

/** Integer query values that are not 1–16 decimal digits, or are out of range. */
const badIntegers = [
  'Infinity',
  '-Infinity',
  '1e309',
  '1e400',
  '9'.repeat(5000),
  '0x10',
  '1e1',
  '+5',
  '-1',
  '1.5',
  ' 5',
  '',
  '9007199254740992',
  '12345678901234567',
];

interface Route {
  readonly method: string;
  readonly path: string;
}

/** A body each command route accepts, so that only its query string can be refused. */
function validBody(path: string, sku: string): object {
  const id = unique('cmd');
  const change = { id, sku, location: 'WH1' };
  const bodies: Record<string, object> = {
    '/v1/items': { id, sku: unique('NEW') },
    '/v1/receipts': { ...change, quantity: 1 },
    '/v1/incoming': { ...change, delta: 1 },
    '/v1/returns': { ...change, quantity: 1 },
    '/v1/adjustments': { ...change, delta: 1, reason: 'found' },
    '/v1/counts': { ...change, counted: 1 },
    '/v1/transfers': { id, sku, from: 'WH1', to: 'WH2', quantity: 1 },
    '/v1/reservations': { id, lines: [line(sku, 'WH1', 1)] },
    '/v1/reservations/:id/commit': { id },
    '/v1/reservations/:id/release': { id },
    '/v1/batch': { commands: [] },
    '/v1/counts/sheets': { lines: [{ sku, location: 'WH1', counted: 1 }] },
  };
  const body = bodies[path];
  if (body === undefined) throw new Error(`no valid body for POST ${path}: add one`);
  return body;
}

/** Every route of the OpenAPI document, its path in the router's own syntax (`/v1/items/:sku`). */
function documentedRoutes(document: { paths: Record<string, object> }): Route[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{(\w+)\}/g, ':$1') })),
  );
}

function concrete(path: string, sku: string): string {
  return path.replace(':sku', sku).replace(':location', 'WH1').replace(':id', unique('order'));
}

describe.each(testDialects())('HTTP refusals before a route on %s', (dialect) => {
  let api: Api;
  let sku: string;
  let routes: Route[];
  beforeAll(async () => {
    api = await startApi(dialect);
    sku = await stockedItem(api.app, { WH1: 10 });
    routes = documentedRoutes((await get(api.app, '/docs/json')).json());
  });
  afterAll(async () => api?.close());

  const pagedUrls = () => ['/v1/items', '/v1/locations/WH1/stock', '/v1/ledger', `/v1/items/${sku}/history`];

  it('refuses an integer query value that is not decimal digits in range, on every paged route', async () => {
    for (const url of pagedUrls()) {
      for (const value of badIntegers) {
        const response = await get(api.app, `${url}?limit=${encodeURIComponent(value)}`);
        const problem = expectProblem(response, 400, 'VALIDATION_FAILED');
        expect(problem, `${url}?limit=${value.slice(0, 20)}`).toMatchObject({ field: 'limit', in: 'querystring' });
      }
      expectProblem(await get(api.app, `${url}?limit=1&limit=2`), 400, 'VALIDATION_FAILED');
      expect((await get(api.app, `${url}?limit=16`)).statusCode, url).toBe(200);
    }
  });

  it('refuses a ledger position that is not decimal digits in range', async () => {
    for (const url of ['/v1/ledger', `/v1/items/${sku}/history`]) {
      for (const value of badIntegers) {
        const response = await get(api.app, `${url}?after=${encodeURIComponent(value)}`);
        const problem = expectProblem(response, 400, 'VALIDATION_FAILED');
        expect(problem, `${url}?after=${value.slice(0, 20)}`).toMatchObject({ field: 'after', in: 'querystring' });
      }
      const last = await get(api.app, `${url}?after=${Number.MAX_SAFE_INTEGER}&limit=0016`);
      expect([last.statusCode, last.json().next]).toEqual([200, Number.MAX_SAFE_INTEGER]);
    }
  });

  it('refuses an unknown query parameter on every route, changing nothing', async () => {
    expect(routes.length).toBeGreaterThan(15);
    for (const { method, path } of routes) {
      // No route has a `shelf` query parameter (locations are warehouses; bins are not modelled).
      const url = `${concrete(path, sku)}?shelf=WH2`;
      const payload = method === 'POST' ? validBody(path, sku) : undefined;
      const response = await unchangedBy(api, [sku], () =>
        api.app.inject({ method: method as 'GET' | 'POST', url, ...(payload && { payload }) }),
      );
      const problem = expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(problem, `${method} ${path}`).toMatchObject({ field: 'shelf', in: 'querystring' });
    }
  });

  it('answers a path that is not valid percent-encoding with 400 MALFORMED_REQUEST', async () => {
    for (const url of ['/v1/items/%E0%A4%A/stock', '/v1/items/%zz', '/v1/reservations/%']) {
      const problem = expectProblem(await get(api.app, url), 400, 'MALFORMED_REQUEST');
      expect(problem.instance).toBe(url);
    }
  });

  it('answers a path segment over 100 characters with 414 URI_TOO_LONG', async () => {
    const long = 'a'.repeat(101);
    for (const url of [`/v1/items/${long}`, `/v1/items/${long}/stock`, `/v1/reservations/${long}/commit`]) {
      const response = await api.app.inject({ method: url.endsWith('commit') ? 'POST' : 'GET', url });
      expectProblem(response, 414, 'URI_TOO_LONG');
    }
  });

  it('answers a method a path does not answer with 405 and Allow, before reading the body', async () => {
    const cases = [
      ['DELETE', '/v1/items', 'GET, HEAD, POST'],
      ['PUT', `/v1/items/${sku}`, 'GET, HEAD'],
      ['PATCH', '/v1/reservations/order-1/commit', 'POST'],
      ['GET', '/v1/receipts', 'POST'],
      ['OPTIONS', '/v1/ledger', 'GET, HEAD'],
      ['PROPFIND', '/healthz', 'GET, HEAD'],
    ] as const;
    for (const [method, url, allow] of cases) {
      const response = await unchangedBy(api, [sku], () =>
        api.app.inject({ method: method as 'GET', url, headers: { 'content-type': 'text/plain' }, payload: '{' }),
      );
      const problem = expectProblem(response, 405, 'METHOD_NOT_ALLOWED');
      expect([response.headers.allow, problem.allow], `${method} ${url}`).toEqual([allow, allow.split(', ')]);
    }
    expectProblem(await api.app.inject({ method: 'DELETE', url: '/v1/nothing' }), 404, 'NOT_FOUND');
  });

  it('serves an index at /v1: the version, the docs and every documented route', async () => {
    const response = await get(api.app, '/v1');
    expect(response.statusCode).toBe(200);
    const index = response.json();
    expect(index).toMatchObject({ version: packageVersion, docs: '/docs', openapi: '/docs/json' });
    const document = (await get(api.app, '/docs/json')).json();
    expect(document.info.version).toBe(packageVersion);
    const key = ({ method, path }: Route) => `${method} ${path}`;
    expect((index.routes as Route[]).map(key).sort()).toEqual(routes.map(key).sort());
  });
});

describe('the documented error codes', () => {
  const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| ([A-Z_]+|—) \| (.+) \|$/gm)];

  it('lists every code a problem can carry, in order, with its status and title, in docs/api.md', () => {
    const documented = rows.map(([, code, http, grpc, title]) => ({ code, http: Number(http), grpc, title }));
    const expected = problemCodes.map((code) => {
      const grpc = code in errorStatus ? errorStatus[code as keyof typeof errorStatus].grpc : '—';
      return { code, http: problemStatus[code].http, grpc, title: problemStatus[code].title };
    });
    expect(documented).toEqual(expected);
  });

  it('keeps the HTTP layer to client errors of its own', () => {
    for (const [code, { http }] of Object.entries(httpErrorStatus)) {
      expect(code in errorStatus, code).toBe(false);
      expect(http >= 400 && http < 500, code).toBe(true);
    }
  });
});
