import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../commands.js';

export async function metricsRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { metrics } = context.runtime;
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['health'],
        summary:
          "This instance's metrics in the Prometheus text format (the read cache: hits and misses per layer, loads, single-flight joins, breaker, store reads, degraded reads)",
        response: { 200: { type: 'string' } },
      },
    },
    async (_request, reply) => {
      const text = await metrics.metrics();
      return reply.type(metrics.contentType).send(text);
    },
  );
}
