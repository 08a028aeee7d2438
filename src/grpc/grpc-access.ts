import { createContextKey, type HandlerContext, type Interceptor } from '@connectrpc/connect';
import type { ApiAuth } from '../api/auth.js';
import type { Authentication, Principal } from '../auth/authenticator.js';
import { accessOfRpc } from '../auth/scopes.js';
import { type DomainError, domainError } from '../domain/index.js';
import { InventoryService } from './gen/skuld/inventory/v1/inventory_service_pb.js';
import { toConnectError } from './grpc-errors.js';

// Every call of the inventory service meets this before its handler: the RPC's access (from the
// one table, src/auth/scopes.ts), the credential in the metadata, the scope, the principal's rate
// limit, as the HTTP API's guard does. UNAUTHENTICATED: no credential, or one that is not valid;
// PERMISSION_DENIED: a valid one without the scope; RESOURCE_EXHAUSTED (RATE_LIMITED): over the
// limit. A credential is never written into an error or a log line: only why it was refused.

/** The principal of a call, set by the interceptor for the handlers. */
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: 'principal' });

/** The principal of a call of the inventory service (the interceptor has authenticated it). */
export function principalOf(context: HandlerContext): Principal {
  const principal = context.values.get(principalKey);
  if (principal === undefined) throw new Error(`no principal on ${context.method.name}`);
  return principal;
}

/** What the interceptor uses of the API's authentication: the authenticator and the rate limits. */
export type GrpcAuth = Pick<ApiAuth, 'authenticator' | 'requests'>;

/** Fails the start when the service has an RPC the table of access does not declare. */
export function checkRpcsDeclared(): void {
  for (const method of InventoryService.methods) {
    if (accessOfRpc(method.name) === undefined) {
      throw new Error(`RPC ${method.name} is not in the table of RPCs (src/auth/scopes.ts)`);
    }
  }
}

function bearerToken(header: Headers): string | undefined {
  const value = header.get('authorization');
  if (value === null) return undefined;
  return value.startsWith('Bearer ') ? value.slice('Bearer '.length).trim() : '';
}

export function accessInterceptor(auth: GrpcAuth): Interceptor {
  return (next) => async (request) => {
    // Health and reflection are open: they tell whether the server is up and what the contract is.
    if (request.service.typeName !== InventoryService.typeName) return next(request);
    const access = accessOfRpc(request.method.name);
    if (access === undefined) throw new Error(`RPC ${request.method.name} has no access declared`);
    const token = bearerToken(request.header);
    if (token === undefined) {
      throw toConnectError(
        domainError('UNAUTHENTICATED', 'this call needs a credential: authorization: Bearer <API key or JWT>'),
      );
    }
    if (token === '')
      throw toConnectError(domainError('UNAUTHENTICATED', 'the authorization metadata is not Bearer <token>'));
    const principal = authenticated(await auth.authenticator.authenticate(token));
    if (access.kind === 'scope' && !principal.scopes.has(access.scope)) {
      throw toConnectError(forbidden(access.scope));
    }
    // A stream of commands is charged per command, by its handler.
    if (access.kind !== 'each-command') {
      const refusal = rateLimited(await auth.requests.take(principal.actor, 1));
      if (refusal !== undefined) throw toConnectError(refusal);
    }
    request.contextValues.set(principalKey, principal);
    return next(request);
  };
}

function authenticated(result: Authentication): Principal {
  if (!result.ok) throw toConnectError(domainError('UNAUTHENTICATED', result.reason));
  return result.principal;
}

export function forbidden(scope: string): DomainError {
  return domainError('FORBIDDEN', `this credential does not grant ${scope}`, { requiredScope: scope });
}

/** The refusal of a request whose bucket had no token: RATE_LIMITED with the wait; undefined when it had. */
export function rateLimited(waitMs: number): DomainError | undefined {
  if (waitMs === 0) return undefined;
  const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
  return domainError('RATE_LIMITED', `over the rate limit of this credential; retry after ${retryAfterS} s`, {
    retryAfterS,
  });
}
