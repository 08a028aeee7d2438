import type { FastifyInstance } from 'fastify';
import { type ApiContext, commandRoute } from '../commands.js';

export async function countRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  commandRoute(app, context, {
    url: '/v1/counts',
    type: 'CountStock',
    tag: 'stock changes',
    summary: 'Record a cycle count (CountStock)',
    description:
      'Sets on hand to what was counted on the shelf; the event records the difference. A count below what is ' +
      'reserved is COUNT_BELOW_RESERVED: release first.',
  });
}
