import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../commands.js';
import { problemResponses } from '../schemas.js';

// The inventory instances sharing this store, from the heartbeats each records in it: where each
// serves, since when, when it was last seen, and whether that was recent enough to call it healthy.

const epochMs = { type: 'integer', description: 'Epoch ms' };

const instance = {
  type: 'object',
  required: ['id', 'httpUrl', 'grpcUrl', 'startedAt', 'lastSeenAt', 'healthy'],
  properties: {
    id: { type: 'string', description: 'The instance: host, process and a random part (a restart is a new instance)' },
    httpUrl: { type: 'string', description: 'Where its HTTP API listens' },
    grpcUrl: { type: ['string', 'null'], description: 'Where its gRPC server listens; null: no gRPC' },
    startedAt: { ...epochMs, description: 'When it started (epoch ms)' },
    lastSeenAt: { ...epochMs, description: 'Its latest heartbeat (epoch ms)' },
    healthy: {
      type: 'boolean',
      description: 'Seen within the last three heartbeat intervals (SKULD_HEARTBEAT_INTERVAL_MS)',
    },
  },
};

export async function instanceRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { instances } = context.runtime;
  app.get(
    '/v1/instances',
    {
      schema: {
        tags: ['ops'],
        summary: 'The inventory instances sharing this store and their health, most recently seen first (at most 100)',
        response: {
          200: {
            type: 'object',
            required: ['instances'],
            properties: { instances: { type: 'array', items: instance } },
          },
          ...problemResponses,
        },
      },
    },
    async () => ({ instances: await instances.list() }),
  );
}
