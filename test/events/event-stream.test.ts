import { get as httpGet, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { eventId, type LedgerEvent } from '../../src/domain/index.js';
import { type Api, bearer, expectProblem, line, post, startApi, stockedItem, unique } from '../http/harness.js';
import { testDialects } from '../support/dialects.js';
import { openStream, type SseStream, type StreamedEvent } from '../support/sse.js';

// GET /v1/events/stream over real HTTP (a listening server, fetch() reading the body as it comes):
// resuming with Last-Event-ID while commands commit, heartbeats, the bound on clients, a reader
// too slow to keep, and the end of every stream when the server closes.

const location = 'WH1';
let api: Api | undefined;
const streams: SseStream[] = [];

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  await api?.close();
  api = undefined;
});

async function listening(dialect: Parameters<typeof startApi>[0], env: Record<string, string> = {}) {
  api = await startApi(dialect, env);
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  api.runtime.relays.start();
  const { port } = api.app.server.address() as AddressInfo;
  return { api, base: `http://127.0.0.1:${port}` };
}

async function open(url: string, headers: Record<string, string>): Promise<SseStream> {
  const stream = await openStream(url, headers);
  streams.push(stream);
  return stream;
}

/** The whole ledger as the stream must give it: each event as GET /v1/ledger serves it. */
async function ledgerAsServed(given: Api): Promise<unknown[]> {
  const events: LedgerEvent[] = [];
  for (let page = await given.runtime.store.readLedger(0, 1000); page.length > 0; ) {
    events.push(...page);
    page = await given.runtime.store.readLedger((page.at(-1) as LedgerEvent).position, 1000);
  }
  return events.map((event) => JSON.parse(JSON.stringify({ id: eventId(event), ...event })));
}

const positions = (events: readonly StreamedEvent[]) => events.map((event) => Number(event.id));

for (const dialect of testDialects()) {
  describe(`the event stream (${dialect})`, () => {
    it('resumes with Last-Event-ID while commands commit: nothing missed, nothing twice', async () => {
      const { api, base } = await listening(dialect);
      const auth = bearer(api.adminKey);
      const sku = await stockedItem(api.app, { [location]: 1_000_000 });
      let writing = true;
      const writer = (async () => {
        for (let i = 0; i < 200; i += 1) {
          const response = await post(api.app, '/v1/reservations', {
            id: unique('res'),
            lines: [line(sku, location, 1)],
          });
          expect(response.statusCode).toBe(201);
        }
        writing = false;
      })();
      const received: StreamedEvent[] = [];
      let last: string | undefined;
      // Sessions that each take some events and hang up, mid-chunk or not, while the writer goes on.
      for (let session = 0; writing || session < 3; session += 1) {
        // `after=0` would replay everything: the header must win.
        const headers = last === undefined ? auth : { ...auth, 'last-event-id': last };
        const stream = await open(`${base}/v1/events/stream?after=0`, headers);
        expect(stream.status).toBe(200);
        const target = received.length + 15;
        await stream.until(() => received.length + stream.events.length >= target || !writing);
        stream.close();
        await stream.ended;
        received.push(...stream.events);
        last = received.at(-1)?.id ?? last;
      }
      await writer;
      const head = await api.runtime.store.headPosition();
      const final = await open(`${base}/v1/events/stream`, { ...auth, 'last-event-id': last ?? '0' });
      await final.until(() => Number(final.events.at(-1)?.id ?? last) === head);
      received.push(...final.events);
      expect(positions(received)).toEqual(Array.from({ length: head }, (_, index) => index + 1));
      expect(received.map((event) => JSON.parse(event.data))).toEqual(await ledgerAsServed(api));
    });
  });
}

