import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { quantityMax, reservationLinesMax } from '../../domain/limits.js';
import type { InventoryPool } from '../inventory-client.js';
import { idParams, lineSchema, ServiceError, sendProblem, serviceApp } from '../service-http.js';
import {
  type PurchaseLineInput,
  type PurchaseOrderStatus,
  type PurchaseService,
  purchaseIdPattern,
  purchaseOrderStatuses,
  type ReceiptLineInput,
} from './purchases.js';

// The purchasing team's and the receiving dock's API of the purchase service: purchase orders,
// their confirmation, receipts against their lines, closing one short, reading and listing them.

const poLine = {
  ...lineSchema(quantityMax),
  properties: {
    ...lineSchema(quantityMax).properties,
    expectedAt: { type: 'integer', minimum: 0, description: 'When the supplier is to deliver (ms since the epoch)' },
  },
} as const;

const poParams = idParams(purchaseIdPattern);

export async function buildPurchaseApp(
  context: { readonly purchases: PurchaseService; readonly inventory: InventoryPool; readonly metrics: Registry },
  logger: boolean | object,
): Promise<FastifyInstance> {
  const app = serviceApp(logger, context.metrics);
  const { purchases } = context;

  app.get('/readyz', async (_, reply) => {
    const instances = context.inventory.state();
    const ready = instances.some((instance) => !instance.ejected);
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'inventory unreachable', inventory: instances });
  });

  app.post(
    '/v1/purchase-orders',
    {
      schema: {
        body: {
          type: 'object',
          required: ['id', 'supplier', 'lines'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', pattern: purchaseIdPattern },
            supplier: { type: 'string', minLength: 1, maxLength: 200 },
            lines: { type: 'array', minItems: 1, maxItems: reservationLinesMax, items: poLine },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { id: string; supplier: string; lines: PurchaseLineInput[] };
      return reply.code(201).send(await purchases.create(body));
    },
  );

  app.get('/v1/purchase-orders/:id', { schema: { params: poParams } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const order = await purchases.get(id);
    return (
      order ??
      sendProblem(request, reply, new ServiceError('PURCHASE_ORDER_NOT_FOUND', 404, `no purchase order ${id}`, { id }))
    );
  });

  app.get(
    '/v1/purchase-orders',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: [...purchaseOrderStatuses] },
            after: { type: 'string', maxLength: 64 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
      },
    },
    async (request) => {
      const query = request.query as { status?: PurchaseOrderStatus; after?: string; limit: number };
      const page = await purchases.list(query);
      return { purchaseOrders: page, next: page.length === query.limit ? page.at(-1)?.id : null };
    },
  );

  for (const [verb, act] of [
    ['confirm', (id: string) => purchases.confirm(id)],
    ['cancel', (id: string) => purchases.cancel(id)],
    ['close', (id: string) => purchases.closeShort(id)],
  ] as const) {
    app.post(`/v1/purchase-orders/:id/${verb}`, { schema: { params: poParams } }, async (request) =>
      act((request.params as { id: string }).id),
    );
  }

  app.post(
    '/v1/purchase-orders/:id/receipts',
    {
      schema: {
        params: poParams,
        body: {
          type: 'object',
          required: ['id', 'lines'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', pattern: purchaseIdPattern },
            lines: {
              type: 'array',
              minItems: 1,
              maxItems: reservationLinesMax,
              items: {
                type: 'object',
                required: ['line', 'quantity'],
                additionalProperties: false,
                properties: {
                  line: { type: 'integer', minimum: 1, maximum: reservationLinesMax },
                  quantity: { type: 'integer', minimum: 1, maximum: quantityMax },
                },
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = request.body as { id: string; lines: ReceiptLineInput[] };
      return reply.code(201).send(await purchases.receive(id, body));
    },
  );

  return app;
}
