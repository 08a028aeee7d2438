import type { FastifyInstance } from 'fastify';
import { readModelNames } from '../../events/read-side/read-models.js';
import type { ApiContext } from '../commands.js';
import { problemResponses } from '../schemas.js';

// The read side's state: each read model's position, the ledger head, and how far behind each is.

const count = { type: 'integer' };

const model = {
  type: 'object',
  required: ['model', 'position', 'lagEvents', 'lagMs', 'skipped', 'updatedAt'],
  properties: {
    model: { type: 'string', enum: [...readModelNames] },
    position: { ...count, description: 'The ledger position up to which the model holds every event' },
    lagEvents: { ...count, description: 'Ledger events not yet applied to it' },
    lagMs: { ...count, description: 'How long ago the oldest event not yet applied was recorded; 0 when caught up' },
    skipped: { ...count, description: 'Events of types this version does not know, passed over' },
    updatedAt: { ...count, description: 'When its position last moved (epoch ms; 0: never)' },
  },
};

export async function projectionRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { readSide } = context.runtime;
  app.get(
    '/v1/projections',
    {
      schema: {
        tags: ['ops'],
        summary: "The read models' positions and lag behind the ledger",
        response: {
          200: {
            type: 'object',
            required: ['head', 'projecting', 'models'],
            properties: {
              head: { ...count, description: "The ledger's last position" },
              projecting: { type: 'boolean', description: 'Whether this instance runs a projector' },
              models: { type: 'array', items: model },
            },
          },
          ...problemResponses,
        },
      },
    },
    async () => readSide.status(),
  );
}
