import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { httpLimitsDefault } from '../../src/api/http-limits.js';
import { settings } from '../../src/config.js';
import { testDialects } from '../support/dialects.js';
import { type Api, bearer, startApi } from './harness.js';
import { exchange, expectRawProblem, listen, RawConnection } from './raw-http.js';

// What reaches the server below Fastify's routes, over real sockets: malformed and smuggling-shaped
// requests, oversized headers, CONNECT, requests that stop halfway, too many connections. Every
// answer is a problem with a request id, never a 5xx, and no connection is held past its timeout.

/** Small timeouts so the suite runs fast; the check interval keeps Node from firing them late. */
const limits = { headersTimeoutMs: 300, requestTimeoutMs: 600, timeoutCheckIntervalMs: 50 };
/** Far beyond the timeouts above: a server that never closes fails, a slow machine does not. */
const closeWithinMs = 10_000;

/** The admin key of the API under test, as a raw header line. */
let adminKey = '';
const credential = () => `Authorization: Bearer ${adminKey}\r\n`;
const post = (headers: string, body = '') => `POST /v1/items HTTP/1.1\r\nHost: skuld\r\n${headers}\r\n\r\n${body}`;

const malformed = [
  ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
  ['an unknown HTTP version', 'GET /healthz HTTP/9.9\r\nHost: skuld\r\n\r\n'],
  ['a method with a space in its name', 'G ET /healthz HTTP/1.1\r\nHost: skuld\r\n\r\n'],
  ['Content-Length beside Transfer-Encoding', post('Content-Length: 5\r\nTransfer-Encoding: chunked', '0\r\n\r\n')],
  ['two different Content-Lengths', post('Content-Length: 5\r\nContent-Length: 6', '{}')],
  ['a space before a header colon', post('Content-Length : 2', '{}')],
  ['a Content-Length that is not a number', post('Content-Length: 2x', '{}')],
  // With a credential, so that the route reads the body: a request without one is refused before.
  [
    'a chunk size that is not hex',
    () => post(`${credential()}Content-Type: application/json\r\nTransfer-Encoding: chunked`, 'ZZ\r\n{}'),
  ],
  ['a header name with a NUL', 'GET /healthz HTTP/1.1\r\nHost: skuld\r\nX-A\u0000: 1\r\n\r\n'],
  ['an HTTP/1.1 request without Host', 'GET /healthz HTTP/1.1\r\n\r\n'],
] as const;

describe.each(testDialects())('HTTP connections on %s', (dialect) => {
  let api: Api;
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    api = await startApi(dialect);
    adminKey = api.adminKey;
    app = await buildApp({ runtime: api.runtime, logger: false, limits });
    port = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await api?.close();
  });

  it.each(malformed)('answers %s with 400 MALFORMED_REQUEST and closes the connection', async (_name, request) => {
    const raw = typeof request === 'string' ? request : request();
    expectRawProblem(await exchange(port, raw, closeWithinMs), 400, 'MALFORMED_REQUEST');
  });

  it('answers request headers over 16 KiB with 431 HEADERS_TOO_LARGE', async () => {
    const request = `GET /healthz HTTP/1.1\r\nHost: skuld\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`;
    expectRawProblem(await exchange(port, request, closeWithinMs), 431, 'HEADERS_TOO_LARGE');
  });

  it('answers CONNECT with 405 METHOD_NOT_ALLOWED and an empty Allow', async () => {
    const answer = await exchange(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n', closeWithinMs);
    expectRawProblem(answer, 405, 'METHOD_NOT_ALLOWED');
    expect(answer.headers.allow).toBe('');
  });

  it('serves a well-formed request on the same server, and HTTP/1.0 without Host', async () => {
    const answer = await exchange(port, 'GET /healthz HTTP/1.0\r\n\r\n', closeWithinMs);
    expect([answer.status, JSON.parse(answer.body)]).toEqual([200, { status: 'ok' }]);
  });

  it(`answers requests that stop halfway through their body with 408 after ${limits.requestTimeoutMs} ms, and closes them`, async () => {
    // With a credential: a request without one is refused before its body is read.
    const request = post(`${credential()}Content-Type: application/json\r\nContent-Length: 100`, '{"id":"half');
    const connections = await Promise.all([1, 2, 3].map(() => RawConnection.open(port)));
    for (const connection of connections) connection.write(request);
    for (const connection of connections) {
      expectRawProblem(await connection.response(), 408, 'REQUEST_TIMEOUT');
      expect(await connection.closedWithin(closeWithinMs)).toBe(true);
      expect(await connection.closed).toBeGreaterThanOrEqual(limits.requestTimeoutMs);
    }
  });

  it(`answers a connection that never finishes its headers with 408 after ${limits.headersTimeoutMs} ms`, async () => {
    for (const partial of ['', 'GET /healthz HTTP/1.1\r\nHost: sk']) {
      const connection = await RawConnection.open(port);
      connection.write(partial);
      expectRawProblem(await connection.response(), 408, 'REQUEST_TIMEOUT');
      expect(await connection.closedWithin(closeWithinMs)).toBe(true);
      expect(await connection.closed).toBeGreaterThanOrEqual(limits.headersTimeoutMs);
    }
  });

  it('answers 503 UNAVAILABLE on a kept-alive connection while the server shuts down', async () => {
    const closing = await buildApp({ runtime: api.runtime, logger: false, limits });
    const inClose = deferred();
    const held = deferred();
    closing.addHook('preClose', async () => {
      inClose.resolve();
      await held.promise;
    });
    const connection = await RawConnection.open(await listen(closing));
    connection.write('GET /healthz HTTP/1.1\r\nHost: skuld\r\n\r\n');
    expect((await connection.response()).status).toBe(200);
    const closed = closing.close();
    await inClose.promise;
    connection.write('GET /healthz HTTP/1.1\r\nHost: skuld\r\n\r\n');
    const answer = await connection.response();
    held.resolve();
    await closed;
    expectRawProblem(answer, 503, 'UNAVAILABLE');
    expect(answer.headers.connection).toBe('close');
  });
});

