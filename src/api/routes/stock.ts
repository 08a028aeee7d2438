import type { FastifyInstance } from 'fastify';
import { type Level, type LevelView, viewLevel } from '../../domain/index.js';
import type { ApiContext } from '../commands.js';
import { sendProblem } from '../problem.js';
import {
  type CodePage,
  codeAfterQuery,
  codeSchema,
  nextKey,
  nextKeySchema,
  objectSchema,
  pageSchema,
  problemResponses,
} from '../schemas.js';
import { skuParams, unknownItem } from './items.js';

const levelsSchema = { type: 'array', items: { $ref: 'Level#' } };
const total = { type: 'integer' };

function totals(levels: readonly LevelView[]) {
  let onHand = 0;
  let reserved = 0;
  for (const level of levels) {
    onHand += level.onHand;
    reserved += level.reserved;
  }
  return { onHand, reserved, available: onHand - reserved };
}

export async function stockRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { store } = context.runtime;
  const tags = ['stock'];

  app.get(
    '/v1/items/:sku/stock',
    {
      schema: {
        tags,
        summary: 'Levels of an item across locations, with totals',
        params: skuParams,
        response: {
          200: {
            type: 'object',
            required: ['sku', 'levels', 'totals'],
            properties: {
              sku: { type: 'string' },
              levels: levelsSchema,
              totals: {
                type: 'object',
                required: ['onHand', 'reserved', 'available'],
                properties: { onHand: total, reserved: total, available: total },
              },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { sku } = request.params as { sku: string };
      const [item, rows] = await Promise.all([store.getItem(sku), store.itemLevels(sku)]);
      if (item === undefined) return sendProblem(request, reply, unknownItem(sku));
      const levels = rows.map(viewLevel);
      return { sku, levels, totals: totals(levels) };
    },
  );

  app.get(
    '/v1/locations/:location/stock',
    {
      schema: {
        tags,
        summary: 'Levels at a location, by SKU',
        params: objectSchema({ location: codeSchema }, ['location']),
        querystring: codeAfterQuery,
        response: {
          200: {
            ...pageSchema('levels', 'Level', nextKeySchema),
            required: ['location', 'levels', 'next'],
            properties: { location: { type: 'string' }, levels: levelsSchema, next: nextKeySchema },
          },
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { location } = request.params as { location: string };
      const { after, limit } = request.query as CodePage;
      const rows: Level[] = await store.locationLevels(location, after, limit);
      return { location, levels: rows.map(viewLevel), next: nextKey(rows, limit, (level) => level.sku) };
    },
  );
}
