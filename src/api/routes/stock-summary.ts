import type { FastifyInstance } from 'fastify';
import { listStockSummary } from '../../events/read-side/read-queries.js';
import type { ApiContext } from '../commands.js';
import { listSchema, readMinPosition, readModelsAt } from '../read-models.js';
import { codeSchema, nextKey, nextKeySchema, objectSchema, pagingQuery, problemResponses } from '../schemas.js';

// Every item's stock across its locations, from the read side: one row an item, by SKU.

const count = { type: 'integer' };

const summary = {
  type: 'object',
  required: ['sku', 'onHand', 'reserved', 'available', 'locations', 'position'],
  properties: {
    sku: { type: 'string' },
    onHand: { ...count, description: 'Across every location' },
    reserved: count,
    available: { ...count, description: 'onHand - reserved' },
    locations: { ...count, description: 'Locations the item has a level at' },
    position: { ...count, description: "The ledger position of the item's last change" },
  },
};

export async function stockSummaryRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { readSide } = context.runtime;
  app.get(
    '/v1/stock/summary',
    {
      schema: {
        tags: ['stock'],
        summary: "Items' stock across locations (read model), by SKU",
        querystring: objectSchema({
          sku: { ...codeSchema, description: 'Only this item' },
          after: { ...codeSchema, description: 'Items after this SKU (the `next` of the previous page)' },
          ...pagingQuery,
          minPosition: readMinPosition,
        }),
        response: { 200: listSchema('items', summary, nextKeySchema), ...problemResponses },
      },
    },
    async (request, reply) => {
      const query = request.query as { sku?: string; after?: string; limit: number; minPosition?: number };
      if (!(await readModelsAt(request, reply, readSide, query.minPosition, ['stock-summary']))) return reply;
      const items = await listStockSummary(readSide.db, query.sku, query.after, query.limit);
      return { items, next: nextKey(items, query.limit, (item) => item.sku) };
    },
  );
}
