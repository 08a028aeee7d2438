import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Authentication, Authenticator, Principal } from '../auth/authenticator.js';
import type { Buckets, FailureLimit } from '../auth/rate-limit.js';
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
  /** Failed authentications per source address (shared like the requests' buckets). */
  readonly failures: FailureLimit;
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
export function declareAccess(route: RouteOptions): Access | undefined {
  const schema = route.schema as { hide?: boolean; description?: string; security?: unknown } | undefined;
  if (schema?.hide === true) return undefined;
  const methods = [route.method].flat();
  const operation = operationOfRoute(methods[0] as string, route.url);
  if (operation === undefined) {
    throw new Error(`${methods.join(',')} ${route.url} is not in the table of operations (src/auth/scopes.ts)`);
  }
  const open = operation.access.kind === 'open';
  const line = `Access: ${describeAccess(operation.access)}.`;
  const description = schema?.description === undefined ? line : `${schema.description}\n\n${line}`;
  route.schema = { ...schema, description, security: open ? [] : bearer };
  return operation.access;
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

/** Takes `cost` from the principal's bucket; the 429 when it is empty (at once with buckets of this process). */
export function charge(
  request: FastifyRequest,
  reply: FastifyReply,
  requests: Buckets,
  cost: number,
): Maybe<DomainError | undefined> {
  const principal = request.principal;
  if (principal === undefined) return undefined;
  const wait = requests.take(principal.actor, cost);
  return typeof wait === 'number' ? rateLimited(reply, wait) : wait.then((waitMs) => rateLimited(reply, waitMs));
}

function rateLimited(reply: FastifyReply, waitMs: number): DomainError | undefined {
  if (waitMs === 0) return undefined;
  const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
  reply.header('retry-after', String(retryAfterS));
  return domainError('RATE_LIMITED', `over the rate limit of this credential; retry after ${retryAfterS} s`, {
    retryAfterS,
  });
}

/** A value, or a promise of it when it had to wait for the store or Redis. */
type Maybe<T> = T | Promise<T>;

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
  app.addHook('onRoute', (route) => {
    const access = declareAccess(route);
    // Documentation pages and open routes have no guard at all; each other route its own, which
    // knows the route's access without looking it up per request.
    if (access === undefined || (!off && needsNoCredential(access, settings))) return;
    const guard = off ? unguarded : guardOf(access, auth, settings);
    route.onRequest = [...[route.onRequest ?? []].flat(), guard] as NonNullable<RouteOptions['onRequest']>;
  });
}

function unguarded(request: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  request.principal = unauthenticated;
  done();
}

/** The onRequest hook of a guarded route: answers at once unless a key or Redis must be asked. */
function guardOf(access: Access, auth: ApiAuth, settings: AuthSettings) {
  return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const answer = (error: DomainError | undefined) => {
      if (error === undefined) done();
      else sendProblem(request, reply, error);
    };
    const result = authenticate(request, reply, access, auth, settings);
    if (result instanceof Promise) result.then(answer, (error: unknown) => reply.send(error));
    else answer(result);
  };
}

function authenticate(
  request: FastifyRequest,
  reply: FastifyReply,
  access: Access,
  auth: ApiAuth,
  settings: AuthSettings,
): Maybe<DomainError | undefined> {
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
  const blocked = auth.failures.refused(request.ip);
  if (blocked > 0) return tooManyFailures(reply, blocked);
  const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  if (token === '') return refused(request, reply, auth, 'the Authorization header is not Bearer <token>');
  const result = auth.authenticator.authenticate(token);
  if (result instanceof Promise) return result.then((done) => authorize(request, reply, access, auth, done));
  return authorize(request, reply, access, auth, result);
}

/** After authentication: the principal's scope, then its rate limit. */
function authorize(
  request: FastifyRequest,
  reply: FastifyReply,
  access: Access,
  auth: ApiAuth,
  result: Authentication,
): Maybe<DomainError | undefined> {
  if (!result.ok) return refused(request, reply, auth, result.reason);
  request.principal = result.principal;
  if (access.kind === 'scope' || access.kind === 'probe') {
    const refusal = forbidden(request, access.kind === 'scope' ? access.scope : 'ops:read');
    if (refusal !== undefined) return refusal;
  }
  // A batch is charged per command, by its route.
  return access.kind === 'each-command' ? undefined : charge(request, reply, auth.requests, 1);
}

/** A failed authentication: 401, or 429 once the address has failed too often. */
function refused(request: FastifyRequest, reply: FastifyReply, auth: ApiAuth, reason: string): Maybe<DomainError> {
  const wait = auth.failures.fail(request.ip);
  const answer = (waitMs: number) => {
    if (waitMs === 0) return refusal401(reply, reason);
    auth.log.warn({ address: request.ip }, 'authentication failures over the limit; refusing this address for a while');
    return tooManyFailures(reply, waitMs);
  };
  return typeof wait === 'number' ? answer(wait) : wait.then(answer);
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
