import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type RouteOptions } from 'fastify';
import { Authenticator } from '../auth/authenticator.js';
import { JwtVerifier } from '../auth/jwt.js';
import { createBuckets, FailureLimit } from '../auth/rate-limit.js';
import { loggerOptions } from '../log-output.js';
import { HttpMetrics, observeRequests } from '../metrics/http-metrics.js';
import { RequestLog } from '../request-log.js';
import { type ApiAuth, guardAccess, securitySchemes } from './auth.js';
import { clientErrorHandler, refuseConnect } from './client-errors.js';
import { type ApiContext, type ApiRuntime, batchCommandSchema, commandSpecs } from './commands.js';
import { allowOrigins, parseOrigins } from './cors.js';
import { boundConnections, type HttpLimits, httpLimits, serverOptions } from './http-limits.js';
import { packageVersion } from './package-version.js';
import { errorHandler, notFoundHandler } from './problem.js';
import { guardRequests } from './request-guard.js';
import { adjustmentRoutes } from './routes/adjustments.js';
import { apiIndexRoutes, catalogEntries, type RouteEntry } from './routes/api-index.js';
import { batchRoutes } from './routes/batch.js';
import { countRoutes } from './routes/counts.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { eventStreamRoutes } from './routes/event-stream.js';
import { healthRoutes } from './routes/health.js';
import { incomingRoutes } from './routes/incoming.js';
import { instanceRoutes } from './routes/instances.js';
import { itemRoutes } from './routes/items.js';
import { ledgerRoutes } from './routes/ledger.js';
import { lowStockRoutes } from './routes/low-stock.js';
import { metricsRoutes } from './routes/metrics.js';
import { movementRoutes } from './routes/movements.js';
import { projectionRoutes } from './routes/projections.js';
import { receiptRoutes } from './routes/receipts.js';
import { reconciliationRoutes } from './routes/reconciliation.js';
import { reportRoutes } from './routes/reports.js';
import { reservationRoutes } from './routes/reservations.js';
import { returnRoutes } from './routes/returns.js';
import { stockRoutes } from './routes/stock.js';
import { stockSummaryRoutes } from './routes/stock-summary.js';
import { transferRoutes } from './routes/transfers.js';
import { objectSchema, sharedSchemas } from './schemas.js';
import { createValidation } from './validation.js';

export interface AppOptions {
  /** The runtime, of which the API uses the write path, the reads and a few settings. */
  readonly runtime: ApiRuntime;
  /** false: no log; true or absent: pino at the configured level; an object: pino options over that. */
  readonly logger?: boolean | object;
  /** Timeouts and the connection bound; each absent one is its default (http-limits.ts). */
  readonly limits?: Partial<HttpLimits>;
  /** For the benchmark's baseline only: every request is served as if authenticated. Never set by serve. */
  readonly withoutAuthenticationForBenchmark?: boolean;
  /** HTTPS with this certificate chain and key (PEM); absent: plain HTTP. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** The authentication and rate limits, when shared with a gRPC server; absent: the app's own. The app closes them. */
  readonly auth?: ApiAuth | undefined;
}

const routes: readonly FastifyPluginAsync<ApiContext>[] = [
  healthRoutes,
  metricsRoutes,
  itemRoutes,
  receiptRoutes,
  incomingRoutes,
  reservationRoutes,
  returnRoutes,
  adjustmentRoutes,
  countRoutes,
  transferRoutes,
  stockRoutes,
  ledgerRoutes,
  eventStreamRoutes,
  dashboardRoutes,
  batchRoutes,
  reconciliationRoutes,
  movementRoutes,
  stockSummaryRoutes,
  lowStockRoutes,
  reportRoutes,
  projectionRoutes,
  instanceRoutes,
];

/** A request id a client may choose: short and log-safe; anything else gets a fresh one. */
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

function requestId(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id'];
  return typeof incoming === 'string' && requestIdPattern.test(incoming) ? incoming : randomUUID();
}

const title = 'Skuld inventory API';

/**
 * An API route with no query parameters refuses any, as the others refuse unknown ones: the docs
 * promise nothing is silently dropped. The documentation's own pages (hidden) are left as they are.
 */
const noQuery = objectSchema({});

