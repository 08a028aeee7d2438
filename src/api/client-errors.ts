import { randomUUID } from 'node:crypto';
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyBaseLogger, FastifyInstance } from 'fastify';
import { type HttpError, httpError } from './http-errors.js';
import { type Problem, problemContentType, problemOf } from './problem.js';

// Requests Node's HTTP parser refuses never reach Fastify: malformed syntax, conflicting framing
// (Content-Length beside Transfer-Encoding, the shape of request smuggling), headers over the size
// limit, a request not received within its timeout. Node hands them to the server's 'clientError'
// listener with the raw socket; the answer is written there, a problem like any other, and the
// connection is closed, since what follows on it cannot be framed.

function errorOf(error: ConnectionError): HttpError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return httpError('REQUEST_TIMEOUT', 'the request was not received within the time the server gives');
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return httpError('HEADERS_TOO_LARGE', 'the request line and headers are larger than the server reads');
  }
  const reason = 'reason' in error && typeof error.reason === 'string' ? `: ${error.reason}` : '';
  return httpError('MALFORMED_REQUEST', `the request is not well-formed HTTP${reason}`);
}

/**
 * Whether a response has begun on the socket: then a second one would corrupt it, and the
 * connection is only closed. Node's own handler reads the same private field.
 */
function responseStarted(socket: Socket): boolean {
  return (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage?.headersSent === true;
}

function rawResponse(problem: Problem, headers: readonly string[]): string {
  const body = JSON.stringify(problem);
  const head = [
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}`,
    `content-type: ${problemContentType}; charset=utf-8`,
    `content-length: ${Buffer.byteLength(body)}`,
    `x-request-id: ${problem.requestId}`,
    ...headers,
    'connection: close',
  ];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

/** Writes the problem on the socket, unless a response has begun there, and closes it. */
function answerOnSocket(
  log: FastifyBaseLogger,
  socket: Socket,
  refusal: HttpError,
  cause: string | undefined,
  headers: readonly string[] = [],
): void {
  // No request was parsed, so no client id can be trusted: the problem gets a fresh one.
  const requestId = randomUUID();
  const problem = problemOf(refusal, requestId, `urn:uuid:${requestId}`, refusal.message);
  log.info({ requestId, statusCode: problem.status, code: problem.code, cause }, 'request refused');
  if (socket.writable && !responseStarted(socket)) socket.write(rawResponse(problem, headers));
  socket.destroy();
}

/** Fastify's `clientErrorHandler`: called with the app as `this`. */
export function clientErrorHandler(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  // A reset connection is gone: there is no one to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  answerOnSocket(this.log, socket, errorOf(error), error.code);
}

/**
 * Node gives a CONNECT request to the 'connect' listeners and, without one, closes it unanswered.
 * This server is no proxy: CONNECT is answered as a method no resource allows (an empty Allow).
 */
export function refuseConnect(app: FastifyInstance): void {
  const refusal = httpError('METHOD_NOT_ALLOWED', 'CONNECT is not allowed: this server is not a proxy', { allow: [] });
  app.server.on('connect', (_request, socket: Socket) =>
    answerOnSocket(app.log, socket, refusal, 'CONNECT', ['allow: ']),
  );
}
