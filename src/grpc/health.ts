import { setTimeout as sleep } from 'node:timers/promises';
import { Code, ConnectError, type ServiceImpl } from '@connectrpc/connect';
import { Health, HealthCheckResponse_ServingStatus as Status } from './gen/grpc/health/v1/health_pb.js';

// The standard gRPC health service (grpc.health.v1): '' is the server as a whole, and each service
// it offers by name. A service serves while the write path runs; once it has stopped (the engine
// thread died), NOT_SERVING tells load balancers and probes to go elsewhere. Open to every caller.

/** How often Watch looks at the state again to tell a watcher of a change. */
const watchIntervalMs = 1000;

export function healthService(services: readonly string[], serving: () => boolean): ServiceImpl<typeof Health> {
  const known = new Set(['', ...services]);
  const status = () => (serving() ? Status.SERVING : Status.NOT_SERVING);
  return {
    check({ service }) {
      if (!known.has(service)) throw new ConnectError(`unknown service ${service}`, Code.NotFound);
      return { status: status() };
    },
    async *watch({ service }, context) {
      let last: Status | undefined;
      while (!context.signal.aborted) {
        const now = known.has(service) ? status() : Status.SERVICE_UNKNOWN;
        if (now !== last) yield { status: now };
        last = now;
        try {
          await sleep(watchIntervalMs, undefined, { signal: context.signal });
        } catch {
          return;
        }
      }
    },
    list() {
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status: status() }])) };
    },
  };
}

export { Health };
