import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type DomainError, domainError, type ErrorCode, errorCodes, errorStatus } from '../domain/index.js';
import { StoreError } from '../store/port.js';
import { validationError } from './validation.js';

// RFC 9457 problem details. Every error the API answers is a domain error value with a stable
// code; its HTTP status and title come from the domain's one table, errorStatus.

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly instance: string;
  readonly requestId: string;
  readonly [member: string]: unknown;
}

export const problemContentType = 'application/problem+json';

const problemTypes = new Map(
  errorCodes.map((code) => [code, `urn:skuld:problem:${code.toLowerCase().replaceAll('_', '-')}`]),
);

const standardMembers = new Set(['type', 'title', 'status', 'detail', 'code', 'instance', 'requestId']);

/**
 * The problem for an error. A 5xx detail may hold driver or host text, so the client gets a
 * generic one and the log gets the cause, under the same request id.
 */
export function toProblem(request: FastifyRequest, error: DomainError, instance: string = request.url): Problem {
  const { http: status, title } = errorStatus[error.code];
  let detail = error.message;
  if (status >= 500) {
    const level = status === 500 ? 'error' : 'warn';
    request.log[level]({ code: error.code, cause: error.message }, 'request failed');
    detail = `${title}; the log holds the cause under request id ${request.id}`;
  }
  const type = problemTypes.get(error.code) as string;
  const problem: Problem = { type, title, status, detail, code: error.code, instance, requestId: request.id };
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

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: DomainError): FastifyReply {
  const problem = toProblem(request, error);
  return reply.code(problem.status).type(problemContentType).send(problem);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(request, reply, domainError('NOT_FOUND', `no route for ${request.method} ${request.url}`));
}

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(request, reply, classify(error));
}

/** Turns what a route or Fastify threw into a domain error; anything unforeseen is INTERNAL. */
function classify(error: FastifyError): DomainError {
  if (error.validation !== undefined) return validationError(error.validation, error.validationContext ?? 'request');
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
    return domainError('PAYLOAD_TOO_LARGE', 'the request body is larger than the server accepts');
  }
  if (error instanceof StoreError && error.kind !== 'internal') return domainError('UNAVAILABLE', error.message);
  const status = error.statusCode ?? 500;
  // Fastify's own client errors: malformed JSON, an unsupported content type, a bad header.
  if (status >= 400 && status < 500) return domainError('VALIDATION_FAILED', error.message);
  return domainError('INTERNAL', error.stack ?? String(error));
}
