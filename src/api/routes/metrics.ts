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
          "This instance's metrics in the Prometheus text format: commands by type and outcome, batches, store conflicts and retries, the sweeper, reservations pending, HTTP and gRPC latency, the read cache, relay and projection lag (the families: docs/api.md, Metrics)",
        response: { 200: { type: 'string' } },
      },
    },
    async (_request, reply) => {
      const text = await metrics.metrics();
      return reply.type(metrics.contentType).send(text);
    },
  );
}
