import type { FastifyInstance } from 'fastify';
import { listCrossings, listLowStock } from '../../events/read-side/read-queries.js';
import type { ApiContext } from '../commands.js';
import {
  listSchema,
  nextPosition,
  nextPositionSchema,
  positionAfter,
  readMinPosition,
  readModelsAt,
} from '../read-models.js';
import { codeSchema, nextKey, nextKeySchema, objectSchema, pagingQuery, problemResponses } from '../schemas.js';

// Low stock from the read side: the items below their threshold now, and every crossing of a
// threshold (below, and back to it or above), in the order they happened.

const count = { type: 'integer' };

const lowItem = {
  type: 'object',
  required: ['sku', 'name', 'threshold', 'onHand', 'reserved', 'available', 'position'],
  properties: {
    sku: { type: 'string' },
    name: { type: 'string' },
    threshold: { ...count, description: "The item's own, or the configured default" },
    onHand: { ...count, description: 'Across every location' },
    reserved: count,
    available: { ...count, description: 'onHand - reserved: below threshold' },
    position: { ...count, description: "The ledger position of the item's last change" },
  },
};

const crossing = {
  type: 'object',
  required: ['position', 'sku', 'direction', 'available', 'threshold', 'recordedAt'],
  properties: {
    position: { ...count, description: 'The ledger event that crossed' },
    sku: { type: 'string' },
    direction: { type: 'string', enum: ['below', 'above'], description: '`above`: back to the threshold or over it' },
    available: { ...count, description: 'Available across every location after the event' },
    threshold: count,
    recordedAt: count,
  },
};

export async function lowStockRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { readSide } = context.runtime;
  const tags = ['stock'];
  app.get(
    '/v1/low-stock',
    {
      schema: {
        tags,
        summary: 'Items whose available stock is below their threshold (read model), by SKU',
        querystring: objectSchema({ after: codeSchema, ...pagingQuery, minPosition: readMinPosition }),
        response: { 200: listSchema('items', lowItem, nextKeySchema), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { after, limit, minPosition } = request.query as { after?: string; limit: number; minPosition?: number };
      if (!(await readModelsAt(request, reply, readSide, minPosition, ['low-stock']))) return reply;
      const items = await listLowStock(readSide.db, after, limit);
      return { items, next: nextKey(items, limit, (item) => item.sku) };
    },
  );

  app.get(
    '/v1/low-stock/crossings',
    {
      schema: {
        tags,
        summary: 'Low-stock crossings (read model), in the order they happened',
        querystring: objectSchema({
          sku: codeSchema,
          after: positionAfter,
          ...pagingQuery,
          minPosition: readMinPosition,
        }),
        response: { 200: listSchema('crossings', crossing, nextPositionSchema), ...problemResponses },
      },
    },
    async (request, reply) => {
      const query = request.query as { sku?: string; after: number; limit: number; minPosition?: number };
      if (!(await readModelsAt(request, reply, readSide, query.minPosition, ['low-stock']))) return reply;
      const crossings = await listCrossings(readSide.db, query.sku, query.after, query.limit);
      return { crossings, next: nextPosition(crossings, query.limit) };
    },
  );
}