describe.each(testDialects())('HTTP connection bound and request log on %s', (dialect) => {
  const connectionsMax = 2;
  const lines: Record<string, unknown>[] = [];
  let api: Api;
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    api = await startApi(dialect);
    const stream = { write: (line: string) => lines.push(JSON.parse(line)) };
    app = await buildApp({ runtime: api.runtime, logger: { level: 'info', stream }, limits: { connectionsMax } });
    port = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await api?.close();
  });

  it('logs one line per request, when it completes, with its id, method, route, url, status, time and principal', async () => {
    lines.length = 0;
    const ok = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'log-1' } });
    const refused = await app.inject({ method: 'GET', url: '/v1/ledger?limit=0x10', headers: bearer(api.adminKey) });
    const requestLines = lines.filter((line) => 'requestId' in line);
    expect(requestLines).toEqual([
      expect.objectContaining({
        requestId: 'log-1',
        method: 'GET',
        route: '/healthz',
        url: '/healthz',
        statusCode: ok.statusCode,
      }),
      expect.objectContaining({
        requestId: refused.headers['x-request-id'],
        route: '/v1/ledger',
        url: '/v1/ledger?limit=0x10',
      }),
    ]);
    // Before authentication there is no principal; the refused read was authenticated, then refused.
    expect(requestLines[0]).not.toHaveProperty('principal');
    expect(requestLines[1]?.principal).toMatch(/^key:/);
    expect(requestLines.map((line) => [line.level, line.statusCode, typeof line.durationMs])).toEqual([
      [30, 200, 'number'],
      [30, 400, 'number'],
    ]);
  });

  it(`closes connections past ${connectionsMax} unanswered, logs how many, and serves once one is free`, async () => {
    lines.length = 0;
    const held = await Promise.all([1, 2].map(() => RawConnection.open(port)));
    await vi.waitFor(() => expect(openConnections(app)).resolves.toBe(connectionsMax));
    const refused = await RawConnection.open(port);
    refused.write('GET /healthz HTTP/1.1\r\nHost: skuld\r\n\r\n');
    expect(await refused.response()).toMatchObject({ status: 0, body: '' });
    await vi.waitFor(() => expect(lines).toContainEqual(expect.objectContaining({ level: 40, dropped: 1 })), {
      timeout: closeWithinMs,
    });
    for (const connection of held) connection.destroy();
    await vi.waitFor(() => expect(openConnections(app)).resolves.toBe(0));
    const answer = await exchange(
      port,
      'GET /healthz HTTP/1.1\r\nHost: skuld\r\nConnection: close\r\n\r\n',
      closeWithinMs,
    );
    expect(answer.status).toBe(200);
  });
});

function openConnections(app: FastifyInstance): Promise<number> {
  return new Promise((resolve, reject) =>
    app.server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

/** A promise and what resolves it. */
function deferred(): { readonly promise: Promise<void>; resolve(): void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve: () => resolve() };
}

describe('the documented connection limits', () => {
  it('are the defaults in force, each named by its setting', () => {
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8').replaceAll(/\s+/g, ' ');
    const seconds = (ms: number) => `${ms / 1000} s`;
    const stated = [
      [settings.httpHeadersTimeoutMs, seconds(httpLimitsDefault.headersTimeoutMs)],
      [settings.httpRequestTimeoutMs, seconds(httpLimitsDefault.requestTimeoutMs)],
      [settings.httpIdleTimeoutMs, seconds(httpLimitsDefault.idleTimeoutMs)],
      [settings.httpKeepAliveTimeoutMs, seconds(httpLimitsDefault.keepAliveTimeoutMs)],
      [settings.httpConnectionsMax, `${httpLimitsDefault.connectionsMax.toLocaleString('en-US')} connections`],
    ] as const;
    for (const [setting, text] of stated) expect(doc).toContain(`${text} (\`${setting.env}\`)`);
  });
});
