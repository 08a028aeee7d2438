import type { FastifyInstance } from 'fastify';
import { type DailyFilter, dailyKey, listDailyMovements } from '../../events/read-side/read-queries.js';
import type { ApiContext } from '../commands.js';
import { listSchema, readMinPosition, readModelsAt } from '../read-models.js';
import { codeSchema, nextKey, nextKeySchema, objectSchema, pagingQuery, problemResponses } from '../schemas.js';

// Reports from the read side. The daily movement report: per UTC day, item and location, how
// many events, and how much came in and went out of on hand and of reserved. A change counts on
// the day it happened (its occurredAt), so a back-dated receipt lands on its own day.

const count = { type: 'integer' };

const dailyRow = {
  type: 'object',
  required: ['date', 'sku', 'location', 'events', 'onHandIn', 'onHandOut', 'reservedIn', 'reservedOut'],
  properties: {
    date: { type: 'string', description: 'YYYY-MM-DD, UTC' },
    sku: { type: 'string' },
    location: { type: 'string' },
    events: count,
    onHandIn: {
      ...count,
      description: 'Units added to on hand (receipts, returns, transfers in, counts and adjustments up)',
    },
    onHandOut: {
      ...count,
      description: 'Units taken from on hand (commits, transfers out, counts and adjustments down)',
    },
    reservedIn: count,
    reservedOut: count,
  },
};

interface DailyQuery extends DailyFilter {
  readonly after?: string;
  readonly limit: number;
  readonly minPosition?: number;
}

export async function reportRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { readSide } = context.runtime;
  app.get(
    '/v1/reports/daily-movements',
    {
      schema: {
        tags: ['reports'],
        summary: 'Daily movements per item and location (read model)',
        querystring: objectSchema({
          date: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'One UTC day, YYYY-MM-DD' },
          sku: codeSchema,
          location: codeSchema,
          after: {
            type: 'string',
            maxLength: 200,
            pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}~[A-Za-z0-9._-]+~[A-Za-z0-9._-]+$',
            description: 'The `next` of the previous page',
          },
          ...pagingQuery,
          minPosition: readMinPosition,
        }),
        response: { 200: listSchema('rows', dailyRow, nextKeySchema), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { after, limit, minPosition, ...filter } = request.query as DailyQuery;
      if (!(await readModelsAt(request, reply, readSide, minPosition, ['daily-movements']))) return reply;
      const rows = await listDailyMovements(readSide.db, filter, after, limit);
      return { rows, next: nextKey(rows, limit, dailyKey) };
    },
  );
}
