import { createContextKey, createContextValues, type HandlerContext, type Interceptor } from '@connectrpc/connect';
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
/** The address a call came from, set from its connection, for the limit on failed authentications. */
export const peerKey = createContextKey<string>('', { description: 'peer address' });

/** A call's context values: the address of its connection. */
export function callValues(request: { readonly socket: { readonly remoteAddress?: string | undefined } }) {
  const values = createContextValues();
  values.set(peerKey, request.socket.remoteAddress ?? '');
  return values;
}

/** The principal of a call of the inventory service (the interceptor has authenticated it). */
export function principalOf(context: HandlerContext): Principal {
  const principal = context.values.get(principalKey);
  if (principal === undefined) throw new Error(`no principal on ${context.method.name}`);
  return principal;
}

/** What the interceptor uses of the API's authentication: the authenticator, the rate limits, the log. */
export type GrpcAuth = Pick<ApiAuth, 'authenticator' | 'requests' | 'failures' | 'log'>;

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
    // An address that failed too often is refused before its credential is even looked at.
    const address = request.contextValues.get(peerKey);
    const blocked = auth.failures.refused(address);
    if (blocked > 0) throw toConnectError(tooManyFailures(blocked));
    const result = token === '' ? notBearer : await auth.authenticator.authenticate(token);
    if (!result.ok) throw toConnectError(await failed(auth, address, result.reason));
    const { principal } = result;
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

const notBearer: Authentication = { ok: false, reason: 'the authorization metadata is not Bearer <token>' };

/** A failed authentication: UNAUTHENTICATED, or RATE_LIMITED once the address has failed too often. */
async function failed(auth: GrpcAuth, address: string, reason: string): Promise<DomainError> {
  const waitMs = await auth.failures.fail(address);
  if (waitMs === 0) return domainError('UNAUTHENTICATED', reason);
  auth.log.warn({ address }, 'authentication failures over the limit; refusing this address for a while');
  return tooManyFailures(waitMs);
}

function tooManyFailures(waitMs: number): DomainError {
  const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
  return domainError(
    'RATE_LIMITED',
    `too many failed authentications from this address; retry after ${retryAfterS} s`,
    {
      retryAfterS,
    },
  );
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
