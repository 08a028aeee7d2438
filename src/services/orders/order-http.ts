import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { codePattern, quantityMax, reservationLinesMax } from '../../domain/limits.js';
import type { InventoryPool } from '../inventory-client.js';
import type { ExpiryWatch } from './expiry-watch.js';
import {
  OrderError,
  type OrderErrorCode,
  type OrderLine,
  type OrderService,
  type OrderStatus,
  orderErrorStatus,
  orderIdPattern,
  orderStatuses,
} from './orders.js';

// The storefront's API of the order service: place, pay, cancel, read and list orders. Errors
// are RFC 9457 problems with the service's stable codes.

const line = {
  type: 'object',
  required: ['sku', 'location', 'quantity'],
  additionalProperties: false,
  properties: {
    sku: { type: 'string', pattern: codePattern },
    location: { type: 'string', pattern: codePattern },
    quantity: { type: 'integer', minimum: 1, maximum: quantityMax },
  },
} as const;

const lines = { type: 'array', minItems: 1, maxItems: reservationLinesMax, items: line } as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: orderIdPattern } },
} as const;

export interface OrderHttpContext {
  readonly orders: OrderService;
  readonly inventory: InventoryPool;
  readonly watch: ExpiryWatch;
}

export async function buildOrderApp(context: OrderHttpContext, logger: boolean | object): Promise<FastifyInstance> {
  const app = Fastify({ logger, ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array' } } });
  const { orders } = context;

  app.setErrorHandler((error: FastifyError | OrderError, request, reply) => {
    if (error instanceof OrderError) return problem(request, reply, error.code, error.message, error.details);
    if ((error as FastifyError).validation !== undefined) {
      return problem(request, reply, 'VALIDATION_FAILED', error.message, {});
    }
    const status = (error as FastifyError).statusCode ?? 500;
    if (status < 500) return problem(request, reply, 'VALIDATION_FAILED', error.message, {});
    request.log.error({ err: error }, 'request failed');
    return reply
      .code(500)
      .type('application/problem+json')
      .send({ type: 'about:blank', title: 'Internal error', status: 500, code: 'INTERNAL', detail: 'see the log' });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_, reply) => {
    const instances = context.inventory.state();
    const ready = instances.some((instance) => !instance.ejected);
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'inventory unreachable',
      inventory: instances,
      eventsSeen: context.watch.seen(),
      orders: await orders.counts(),
    });
  });

  app.post(
    '/v1/orders',
    {
      schema: {
        body: {
          type: 'object',
          required: ['id', 'customer', 'lines'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', pattern: orderIdPattern },
            customer: { type: 'string', minLength: 1, maxLength: 200 },
            lines,
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { id: string; customer: string; lines: OrderLine[] };
      const order = await orders.place(body);
      // Still placing: the inventory did not answer yet; the order settles when it does.
      return reply.code(order.status === 'placing' ? 202 : 201).send(order);
    },
  );

  app.get('/v1/orders/:id', { schema: { params: idParams } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const order = await orders.get(id);
    return order ?? problem(request, reply, 'ORDER_NOT_FOUND', `no order ${id}`, { id });
  });

  app.get(
    '/v1/orders',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: [...orderStatuses] },
            customer: { type: 'string', maxLength: 200 },
            after: { type: 'string', maxLength: 64 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
      },
    },
    async (request) => {
      const query = request.query as { status?: OrderStatus; customer?: string; after?: string; limit: number };
      const page = await orders.list(query);
      return { orders: page, next: page.length === query.limit ? page.at(-1)?.id : null };
    },
  );

  app.post(
    '/v1/orders/:id/pay',
    {
      schema: {
        params: idParams,
        body: { type: 'object', additionalProperties: false, properties: { lines } },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = (request.body ?? {}) as { lines?: OrderLine[] };
      const order = await orders.pay(id, body.lines);
      return reply.code(order.status === 'paying' ? 202 : 200).send(order);
    },
  );

  app.post('/v1/orders/:id/cancel', { schema: { params: idParams } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const order = await orders.cancel(id);
    return reply.code(order.status === 'cancelling' ? 202 : 200).send(order);
  });

  return app;
}

const problemMembers = new Set(['type', 'title', 'status', 'code', 'detail', 'instance', 'requestId']);

function problem(
  request: FastifyRequest,
  reply: FastifyReply,
  code: OrderErrorCode,
  detail: string,
  details: Readonly<Record<string, unknown>>,
) {
  const status = orderErrorStatus[code];
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `urn:skuld:problem:${code.toLowerCase().replaceAll('_', '-')}`,
      title: code,
      status,
      code,
      detail,
      instance: request.url,
      requestId: request.id,
      // A member of the problem's own is never overwritten by a detail.
      ...Object.fromEntries(Object.entries(details).filter(([key]) => !problemMembers.has(key))),
    });
}
