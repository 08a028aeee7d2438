import { METHODS } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Histogram, Registry } from 'prom-client';
import { histogramIn, latencySecondsBuckets } from './registered.js';

// HTTP latency by method, route template and status, for every app of a process (the inventory's
// API, the order and purchase services). The route is the template Fastify matched
// (`/v1/items/:sku/stock`), never the URL: a SKU in a label would make a series per item.

const knownMethods: ReadonlySet<string> = new Set(METHODS);

/** The route template a request matched; `unmatched` for a 404 of no route. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

export class HttpMetrics {
  private readonly duration: Histogram<'method' | 'route' | 'status'>;
  private readonly children = new Map<string, Histogram.Internal<'method' | 'route' | 'status'>>();

  constructor(registry: Registry) {
    this.duration = histogramIn(registry, {
      name: 'skuld_http_request_duration_seconds',
      help: 'HTTP requests by method, route template (unmatched: no route) and status, from arrival to the response sent',
      labelNames: ['method', 'route', 'status'],
      buckets: latencySecondsBuckets,
    });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let child = this.children.get(key);
    if (child === undefined) {
      child = this.duration.labels(knownMethods.has(method) ? method : 'other', route, String(status));
      this.children.set(key, child);
    }
    child.observe(seconds);
  }
}

/** Observes every response of `app` (a hook on the root, so every plugin's routes). */
export function observeRequests(app: FastifyInstance, metrics: HttpMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.observe(request.method, routeOf(request), reply.statusCode, reply.elapsedTime / 1000);
  });
}
