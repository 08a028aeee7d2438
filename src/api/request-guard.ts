import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify';
import { domainError } from '../domain/index.js';
import { type ApiError, httpError } from './http-errors.js';
import { sendProblem } from './problem.js';

// The first thing every routed request meets: it gets its `x-request-id` header, and is refused,
// before its body is read, when it has no Host, when the server is closing, or when its path
// exists but not for its method.

/** The methods the request's path answers; empty when no route has the path at all. */
function allowedMethods(app: FastifyInstance, request: FastifyRequest): string[] {
  const url = request.url.split('?', 1)[0] ?? request.url;
  return app.supportedMethods.filter((method) => app.findRoute({ method: method as HTTPMethods, url }) !== null);
}

interface Refusal {
  readonly error: ApiError;
  readonly headers: Readonly<Record<string, string>>;
}

function refusalOf(app: FastifyInstance, request: FastifyRequest, closing: boolean): Refusal | undefined {
  // HTTP/1.1 requires Host (RFC 9112 §3.2); HTTP/1.0 had none.
  if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
    const error = httpError('MALFORMED_REQUEST', 'an HTTP/1.1 request needs a Host header');
    return { error, headers: { connection: 'close' } };
  }
  if (closing) {
    const error = domainError('UNAVAILABLE', 'the server is shutting down: send the request again');
    return { error, headers: { connection: 'close' } };
  }
  if (!request.is404) return undefined;
  const allow = allowedMethods(app, request);
  if (allow.length === 0) return undefined;
  const error = httpError('METHOD_NOT_ALLOWED', `${request.method} is not allowed here: ${allow.join(', ')} are`, {
    allow,
  });
  return { error, headers: { allow: allow.join(', ') } };
}

/** Adds the guard: call it before any other hook or route. */
export function guardRequests(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    const refusal = refusalOf(app, request, closing);
    if (refusal === undefined) {
      done();
      return;
    }
    sendProblem(request, reply.headers(refusal.headers), refusal.error);
  });
}
