import type { FastifyInstance } from 'fastify';
import { emptyLevel, type Level, type LevelView, viewLevel } from '../../domain/index.js';
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
import {
  type PastQuery,
  pastClock,
  pastLevelSchema,
  pastPosition,
  pastProperties,
  pastStock,
  pastStockDescription,
  pastTime,
} from './past-stock.js';

const levelsSchema = { type: 'array', items: { $ref: 'Level#' } };

/** Read-your-writes: the `position` of a write's answer. */
const minPosition = {
  type: 'integer',
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description:
    'Serve only data that reflects at least this ledger position (the `position` of a write answer), from whichever layer holds it, else from the store',
};

interface FreshnessQuery {
  readonly minPosition?: number;
}
const total = { type: 'integer' };

function totals(levels: readonly LevelView[]) {
  let onHand = 0;
  let reserved = 0;
  let incoming = 0;
  for (const level of levels) {
    onHand += level.onHand;
    reserved += level.reserved;
    incoming += level.incoming;
  }
  return { onHand, reserved, available: onHand - reserved, incoming, projected: onHand + incoming - reserved };
}

export async function stockRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { stock } = context.runtime;
  const tags = ['stock'];

  app.get(
    '/v1/items/:sku/stock',
    {
      schema: {
        tags,
        summary: 'Levels of an item across locations, with totals',
        description: pastStockDescription,
        params: skuParams,
        querystring: objectSchema({ minPosition, at: pastTime, position: pastPosition, clock: pastClock }),
        response: {
          200: {
            type: 'object',
            required: ['sku', 'levels', 'totals'],
            properties: {
              sku: { type: 'string' },
              levels: { type: 'array', items: pastLevelSchema },
              totals: {
                type: 'object',
                required: ['onHand', 'reserved', 'available'],
                properties: {
                  onHand: total,
                  reserved: total,
                  available: total,
                  incoming: { ...total, description: 'Only in an answer about now' },
                  projected: { ...total, description: 'Only in an answer about now' },
                },
              },
              ...pastProperties,
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { sku } = request.params as { sku: string };
      const query = request.query as FreshnessQuery & PastQuery;
      if (query.at !== undefined || query.position !== undefined || query.clock !== undefined) {
        return pastStock(request, reply, context, sku, query);
      }
      const { item, levels: rows } = await stock.itemStock(sku, query.minPosition);
      if (item === undefined) return sendProblem(request, reply, unknownItem(sku));
      const levels = rows.map(viewLevel);
      return { sku, levels, totals: totals(levels) };
    },
  );

  app.get(
    '/v1/items/:sku/stock/:location',
    {
      schema: {
        tags,
        summary: 'The level of an item at one location',
        description:
          'Served from the same cached entry as the item across locations, so it is as fresh and is invalidated by the same writes. A location the item has never had stock at answers a level of zeros at version 0.',
        params: objectSchema({ sku: codeSchema, location: codeSchema }, ['sku', 'location']),
        querystring: objectSchema({ minPosition }),
        response: { 200: { $ref: 'Level#' }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { sku, location } = request.params as { sku: string; location: string };
      const { minPosition } = request.query as FreshnessQuery;
      const { item, levels } = await stock.itemStock(sku, minPosition);
      if (item === undefined) return sendProblem(request, reply, unknownItem(sku));
      return viewLevel(levels.find((level) => level.location === location) ?? emptyLevel(sku, location));
    },
  );

  app.get(
    '/v1/locations/:location/stock',
    {
      schema: {
        tags,
        summary: 'Levels at a location, by SKU',
        params: objectSchema({ location: codeSchema }, ['location']),
        querystring: { ...codeAfterQuery, properties: { ...(codeAfterQuery.properties as object), minPosition } },
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
      const { after, limit, minPosition } = request.query as CodePage & FreshnessQuery;
      const rows: readonly Level[] = await stock.locationStock(location, after, limit, minPosition);
      return { location, levels: rows.map(viewLevel), next: nextKey(rows, limit, (level) => level.sku) };
    },
  );
}
