import type { Server } from 'node:http';
import type { FastifyHttpOptions, FastifyInstance } from 'fastify';
import { settings } from '../config.js';

// How long a client may take and how many may be connected at once. Fastify waits forever for a
// request that stops halfway (its requestTimeout is 0 unless set) and Node bounds no number of
// connections, so a handful of slow or idle clients could hold the server's sockets for good.

export interface HttpLimits {
  /** From a request's first byte to the end of its headers (ms); a slow sender gets 408 REQUEST_TIMEOUT. */
  readonly headersTimeoutMs: number;
  /** From a request's first byte to the end of its body (ms); a slow sender gets 408 REQUEST_TIMEOUT. */
  readonly requestTimeoutMs: number;
  /** How long a connection is kept open, idle, after a response (ms). */
  readonly keepAliveTimeoutMs: number;
  /** A connection on which nothing moves either way for this long is closed, whatever it is doing (ms). */
  readonly idleTimeoutMs: number;
  /** How often the server looks for requests past their timeouts (ms): a timeout fires up to this late. */
  readonly timeoutCheckIntervalMs: number;
  /** Open connections at most; one more is closed as soon as it is accepted. */
  readonly connectionsMax: number;
}

/**
 * The settings' defaults (src/config.ts). The request timeout lets a body at the largest body
 * limit (64 MiB) arrive at about 2.5 MB/s. The keep-alive timeout is Fastify's default: longer
 * than the 60 s idle timeout of common load balancers, so a balancer closes its pooled connection
 * first and never sends a request on one the server just closed. The idle timeout is a backstop
 * for what the others do not cover: a client that never reads its response, a handler that never
 * answers; no route takes near this long.
 */
export const httpLimitsDefault: HttpLimits = {
  headersTimeoutMs: settings.httpHeadersTimeoutMs.default,
  requestTimeoutMs: settings.httpRequestTimeoutMs.default,
  keepAliveTimeoutMs: settings.httpKeepAliveTimeoutMs.default,
  idleTimeoutMs: settings.httpIdleTimeoutMs.default,
  // Node's default is 30 s, which would let a stalled request live 30 s past its timeout.
  timeoutCheckIntervalMs: 1_000,
  // Twice the most connections the HTTP benchmark opens (bench/options.ts).
  connectionsMax: settings.httpConnectionsMax.default,
};

/** The limits with any overrides, checked: a wrong value here is a programmer's error. */
export function httpLimits(overrides: Partial<HttpLimits> = {}): HttpLimits {
  const limits = { ...httpLimitsDefault, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new Error(`HTTP limit ${name} must be a positive integer`);
  }
  // Node refuses a server whose headers may take longer than the whole request.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) throw new Error('headersTimeoutMs exceeds requestTimeoutMs');
  return limits;
}

/** The Fastify and Node server options that enforce the timeouts. */
export function serverOptions(limits: HttpLimits) {
  return {
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
      // Node answers a missing Host with a bare 400 no listener can change; the API's own hook
      // answers it as a problem instead (see request-guard.ts).
      requireHostHeader: false,
    },
  } satisfies FastifyHttpOptions<Server>;
}

/** How often refused connections are logged: a flood of them must not flood the log. */
const dropLogIntervalMs = 1_000;

/** Bounds the server's open connections, and logs how many were refused, at most once a second. */
export function boundConnections(app: FastifyInstance, limits: HttpLimits): void {
  app.server.maxConnections = limits.connectionsMax;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  const report = () => {
    app.log.warn({ dropped, connectionsMax: limits.connectionsMax }, 'connections refused: too many open');
    dropped = 0;
    timer = undefined;
  };
  app.server.on('drop', () => {
    dropped += 1;
    timer ??= setTimeout(report, dropLogIntervalMs).unref();
  });
  app.addHook('onClose', (_instance, done) => {
    clearTimeout(timer);
    done();
  });
}
