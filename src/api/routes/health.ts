import type { FastifyInstance } from 'fastify';
import { domainError } from '../../domain/index.js';
import type { ApiContext } from '../commands.js';
import { sendProblem } from '../problem.js';
import { problemResponses } from '../schemas.js';

export async function healthRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { store, engine } = context.runtime;
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
        summary: 'Readiness: the store answers and the write path runs',
        response: {
          200: {
            type: 'object',
            required: ['status', 'position'],
            properties: { status: { type: 'string' }, position: { type: 'integer', description: 'Ledger head' } },
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
        return { status: 'ready', position: await store.headPosition() };
      } catch (error) {
        const cause = error instanceof Error ? error.message : String(error);
        return sendProblem(request, reply, domainError('UNAVAILABLE', `the store did not answer: ${cause}`));
      }
    },
  );
}
