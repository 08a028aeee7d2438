import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { HttpMetrics, observeRequests } from '../metrics/http-metrics.js';
import { RequestLog } from '../request-log.js';

// What the services' HTTP APIs share: a refusal is a ServiceError with a stable code and its
// HTTP status, answered as an RFC 9457 problem; a request the schemas refuse is VALIDATION_FAILED.

export class ServiceError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** A service's refusals: each stable code with its HTTP status. */
export function errorsOf<Code extends string>(statuses: Readonly<Record<Code, number>>) {
  return (code: Code, message: string, details?: Record<string, unknown>) =>
    new ServiceError(code, statuses[code], message, details);
}

const problemMembers = new Set(['type', 'title', 'status', 'code', 'detail', 'instance', 'requestId']);

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: ServiceError) {
  return reply
    .code(error.status)
    .type('application/problem+json')
    .send({
      type: `urn:skuld:problem:${error.code.toLowerCase().replaceAll('_', '-')}`,
      title: error.code,
      status: error.status,
      code: error.code,
      detail: error.message,
      instance: request.url,
      requestId: request.id,
      // A member of the problem's own is never overwritten by a detail.
      ...Object.fromEntries(Object.entries(error.details).filter(([key]) => !problemMembers.has(key))),
    });
}

/**
 * A Fastify app whose errors are problems, that logs one line per request (as the inventory's
 * API does), observes each request's latency into `registry`, and serves it at /metrics.
 */
export function serviceApp(logger: boolean | object, registry: Registry): FastifyInstance {
  const app = Fastify({
    logger,
    logController: new RequestLog({ requestIdLogLabel: 'requestId' }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array' } },
  });
  observeRequests(app, new HttpMetrics(registry));
  app.setErrorHandler((error: FastifyError | ServiceError, request, reply) => {
    if (error instanceof ServiceError) return sendProblem(request, reply, error);
    const status = (error as FastifyError).statusCode ?? 500;
    if ((error as FastifyError).validation !== undefined || status < 500) {
      return sendProblem(request, reply, new ServiceError('VALIDATION_FAILED', 400, error.message));
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(request, reply, new ServiceError('INTERNAL', 500, 'the service failed; see its log'));
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Open, as the services' other routes: they listen where only the storefront and operators reach.
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  return app;
}

const codePattern = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

/** A stock line in a request: a SKU, a location and a quantity from 1 up to `quantityMax`. */
export function lineSchema(quantityMax: number) {
  return {
    type: 'object',
    required: ['sku', 'location', 'quantity'],
    additionalProperties: false,
    properties: {
      sku: { type: 'string', pattern: codePattern },
      location: { type: 'string', pattern: codePattern },
      quantity: { type: 'integer', minimum: 1, maximum: quantityMax },
    },
  } as const;
}

/** Path parameters of one `id`. */
export function idParams(pattern: string) {
  return { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern } } } as const;
}
