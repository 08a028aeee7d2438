import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { quantityMax, reservationLinesMax } from '../../domain/limits.js';
import type { InventoryPool } from '../inventory-client.js';
import { idParams, lineSchema, ServiceError, sendProblem, serviceApp } from '../service-http.js';
import type { ExpiryWatch } from './expiry-watch.js';
import { type OrderLine, type OrderService, type OrderStatus, orderIdPattern, orderStatuses } from './orders.js';

// The storefront's API of the order service: place, pay, cancel, read and list orders. Errors
// are RFC 9457 problems with the service's stable codes.

const lines = { type: 'array', minItems: 1, maxItems: reservationLinesMax, items: lineSchema(quantityMax) } as const;

const orderParams = idParams(orderIdPattern);

export interface OrderHttpContext {
  readonly orders: OrderService;
  readonly inventory: InventoryPool;
  readonly watch: ExpiryWatch;
  /** The service's metrics: the app observes its requests into it and serves it at /metrics. */
  readonly metrics: Registry;
}

export async function buildOrderApp(context: OrderHttpContext, logger: boolean | object): Promise<FastifyInstance> {
  const app = serviceApp(logger, context.metrics);
  const { orders } = context;

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

  app.get('/v1/orders/:id', { schema: { params: orderParams } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const order = await orders.get(id);
    return order ?? sendProblem(request, reply, new ServiceError('ORDER_NOT_FOUND', 404, `no order ${id}`, { id }));
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
        params: orderParams,
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

  app.post('/v1/orders/:id/cancel', { schema: { params: orderParams } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const order = await orders.cancel(id);
    return reply.code(order.status === 'cancelling' ? 202 : 200).send(order);
  });

  return app;
}
