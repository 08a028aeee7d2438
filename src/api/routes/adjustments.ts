import type { FastifyInstance } from 'fastify';
import { type ApiContext, commandRoute } from '../commands.js';

export async function adjustmentRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  commandRoute(app, context, {
    url: '/v1/adjustments',
    type: 'AdjustStock',
    tag: 'stock changes',
    summary: 'Adjust on hand by a signed delta (AdjustStock)',
    description:
      'A correction with a reason (damage, loss, found stock). On hand may not fall below what is reserved ' +
      'unless the item allows backorders.',
  });
}
