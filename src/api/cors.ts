import type { FastifyInstance } from 'fastify';

// CORS for browser front ends on other origins, off unless origins are listed
// (SKULD_CORS_ORIGINS). A listed origin gets its preflight answered (204, with the methods and the
// headers the API reads) and may read every answer, problems and their request id included; any
// other origin gets no CORS header at all, so the browser keeps its answers from the page.

const allowedMethods = 'GET, POST, OPTIONS';
const allowedHeaders = 'authorization, content-type, x-request-id';
const exposedHeaders = 'x-request-id, retry-after, idempotent-replayed, location, www-authenticate';
/** How long a browser may keep a preflight's answer. */
const preflightMaxAgeS = 600;

export function parseOrigins(setting: string): ReadonlySet<string> {
  return new Set(
    setting
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ''),
  );
}

/**
 * Adds CORS when origins are listed. Call it before the request guard: a preflight (OPTIONS with
 * Access-Control-Request-Method) is answered here, before anything refuses its method.
 */
export function allowOrigins(app: FastifyInstance, origins: ReadonlySet<string>): void {
  if (origins.size === 0) return;
  app.addHook('onRequest', (request, reply, done) => {
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      done();
      return;
    }
    reply.header('x-request-id', request.id).header('vary', 'origin');
    const origin = request.headers.origin;
    if (origin !== undefined && origins.has(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-methods', allowedMethods);
      reply.header('access-control-allow-headers', allowedHeaders);
      reply.header('access-control-max-age', String(preflightMaxAgeS));
    }
    reply.code(204).send();
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const origin = request.headers.origin;
    reply.header('vary', 'origin');
    if (origin === undefined || !origins.has(origin)) return payload;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-expose-headers', exposedHeaders);
    return payload;
  });
}
