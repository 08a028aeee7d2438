import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Authenticator, Principal } from '../auth/authenticator.js';
import type { Buckets, LocalBuckets } from '../auth/rate-limit.js';
import { type Access, describeAccess, operationOfRoute, type Scope, scopes } from '../auth/scopes.js';
import { type DomainError, domainError } from '../domain/index.js';
import type { Log } from '../log.js';
import { sendProblem } from './problem.js';

// Every routed request meets this before its body is read: the route's access (from the one
// table, src/auth/scopes.ts), the credential, the scope, the principal's rate limit. A refusal
// is a problem: 401 UNAUTHENTICATED (no credential, or one that is not valid), 403 FORBIDDEN (a
// valid one without the scope), 429 RATE_LIMITED (with Retry-After). A credential is never
// written into a problem or a log line: only why it was refused.

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request; undefined on an open route. */
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export interface AuthSettings {
  readonly authReadyz: 'open' | 'credential';
  readonly authMetrics: 'open' | 'credential';
  readonly devOpenReads: 'off' | 'loopback';
  readonly authFailuresPerMinute: number;
}

export interface ApiAuth {
  readonly authenticator: Authenticator;
  /** Requests per principal. */
  readonly requests: Buckets;
  /** Failed authentications per source address (per process). */
  readonly failures: LocalBuckets;
  readonly log: Log;
  /** Resolves once the limits' Redis answers, or has had its time to. */
  ready(): Promise<void>;
  /** Closes what the limits hold (a Redis connection). */
  close(): Promise<void>;
}

/** Security schemes of the OpenAPI document: both are bearer tokens in `Authorization`. */
export const securitySchemes = {
  apiKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`skuld_…`): `skuld keys create --name <name> --role <role>`, shown once.',
  },
  jwt: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: "A JWT from the identity provider: `sub` is the actor, `roles` (Skuld's roles) and `scope` grant.",
  },
} as const;

const bearer = [{ apiKey: [] }, { jwt: [] }];
const loopback = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const readScopes = scopes.filter((scope) => scope.endsWith(':read'));
const devPrincipal: Principal = { actor: 'dev:loopback', scopes: new Set(readScopes) };

/**
 * Gives a route its access from the table, and its OpenAPI security and scope. A route the table
 * does not declare fails the start: no route is ever served unguarded by omission.
 */
export function declareAccess(route: RouteOptions): void {
  const schema = route.schema as { hide?: boolean; description?: string; security?: unknown } | undefined;
  if (schema?.hide === true) return;
  const methods = [route.method].flat();
  const operation = operationOfRoute(methods[0] as string, route.url);
  if (operation === undefined) {
    throw new Error(`${methods.join(',')} ${route.url} is not in the table of operations (src/auth/scopes.ts)`);
  }
  route.config = { ...route.config, access: operation.access };
  const open = operation.access.kind === 'open';
  const line = `Access: ${describeAccess(operation.access)}.`;
  const description = schema?.description === undefined ? line : `${schema.description}\n\n${line}`;
  route.schema = { ...schema, description, security: open ? [] : bearer };
}

/** The actor of a request's commands: the principal. Only guarded routes carry commands. */
export function actorOf(request: FastifyRequest): string {
  const principal = request.principal;
  if (principal === undefined) throw new Error(`no principal on ${request.method} ${request.url}`);
  return principal.actor;
}

/** Whether the principal may run a command of this scope; the 403 when not. */
export function forbidden(request: FastifyRequest, scope: Scope): DomainError | undefined {
  if (request.principal?.scopes.has(scope) === true) return undefined;
  return domainError('FORBIDDEN', `this credential does not grant ${scope}`, { requiredScope: scope });
}

