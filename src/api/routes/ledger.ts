import type { FastifyInstance } from 'fastify';
import { eventId, type LedgerEvent } from '../../domain/index.js';
import type { ApiContext } from '../commands.js';
import { sendProblem } from '../problem.js';
import { type PositionPage, pageSchema, positionAfterQuery, problemResponses } from '../schemas.js';
import { skuParams, unknownItem } from './items.js';

const eventsPage = {
  200: pageSchema('events', 'LedgerEvent', {
    type: 'integer',
    description: 'The last position returned, or `after` when none was: pass it as `after` to tail the ledger',
  }),
  ...problemResponses,
};

/** The ledger is tailed by position: `next` stays put on an empty page, so a reader polls from it. */
function eventPage(events: readonly LedgerEvent[], after: number) {
  return { events: events.map((event) => ({ id: eventId(event), ...event })), next: events.at(-1)?.position ?? after };
}

export async function ledgerRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { store } = context.runtime;
  const tags = ['ledger'];

  app.get(
    '/v1/ledger',
    {
      schema: {
        tags,
        summary: 'Ledger events in position order',
        querystring: positionAfterQuery,
        response: eventsPage,
      },
    },
    async (request) => {
      const { after, limit } = request.query as PositionPage;
      return eventPage(await store.readLedger(after, limit), after);
    },
  );

  app.get(
    '/v1/items/:sku/history',
    {
      schema: {
        tags,
        summary: 'Ledger events of one item, in position order',
        params: skuParams,
        querystring: positionAfterQuery,
        response: eventsPage,
      },
    },
    async (request, reply) => {
      const { sku } = request.params as { sku: string };
      const { after, limit } = request.query as PositionPage;
      const events = await store.itemHistory(sku, after, limit);
      // Only an empty page can hide an unknown SKU; ask for the item then, not on every page.
      if (events.length === 0 && (await store.getItem(sku)) === undefined) {
        return sendProblem(request, reply, unknownItem(sku));
      }
      return eventPage(events, after);
    },
  );
}