function refuseUnknownQueries(route: RouteOptions): void {
  const schema = route.schema as { hide?: boolean; querystring?: unknown } | undefined;
  if (schema?.hide !== true && schema?.querystring === undefined) route.schema = { ...schema, querystring: noQuery };
}

/**
 * The authenticator and the rate limits of an app, from the runtime's key store and settings; a
 * gRPC server on the same runtime shares them (AppOptions.auth), so a principal has one budget.
 */
export function apiAuth(runtime: ApiRuntime, log: ApiAuth['log']): ApiAuth {
  const { config } = runtime;
  const jwt = JwtVerifier.create({
    secret: config.authJwtSecret,
    publicKeyFile: config.authJwtPublicKeyFile,
    jwksUrl: config.authJwtJwksUrl,
    issuer: config.authJwtIssuer,
    audience: config.authJwtAudience,
    algorithms: config.authJwtAlgorithms,
  });
  const authenticator = new Authenticator({ keys: runtime.store.keys, jwt, keyCacheMs: config.authKeyCacheMs, log });
  const limits = { perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst };
  const { rateLimitRedisUrl: redisUrl, rateLimitRedisPrefix: prefix } = config;
  const requests = createBuckets(redisUrl, `${prefix}rate:`, limits, log);
  const perMinute = config.authFailuresPerMinute;
  const failureBuckets = createBuckets(
    redisUrl,
    `${prefix}auth-failures:`,
    { perSecond: perMinute / 60, burst: perMinute },
    log,
  );
  const failures = new FailureLimit(failureBuckets);
  const close = async () => {
    for (const buckets of [requests, failureBuckets]) if ('close' in buckets) await buckets.close();
  };
  const ready = async () => {
    for (const buckets of [requests, failureBuckets]) if ('ready' in buckets) await buckets.ready();
  };
  return { authenticator, requests, failures, log, ready, close };
}

/** Builds the HTTP API on a runtime. It never listens: the caller does (`app.listen`). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { runtime } = options;
  const { config } = runtime;
  const pino = typeof options.logger === 'object' ? options.logger : {};
  const logger = options.logger === false ? false : { ...loggerOptions(config), ...pino };
  const limits = httpLimits(options.limits);
  const server = serverOptions(limits);
  // The HTTPS server takes the same timeouts as the HTTP one, beside its certificate.
  const https = options.tls === undefined ? {} : { https: { ...server.http, ...options.tls } };
  const app = Fastify({
    logger,
    logController: new RequestLog({ requestIdLogLabel: 'requestId' }),
    bodyLimit: config.bodyLimitBytes,
    genReqId: requestId,
    ...server,
    ...https,
    clientErrorHandler,
    frameworkErrors: errorHandler,
    // Requests on a closing server are answered by the guard, as a problem.
    return503OnClosing: false,
  });
  observeRequests(app, new HttpMetrics(runtime.metrics));
  boundConnections(app, limits);
  refuseConnect(app);
  allowOrigins(app, parseOrigins(config.corsOrigins));
  guardRequests(app);
  const auth = options.auth ?? apiAuth(runtime, app.log);
  await auth.ready();
  guardAccess(app, auth, config, options.withoutAuthenticationForBenchmark === true);
  const version = packageVersion();
  const catalog: RouteEntry[] = [];
  app.addHook('onRoute', (route) => {
    refuseUnknownQueries(route);
    catalog.push(...catalogEntries(route));
  });
  const context: ApiContext = { runtime, validation: createValidation(), commands: commandSpecs(config), auth };

  app.setValidatorCompiler(context.validation.compiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  for (const schema of sharedSchemas) app.addSchema(schema);
  for (const [type, spec] of Object.entries(context.commands)) {
    app.addSchema(batchCommandSchema(type as keyof typeof context.commands, spec));
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title,
        version,
        description:
          'Stock levels, two-phase reservations and the ledger of every change. Every change is a command whose ' +
          "`id` is the client's idempotency key. Errors are RFC 9457 problems (`application/problem+json`) with " +
          'a stable `code`. Every route but the health check, this documentation and the index needs a ' +
          'credential: `Authorization: Bearer <API key or JWT>` (Authorize, above); each route names its scope.',
      },
      components: { securitySchemes },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, index) => String(json.$id ?? `def-${index}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(apiIndexRoutes, { title, version, routes: catalog });
  for (const plugin of routes) await app.register(plugin, context);
  return app;
}