/** Takes `cost` from the principal's bucket; the 429 when it is empty. */
export async function charge(
  request: FastifyRequest,
  reply: FastifyReply,
  requests: Buckets,
  cost: number,
): Promise<DomainError | undefined> {
  const principal = request.principal;
  if (principal === undefined) return undefined;
  const waitMs = await requests.take(principal.actor, cost);
  if (waitMs === 0) return undefined;
  const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
  reply.header('retry-after', String(retryAfterS));
  return domainError('RATE_LIMITED', `over the rate limit of this credential; retry after ${retryAfterS} s`, {
    retryAfterS,
  });
}

function needsNoCredential(access: Access, settings: AuthSettings): boolean {
  if (access.kind === 'open') return true;
  if (access.kind !== 'probe') return false;
  return (access.probe === 'readyz' ? settings.authReadyz : settings.authMetrics) === 'open';
}

function refusal401(reply: FastifyReply, message: string): DomainError {
  reply.header('www-authenticate', 'Bearer');
  return domainError('UNAUTHENTICATED', message);
}

/** The principal of every request of an app built without authentication: the benchmark's baseline. */
const unauthenticated: Principal = { actor: 'bench', scopes: new Set(scopes) };

/**
 * Adds the guard of every route. Call it after the request guard and before any route. `off` is
 * for the benchmark's baseline alone (what a request costs without authentication): no setting
 * or flag reaches it, and `skuld serve` never passes it.
 */
export function guardAccess(app: FastifyInstance, auth: ApiAuth, settings: AuthSettings, off = false): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onClose', () => auth.close());
  app.addHook('onRoute', declareAccess);
  if (off) {
    app.addHook('onRequest', async (request) => {
      request.principal = unauthenticated;
    });
    return;
  }
  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access;
    // No route (a 404), a documentation page, an open route.
    if (access === undefined || needsNoCredential(access, settings)) return;
    const error = await authenticate(request, reply, access, auth, settings);
    if (error !== undefined) return sendProblem(request, reply, error);
  });
}

async function authenticate(
  request: FastifyRequest,
  reply: FastifyReply,
  access: Access,
  auth: ApiAuth,
  settings: AuthSettings,
): Promise<DomainError | undefined> {
  const header = request.headers.authorization;
  if (header === undefined) {
    const dev = settings.devOpenReads === 'loopback' && request.method === 'GET' && loopback.has(request.ip);
    if (dev && access.kind !== 'each-command') {
      request.principal = devPrincipal;
      return undefined;
    }
    return refusal401(reply, 'this route needs a credential: Authorization: Bearer <API key or JWT>');
  }
  // An address that failed too often is refused before its credential is even looked at.
  const blocked = auth.failures.peek(request.ip, 1);
  if (blocked > 0) return tooManyFailures(reply, blocked);
  const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  const result =
    token === ''
      ? { ok: false as const, reason: 'the Authorization header is not Bearer <token>' }
      : await auth.authenticator.authenticate(token);
  if (!result.ok) {
    const waitMs = auth.failures.take(request.ip, 1);
    if (waitMs > 0) {
      auth.log.warn(
        { address: request.ip },
        'authentication failures over the limit; refusing this address for a while',
      );
      return tooManyFailures(reply, waitMs);
    }
    return refusal401(reply, result.reason);
  }
  request.principal = result.principal;
  if (access.kind === 'scope') {
    const refusal = forbidden(request, access.scope);
    if (refusal !== undefined) return refusal;
  } else if (access.kind === 'probe') {
    const refusal = forbidden(request, 'ops:read');
    if (refusal !== undefined) return refusal;
  }
  // A batch is charged per command, by its route.
  return access.kind === 'each-command' ? undefined : charge(request, reply, auth.requests, 1);
}

function tooManyFailures(reply: FastifyReply, waitMs: number): DomainError {
  const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
  reply.header('retry-after', String(retryAfterS));
  return domainError(
    'RATE_LIMITED',
    `too many failed authentications from this address; retry after ${retryAfterS} s`,
    {
      retryAfterS,
    },
  );
}
