import type { FastifyInstance } from 'fastify';
import { type ApiContext, commandRoute } from '../commands.js';

export async function receiptRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  commandRoute(app, context, {
    url: '/v1/receipts',
    type: 'ReceiveStock',
    tag: 'stock changes',
    summary: 'Receive stock at a location (ReceiveStock)',
    description: 'Purchase inbound: adds `quantity` to on hand at `location`.',
  });
}
