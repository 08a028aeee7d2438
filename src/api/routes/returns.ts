import type { FastifyInstance } from 'fastify';
import { type ApiContext, commandRoute } from '../commands.js';

export async function returnRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  commandRoute(app, context, {
    url: '/v1/returns',
    type: 'ReturnStock',
    tag: 'stock changes',
    summary: 'Return stock to a location (ReturnStock)',
    description: 'A customer return: adds `quantity` to on hand at `location`.',
  });
}
