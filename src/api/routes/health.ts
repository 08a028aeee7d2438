import type { FastifyInstance } from 'fastify';
import { domainError } from '../../domain/index.js';
import type { ApiContext } from '../commands.js';
import { sendProblem } from '../problem.js';
import { problemResponses } from '../schemas.js';

const readsSchema = {
  type: 'object',
  required: ['cache', 'redis', 'degraded'],
  description: 'The read path: still ready when degraded, since reads go on from the in-process cache and the store',
  properties: {
    cache: { type: 'string', enum: ['off', 'local', 'redis'] },
    redis: {
      type: 'string',
      enum: ['up', 'down', 'none'],
      description: '`down`: the breaker is open and reads skip Redis',
    },
    degraded: {
      type: 'boolean',
      description: 'Reads skip Redis, or expired in-process values were served lately because the store limit was full',
    },
  },
};

export async function healthRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { store, engine, stock } = context.runtime;
  const tags = ['health'];
  const ok = { status: 'ok' } as const;

  app.get(
    '/healthz',
    {
      schema: {
        tags,
        summary: 'Liveness: the process answers (touches nothing)',
        response: { 200: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } } },
      },
    },
    async () => ok,
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags,
        summary: 'Readiness: the store answers and the write path runs; how the read path stands',
        response: {
          200: {
            type: 'object',
            required: ['status', 'position', 'reads'],
            properties: {
              status: { type: 'string' },
              position: { type: 'integer', description: 'Ledger head' },
              reads: readsSchema,
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      if (engine.stopped !== undefined) {
        return sendProblem(request, reply, domainError('UNAVAILABLE', `the write path stopped: ${engine.stopped}`));
      }
      try {
        return { status: 'ready', position: await store.headPosition(), reads: stock.state() };
      } catch (error) {
        const cause = error instanceof Error ? error.message : String(error);
        return sendProblem(request, reply, domainError('UNAVAILABLE', `the store did not answer: ${cause}`));
      }
    },
  );
}
