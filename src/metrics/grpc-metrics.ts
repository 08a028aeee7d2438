import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import type { Histogram, Registry } from 'prom-client';
import { histogramIn, latencySecondsBuckets } from './registered.js';

// gRPC latency by method and status code, observed by an interceptor around every call the
// server answers (the access check's refusals included). A streaming call (WatchEvents) is
// observed when its response starts, not when the stream ends.

/** Status codes by name, as grpc-status names them in lower snake case (`ok`, `not_found`, …). */
const codeNames: ReadonlyMap<Code, string> = new Map(
  Object.entries(Code)
    .filter(([, value]) => typeof value === 'number')
    .map(([name, value]) => [value as Code, name.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()]),
);

/** An interceptor that observes each call's time into `duration`, by method and status code. */
export function callDurationInterceptor(duration: Histogram<'method' | 'code'>): Interceptor {
  return (next) => async (request) => {
    const startedAt = performance.now();
    const method = request.method.name;
    const observe = (code: string) => duration.labels(method, code).observe((performance.now() - startedAt) / 1000);
    try {
      const response = await next(request);
      observe('ok');
      return response;
    } catch (error) {
      observe(codeNames.get(ConnectError.from(error).code) ?? 'unknown');
      throw error;
    }
  };
}

/** The gRPC server's latency, by method and status code. */
export function grpcMetricsInterceptor(registry: Registry): Interceptor {
  return callDurationInterceptor(
    histogramIn(registry, {
      name: 'skuld_grpc_request_duration_seconds',
      help: 'gRPC calls by method and status code (ok, or the gRPC status in lower snake case)',
      labelNames: ['method', 'code'],
      buckets: latencySecondsBuckets,
    }),
  );
}

/** A service's calls to the inventory (each attempt, on whichever instance), by RPC and status code. */
export function inventoryCallInterceptor(registry: Registry): Interceptor {
  return callDurationInterceptor(
    histogramIn(registry, {
      name: 'skuld_inventory_call_duration_seconds',
      help: "This service's calls to the inventory (each attempt) by RPC and status code (ok, or the gRPC status in lower snake case)",
      labelNames: ['method', 'code'],
      buckets: latencySecondsBuckets,
    }),
  );
}
