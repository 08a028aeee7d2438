import type { ServerResponse } from 'node:http';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { domainError, eventId, type LedgerEvent } from '../../domain/index.js';
import { followLedger, type LedgerTailOptions, tailOptionsOf } from '../../events/ledger-tail.js';
import type { ApiContext } from '../commands.js';
import { sendProblem } from '../problem.js';
import { objectSchema, problemResponses } from '../schemas.js';

// GET /v1/events/stream: the ledger as server-sent events, for integrations and the dashboard.
// Each event's SSE id is its ledger position, so a client that reconnects with Last-Event-ID
// (every EventSource does) resumes exactly after the last event it saw: nothing missed, nothing
// twice. The history comes from the store at the client's pace; live events from the in-process
// relay's pages (ledger-tail.ts). The response is written by hand (the reply is hijacked): a
// stream is not one payload, and it must be ended, not waited for, when the server closes.

/** What EventSource waits before reconnecting after the stream ends. */
const reconnectMs = 1_000;
/** Retry-After of a refusal for want of a slot. */
const fullRetryAfterS = 5;

const streamQuery = objectSchema({
  after: {
    type: 'integer',
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    default: 0,
    description: 'Stream the events after this ledger position (0: the whole ledger). `Last-Event-ID` wins over it',
  },
});

const streamHeaders = {
  type: 'object',
  properties: {
    'last-event-id': {
      type: 'string',
      pattern: '^[0-9]{1,16}$',
      description:
        'The position of the last event received: the stream resumes after it (sent by EventSource on reconnect)',
    },
  },
};

const description =
  'Server-sent events (`text/event-stream`): every ledger event after the position, then each one as it ' +
  'commits, until the client leaves. Each event is `id: <position>` and `data: <the event as GET /v1/ledger ' +
  'gives it>`; a comment line (`: heartbeat`) comes at least every `SKULD_EVENT_STREAM_HEARTBEAT_MS`. ' +
  'Reconnect with `Last-Event-ID` (EventSource does) to resume with nothing missed and nothing repeated. ' +
  'A client that leaves more than `SKULD_EVENT_STREAM_BUFFER_BYTES_MAX` unread for two heartbeat intervals ' +
  'is disconnected; the stream also ends when the server shuts down.';

export async function eventStreamRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { runtime } = context;
  const { config } = runtime;
  const clients = new Set<ServerResponse>();
  const closing = new AbortController();
  // Open streams end before the server waits for its connections to close.
  app.addHook('preClose', (done) => {
    closing.abort();
    done();
  });
  const tail = tailOptionsOf(runtime);

  app.get(
    '/v1/events/stream',
    {
      schema: {
        tags: ['ledger'],
        summary: 'The ledger, live, as server-sent events',
        description,
        querystring: streamQuery,
        headers: streamHeaders,
        response: {
          200: { description: 'An endless `text/event-stream`', content: { 'text/event-stream': { schema: {} } } },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const from = startPosition(request);
      if (from === undefined) {
        const detail = 'Last-Event-ID is past the largest position there can be';
        return sendProblem(request, reply, domainError('VALIDATION_FAILED', detail, { in: 'headers' }));
      }
      if (clients.size >= config.eventStreamClientsMax) {
        reply.header('retry-after', String(fullRetryAfterS));
        const detail = `this instance serves ${config.eventStreamClientsMax} event streams at once (SKULD_EVENT_STREAM_CLIENTS_MAX)`;
        return sendProblem(request, reply, domainError('EVENT_STREAM_FULL', detail));
      }
      const response = reply.raw;
      clients.add(response);
      response.once('close', () => clients.delete(response));
      reply.hijack();
      await serveStream(request, reply, from, {
        tail,
        closing: closing.signal,
        heartbeatMs: config.eventStreamHeartbeatMs,
        bufferBytesMax: config.eventStreamBufferBytesMax,
      });
      return reply;
    },
  );
}

/** Last-Event-ID when sent, else `after`; undefined for an id no position can have. */
function startPosition(request: FastifyRequest): number | undefined {
  const header = request.headers['last-event-id'];
  const from = typeof header === 'string' ? Number(header) : (request.query as { after: number }).after;
  return Number.isSafeInteger(from) ? from : undefined;
}

interface StreamOptions {
  readonly tail: LedgerTailOptions;
  readonly closing: AbortSignal;
  readonly heartbeatMs: number;
  readonly bufferBytesMax: number;
}

/** Writes the stream until the client leaves, falls too far behind, or the server closes. */
async function serveStream(request: FastifyRequest, reply: FastifyReply, from: number, options: StreamOptions) {
  const response = reply.raw;
  const left = new AbortController();
  response.once('close', () => left.abort());
  const signal = AbortSignal.any([left.signal, options.closing]);
  response.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    // A proxy that buffers (nginx) would hold the events back.
    'x-accel-buffering': 'no',
    // The connection ends with the stream: a closing server does not wait for it to idle out.
    connection: 'close',
  });
  response.write(`retry: ${reconnectMs}\n\n`);
  let cursor = from;
  let ended = 'client left';
  const stallMs = 2 * options.heartbeatMs;
  const heartbeat = setInterval(() => {
    // Bytes still unread say as much to the client as a heartbeat would.
    if (response.writableLength === 0) response.write(': heartbeat\n\n');
  }, options.heartbeatMs);
  try {
    for await (const page of followLedger(options.tail, from, signal)) {
      if (response.writableLength > options.bufferBytesMax && !(await drained(response, stallMs, signal))) {
        if (signal.aborted) break;
        ended = 'client too slow';
        response.destroy();
        break;
      }
      response.write(frames(page));
      cursor = (page.at(-1) as LedgerEvent).position;
      // A client catching up from far back over loopback drains every write at once, and pages
      // read from an in-process store resolve without a turn of the event loop: without this
      // yield, one such client would serialize the whole ledger before any other request ran.
      await setImmediatePromise();
    }
    if (options.closing.aborted) ended = 'server closing';
  } catch (error) {
    ended = 'failed';
    request.log.warn({ err: error, position: cursor }, 'event stream: reading the ledger failed; the client resumes');
  } finally {
    clearInterval(heartbeat);
    if (!response.destroyed) response.end();
  }
  request.log.info({ from, position: cursor, ended }, 'event stream ended');
}

function frames(page: readonly LedgerEvent[]): string {
  let text = '';
  for (const event of page)
    text += `id: ${event.position}\ndata: ${JSON.stringify({ id: eventId(event), ...event })}\n\n`;
  return text;
}

/** Whether the client read what it had been sent within `stallMs` (false: it did not, or it left). */
function drained(response: ServerResponse, stallMs: number, signal: AbortSignal): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      response.off('drain', onDrain);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onDrain = () => finish(true);
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(false), stallMs);
    response.on('drain', onDrain);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
