import type { FastifyInstance } from 'fastify';
import { eventId } from '../../domain/index.js';
import { listMovements } from '../../events/read-side/read-queries.js';
import type { ApiContext } from '../commands.js';
import { sendProblem } from '../problem.js';
import { nextPosition, nextPositionSchema, positionAfter, readMinPosition, readModelsAt } from '../read-models.js';
import { codeSchema, objectSchema, pageSchema, pagingQuery, problemResponses } from '../schemas.js';
import { skuParams, unknownItem } from './items.js';

// An item's movements from the read side: its ledger events filtered by location, type and
// time, paged by position. (GET /v1/items/:sku/history reads the store's ledger itself.)

const time = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };

interface MovementsQuery {
  readonly location?: string;
  readonly type?: string;
  readonly from?: number;
  readonly to?: number;
  readonly after: number;
  readonly limit: number;
  readonly minPosition?: number;
}

export async function movementRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { readSide, store } = context.runtime;
  app.get(
    '/v1/items/:sku/movements',
    {
      schema: {
        tags: ['ledger'],
        summary: 'Movements of one item (read model), filtered, in position order',
        description:
          'Every stock event of the item, from the read models: filter by `location`, `type` and the time it ' +
          'happened (`from` inclusive, `to` exclusive, on `occurredAt`); page with `after`.',
        params: skuParams,
        querystring: objectSchema({
          location: codeSchema,
          type: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z]+$' },
          from: { ...time, description: 'Movements that happened at or after this time (epoch ms)' },
          to: { ...time, description: 'Movements that happened before this time (epoch ms)' },
          after: positionAfter,
          ...pagingQuery,
          minPosition: readMinPosition,
        }),
        response: { 200: pageSchema('events', 'LedgerEvent', nextPositionSchema), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { sku } = request.params as { sku: string };
      const { after, limit, minPosition, ...filter } = request.query as MovementsQuery;
      if (!(await readModelsAt(request, reply, readSide, minPosition, ['movements']))) return reply;
      const events = await listMovements(readSide.db, { sku, ...filter }, after, limit);
      if (events.length === 0 && after === 0 && (await store.getItem(sku)) === undefined) {
        return sendProblem(request, reply, unknownItem(sku));
      }
      return { events: events.map((event) => ({ id: eventId(event), ...event })), next: nextPosition(events, limit) };
    },
  );
}