describe('the event stream on one server', () => {
  it('sends a retry delay, then heartbeats while the ledger is quiet, then each new event', async () => {
    const { api, base } = await listening('sqlite', { SKULD_EVENT_STREAM_HEARTBEAT_MS: '150' });
    const sku = await stockedItem(api.app, { [location]: 10 });
    const head = await api.runtime.store.headPosition();
    const stream = await open(`${base}/v1/events/stream?after=${head}`, bearer(api.adminKey));
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers.get('cache-control')).toBe('no-store');
    await stream.until(() => stream.comments.length >= 3, 3_000);
    expect(stream.events).toEqual([]);
    expect(new Set(stream.comments)).toEqual(new Set(['heartbeat']));
    const reserved = await post(api.app, '/v1/reservations', { id: unique('res'), lines: [line(sku, location, 2)] });
    await stream.until(() => stream.events.length === 1);
    expect(positions(stream.events)).toEqual([reserved.json().position]);
    expect(JSON.parse((stream.events[0] as StreamedEvent).data)).toMatchObject({ type: 'StockReserved', sku });
  });

  it('refuses a client beyond the bound with 503 EVENT_STREAM_FULL, and takes one again when a slot frees', async () => {
    const { api, base } = await listening('sqlite', { SKULD_EVENT_STREAM_CLIENTS_MAX: '2' });
    const auth = bearer(api.adminKey);
    const url = `${base}/v1/events/stream`;
    const first = await open(url, auth);
    await open(url, auth);
    const refused = await fetch(url, { headers: auth });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    const problem = await refused.json();
    expect(problem).toMatchObject({ code: 'EVENT_STREAM_FULL', status: 503 });
    first.close();
    await first.ended;
    // The server sees the client leave on its own schedule: retry until the slot is free.
    let again: SseStream | undefined;
    for (let attempt = 0; attempt < 50 && again === undefined; attempt += 1) {
      const stream = await open(url, auth);
      if (stream.status === 200) again = stream;
      else await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(again?.status).toBe(200);
  });

  it('needs ledger:read, and refuses a Last-Event-ID that is no position', async () => {
    const { api } = await listening('sqlite');
    expectProblem(await api.anonymous({ url: '/v1/events/stream' }), 401, 'UNAUTHENTICATED');
    for (const id of ['abc', '-1', '1.5', '99999999999999999', '9007199254740993']) {
      const response = await api.app.inject({ url: '/v1/events/stream', headers: { 'last-event-id': id } });
      expectProblem(response, 400, 'VALIDATION_FAILED');
    }
  });

  it('disconnects a reader that leaves too much unread, and frees its slot', async () => {
    const { api, base } = await listening('sqlite', {
      SKULD_EVENT_STREAM_HEARTBEAT_MS: '200',
      SKULD_EVENT_STREAM_BUFFER_BYTES_MAX: '65536',
      SKULD_EVENT_STREAM_CLIENTS_MAX: '1',
    });
    // 40,000 events: far more than the socket buffers of loopback hold.
    const locations = Array.from({ length: 100 }, (_, index) => `L${index}`);
    const sku = await stockedItem(api.app, Object.fromEntries(locations.map((where) => [where, 1_000_000])));
    for (let round = 0; round < 4; round += 1) {
      const commands = Array.from({ length: 100 }, () => ({
        type: 'ReserveStock',
        id: unique('res'),
        lines: locations.map((where) => line(sku, where, 1)),
      }));
      expect((await post(api.app, '/v1/batch', { commands })).statusCode).toBe(200);
    }
    const slow = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = httpGet(`${base}/v1/events/stream`, { headers: bearer(api.adminKey) }, (response) => {
        // Never reads: the server's buffer for it fills.
        response.pause();
        resolve(response);
      });
      request.once('error', reject);
    });
    expect(slow.statusCode).toBe(200);
    // The bound is one client: a second is let in only once the server has dropped the slow one.
    const started = Date.now();
    let status = 0;
    while (status !== 200 && Date.now() - started < 10_000) {
      const head = await api.runtime.store.headPosition();
      const stream = await open(`${base}/v1/events/stream?after=${head}`, bearer(api.adminKey));
      status = stream.status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    slow.destroy();
    expect(status).toBe(200);
  });

  it('ends every stream when the server closes', async () => {
    const { api, base } = await listening('sqlite');
    const stream = await open(`${base}/v1/events/stream`, bearer(api.adminKey));
    expect(stream.status).toBe(200);
    const started = Date.now();
    await api.app.close();
    await stream.ended;
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
