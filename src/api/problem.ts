import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { domainError } from '../domain/index.js';
import { StoreError } from '../store/port.js';
import { type ApiError, httpError, type ProblemCode, problemCodes, problemStatus } from './http-errors.js';
import { validationError } from './validation.js';

// RFC 9457 problem details. Every error the API answers is an error value with a stable code
// (the domain's, or one of the HTTP layer's); its status and title come from one table.

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ProblemCode;
  readonly instance: string;
  readonly requestId: string;
  readonly [member: string]: unknown;
}

export const problemContentType = 'application/problem+json';

const problemTypes = new Map(
  problemCodes.map((code) => [code, `urn:skuld:problem:${code.toLowerCase().replaceAll('_', '-')}`]),
);

const standardMembers = new Set(['type', 'title', 'status', 'detail', 'code', 'instance', 'requestId']);

/** The problem body of an error, its detail given: pure, for routes and the raw socket alike. */
export function problemOf(error: ApiError, requestId: string, instance: string, detail: string): Problem {
  const { http: status, title } = problemStatus[error.code];
  const type = problemTypes.get(error.code) as string;
  const problem: Problem = { type, title, status, detail, code: error.code, instance, requestId };
  if (error.details === undefined) return problem;
  const members: Record<string, unknown> = problem;
  let shadowed: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(error.details)) {
    if (!standardMembers.has(key)) members[key] = value;
    else shadowed = { ...shadowed, [key]: value };
  }
  if (shadowed !== undefined) members.details = shadowed;
  return problem;
}

/**
 * The problem for an error. A 5xx detail may hold driver or host text, so the client gets a
 * generic one and the log gets the cause, under the same request id.
 */
export function toProblem(request: FastifyRequest, error: ApiError, instance: string = request.url): Problem {
  const { http: status, title } = problemStatus[error.code];
  let detail = error.message;
  if (status >= 500) {
    // A 503 (a full queue, a store out of reach) comes in bursts: the engine logs each burst once
    // per batch with its count, and each request only at debug.
    const level = status === 500 ? 'error' : 'debug';
    request.log[level]({ code: error.code, cause: error.message }, 'request failed');
    detail = `${title}; the log holds the cause under request id ${request.id}`;
  }
  return problemOf(error, request.id, instance, detail);
}

/** Answers a problem. It sets `x-request-id` itself: a framework error skips the hook that would. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  const problem = toProblem(request, error);
  return reply.code(problem.status).header('x-request-id', request.id).type(problemContentType).send(problem);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(request, reply, domainError('NOT_FOUND', `no route for ${request.method} ${request.url}`));
}

/**
 * Answers what a route threw, and also (as Fastify's `frameworkErrors`) what Fastify met before
 * it found a route: a bad percent-encoding, an over-long path segment.
 */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(request, reply, classify(error));
}

/** Turns what a route or Fastify threw into an error value; anything unforeseen is INTERNAL. */
function classify(error: FastifyError): ApiError {
  if (error.validation !== undefined) return validationError(error.validation, error.validationContext ?? 'request');
  if (error.code === 'FST_ERR_BAD_URL') return httpError('MALFORMED_REQUEST', 'the path is not valid percent-encoding');
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return httpError('URI_TOO_LONG', 'a path segment is longer than the server reads');
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
    return domainError('PAYLOAD_TOO_LARGE', 'the request body is larger than the server accepts');
  }
  if (error instanceof StoreError && error.kind !== 'internal') return domainError('UNAVAILABLE', error.message);
  const status = error.statusCode ?? 500;
  // Fastify's own client errors: malformed JSON, an unsupported content type, a bad header.
  if (status >= 400 && status < 500) return domainError('VALIDATION_FAILED', error.message);
  return domainError('INTERNAL', error.stack ?? String(error));
}
