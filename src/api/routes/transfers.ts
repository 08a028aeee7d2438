import type { FastifyInstance } from 'fastify';
import { type ApiContext, commandRoute } from '../commands.js';

export async function transferRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  commandRoute(app, context, {
    url: '/v1/transfers',
    type: 'TransferStock',
    tag: 'stock changes',
    summary: 'Move stock between locations (TransferStock)',
    description: 'Moves available units from `from` to `to` in one change; answers both levels.',
  });
}
