import type { FastifyInstance } from 'fastify';
import { type ApiContext, commandRoute } from '../commands.js';

export async function incomingRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  commandRoute(app, context, {
    url: '/v1/incoming',
    type: 'ExpectStock',
    tag: 'stock changes',
    summary: "Change a level's incoming by a signed delta (ExpectStock)",
    description:
      'Units on their way to a location: a confirmed purchase order line raises incoming, a line closed short ' +
      'or cancelled lowers it. Incoming never goes below zero (409 INCOMING_SHORT). A receipt against the ' +
      'order settles it (`fromIncoming` on POST /v1/receipts). Stock reads show `incoming` and ' +
      '`projected = onHand + incoming - reserved`.',
  });
}
