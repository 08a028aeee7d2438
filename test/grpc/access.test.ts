import { readFileSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessOfRpc,
  commandScopes,
  describeAccess,
  operations,
  type Role,
  roleNames,
  roleScopes,
  rpcs,
  type Scope,
} from '../../src/auth/scopes.js';
import {
  type ExecuteCommandsRequest,
  ExecuteCommandsRequestSchema,
  type ExecuteCommandsResponse,
  InventoryService,
} from '../../src/grpc/gen/skuld/inventory/v1/inventory_service_pb.js';
import { ErrorDetailSchema } from '../../src/grpc/gen/skuld/inventory/v1/types_pb.js';
import { as, type GrpcApi, keyOf, refusal, startGrpc, unique } from './harness.js';

// Who may do what over gRPC: every RPC with a key of every role (allowed ones succeed, the others
// get PERMISSION_DENIED and change nothing), no credential or a bad one (UNAUTHENTICATED), a JWT,
// the actor on events, the rate limit charged per command (RESOURCE_EXHAUSTED). Health stays
// open. No refusal repeats the credential.

const east = 'WH-EAST';
/** Prepares what the call needs (as the admin), then makes the call with a key. */
type Call = (api: GrpcApi, sku: string) => Promise<(key: string) => Promise<unknown>>;

async function* oneReceipt(sku: string): AsyncGenerator<ExecuteCommandsRequest> {
  yield create(ExecuteCommandsRequestSchema, {
    command: { case: 'receiveStock', value: { id: unique('rcv'), sku, location: east, quantity: 1n } },
  });
}

/** A stream's answers; its one refusal as a thrown ConnectError, as a unary call would fail. */
async function streamed(answers: AsyncIterable<ExecuteCommandsResponse>): Promise<void> {
  for await (const answer of answers) {
    if (answer.result.case === 'error') {
      const { status, detail } = answer.result.value;
      throw new ConnectError(detail?.message ?? '', status, {}, [{ desc: ErrorDetailSchema, value: detail ?? {} }]);
    }
  }
}

/** The first event of WatchEvents, then the call is cancelled. */
async function firstEvent(api: GrpcApi, key: string): Promise<void> {
  const stop = new AbortController();
  for await (const _ of api.client.watchEvents({ after: 0n }, as(key, { signal: stop.signal }))) {
    stop.abort();
    break;
  }
}

const calls: Record<keyof typeof rpcs, Call> = {
  RegisterItem: async (api) => (key) => api.client.registerItem({ id: unique('reg'), sku: unique('SKU') }, as(key)),
  ReceiveStock: async (api, sku) => (key) =>
    api.client.receiveStock({ id: unique('rcv'), sku, location: east, quantity: 1n }, as(key)),
  ReserveStock: async (api, sku) => (key) =>
    api.client.reserveStock({ id: unique('order'), lines: [{ sku, location: east, quantity: 1n }] }, as(key)),
  CommitReservation: async (api, sku) => {
    const order = await reserved(api, sku);
    return (key) => api.client.commitReservation({ id: unique('pay'), reservationId: order }, as(key));
  },
  ReleaseReservation: async (api, sku) => {
    const order = await reserved(api, sku);
    return (key) => api.client.releaseReservation({ id: unique('rel'), reservationId: order }, as(key));
  },
  ReturnStock: async (api, sku) => (key) =>
    api.client.returnStock({ id: unique('ret'), sku, location: east, quantity: 1n }, as(key)),
  AdjustStock: async (api, sku) => (key) =>
    api.client.adjustStock({ id: unique('adj'), sku, location: east, delta: 1n, reason: 'found' }, as(key)),
  CountStock: async (api, sku) => {
    const { level } = await api.client.getLevel({ sku, location: east }, as(api.adminKey));
    return (key) =>
      api.client.countStock({ id: unique('cnt'), sku, location: east, counted: level?.onHand ?? 0n }, as(key));
  },
  TransferStock: async (api, sku) => (key) =>
    api.client.transferStock({ id: unique('mov'), sku, from: east, to: 'WH-WEST', quantity: 1n }, as(key)),
  ExpectStock: async (api, sku) => (key) =>
    api.client.expectStock({ id: unique('exp'), sku, location: east, delta: 1n }, as(key)),
  ExecuteCommands: async (api, sku) => (key) => streamed(api.client.executeCommands(oneReceipt(sku), as(key))),
  GetItem: async (api, sku) => (key) => api.client.getItem({ sku }, as(key)),
  ListItems: async (api) => (key) => api.client.listItems({}, as(key)),
  GetReservation: async (api, sku) => {
    const order = await reserved(api, sku);
    return (key) => api.client.getReservation({ id: order }, as(key));
  },
  GetItemStock: async (api, sku) => (key) => api.client.getItemStock({ sku }, as(key)),
  GetLevel: async (api, sku) => (key) => api.client.getLevel({ sku, location: east }, as(key)),
  ListLocationStock: async (api) => (key) => api.client.listLocationStock({ location: east }, as(key)),
  ReadLedger: async (api) => (key) => api.client.readLedger({}, as(key)),
  GetItemHistory: async (api, sku) => (key) => api.client.getItemHistory({ sku }, as(key)),
  ListReservations: async (api) => (key) => api.client.listReservations({}, as(key)),
  ListStockSummary: async (api) => (key) => api.client.listStockSummary({}, as(key)),
  ListLowStock: async (api) => (key) => api.client.listLowStock({}, as(key)),
  ListLowStockCrossings: async (api) => (key) => api.client.listLowStockCrossings({}, as(key)),
  ListItemMovements: async (api, sku) => (key) => api.client.listItemMovements({ sku }, as(key)),
  ListDailyMovements: async (api) => (key) => api.client.listDailyMovements({}, as(key)),
  GetProjections: async (api) => (key) => api.client.getProjections({}, as(key)),
  ListInstances: async (api) => (key) => api.client.listInstances({}, as(key)),
  GetPastItemStock: async (api, sku) => (key) =>
    api.client.getPastItemStock({ sku, asOf: { case: 'at', value: 0n } }, as(key)),
  ImportCountSheet: async (api, sku) => {
    const { level } = await api.client.getLevel({ sku, location: east }, as(api.adminKey));
    const lines = { lines: [{ sku, location: east, counted: level?.onHand ?? 0n }] };
    return (key) =>
      api.client.importCountSheet({ sheetId: unique('sheet'), sheet: { case: 'lines', value: lines } }, as(key));
  },
  ListReconciliationReports: async (api) => (key) => api.client.listReconciliationReports({}, as(key)),
  GetReconciliationReport: async (api, sku) => {
    const lines = { lines: [{ sku, location: 'WH-NONE', counted: 0n }] };
    const sheet = { sheetId: unique('sheet'), sheet: { case: 'lines' as const, value: lines } };
    const { report } = await api.client.importCountSheet(sheet, as(api.adminKey));
    return (key) => api.client.getReconciliationReport({ id: report?.id ?? '' }, as(key));
  },
  WatchEvents: async (api) => (key) => firstEvent(api, key),
};

/** A pending reservation of one unit, made by the admin. */
async function reserved(api: GrpcApi, sku: string): Promise<string> {
  const order = unique('order');
  await api.client.reserveStock({ id: order, lines: [{ sku, location: east, quantity: 1n }] }, as(api.adminKey));
  return order;
}

/** The scope a call needs: its RPC's, or for the stream the scope of the command it carries. */
function scopeOf(name: keyof typeof rpcs): Scope {
  const access = accessOfRpc(name);
  if (access?.kind === 'each-command') return commandScopes.ReceiveStock;
  if (access?.kind !== 'scope') throw new Error(`${name} has no scope`);
  return access.scope;
}

/** What a refused call must leave alone: the ledger head and the item's levels. */
async function stateOf(api: GrpcApi, sku: string) {
  return { head: await api.runtime.store.headPosition(), levels: await api.runtime.store.itemLevels(sku) };
}

describe('gRPC access', () => {
  let api: GrpcApi;
  let sku: string;
  const keys = new Map<Role, string>();

  beforeAll(async () => {
    api = await startGrpc('sqlite', { SKULD_AUTH_KEY_CACHE_MS: '0', SKULD_AUTH_FAILURES_PER_MINUTE: '100000' });
    sku = unique('SKU');
    await api.client.registerItem({ id: unique('reg'), sku }, as(api.adminKey));
    await api.client.receiveStock({ id: unique('rcv'), sku, location: east, quantity: 1000n }, as(api.adminKey));
    for (const role of roleNames) keys.set(role, await keyOf(api.runtime, [role], `grpc-${role}`));
  });
  afterAll(async () => api?.close());

  it('has a call for every RPC of the table, and the table declares every RPC of the service', () => {
    expect(Object.keys(calls).sort()).toEqual(Object.keys(rpcs).sort());
    expect(InventoryService.methods.map((method) => method.name).sort()).toEqual(Object.keys(rpcs).sort());
  });

  it('is printed in docs/api.md, row for row', () => {
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    const rows = Object.entries(rpcs).map(([name, { operation }]) => {
      return `| \`${name}\` | ${operation} | ${describeAccess(operations[operation].access)} |`;
    });
    expect(doc).toContain(rows.join('\n'));
  });

  for (const name of Object.keys(calls) as (keyof typeof rpcs)[]) {
    it(`${name}: roles with its scope succeed, the others get PERMISSION_DENIED and change nothing`, async () => {
      const scope = scopeOf(name);
      for (const role of roleNames) {
        const key = keys.get(role) as string;
        const call = await calls[name](api, sku);
        if (roleScopes[role].includes(scope)) {
          await call(key);
          continue;
        }
        const before = await stateOf(api, sku);
        const refused = await refusal(call(key));
        expect(refused, role).toMatchObject({ status: Code.PermissionDenied, code: 'FORBIDDEN' });
        if (name !== 'ExecuteCommands') expect(refused.details).toEqual({ requiredScope: scope });
        expect(await stateOf(api, sku), role).toEqual(before);
      }
    });
  }

  it('refuses every RPC without a credential, or with a bad one, with UNAUTHENTICATED and changes nothing', async () => {
    const admin = api.adminKey;
    const forged = `${admin.slice(0, -4)}AAAA`;
    for (const name of Object.keys(calls) as (keyof typeof rpcs)[]) {
      const call = await calls[name](api, sku);
      const before = await stateOf(api, sku);
      const none = await refusal(call(''));
      expect(none, name).toMatchObject({ status: Code.Unauthenticated, code: 'UNAUTHENTICATED' });
      for (const key of [forged, 'skuld_nonsense', 'not-a-token']) {
        const refused = await refusal(call(key));
        expect(refused, name).toMatchObject({ status: Code.Unauthenticated, code: 'UNAUTHENTICATED' });
        expect(refused.message).not.toContain(key);
      }
      expect(await stateOf(api, sku), name).toEqual(before);
    }
  });

  it('records the principal as the actor of every event a command causes', async () => {
    const key = keys.get('purchasing') as string;
    const { position } = await api.client.receiveStock(
      { id: unique('rcv'), sku, location: east, quantity: 2n },
      as(key),
    );
    const { events } = await api.client.readLedger({ after: position - 1n, limit: 1 }, as(api.adminKey));
    expect(events[0]?.actor).toBe('key:grpc-purchasing');
  });
});

describe('gRPC with a JWT and rate limits', () => {
  const issuer = 'https://id.example.test/';
  const audience = 'skuld';
  const secret = 'a-shared-secret-of-at-least-32-characters!';
  let api: GrpcApi;

  beforeAll(async () => {
    api = await startGrpc('sqlite', {
      SKULD_AUTH_JWT_SECRET: secret,
      SKULD_AUTH_JWT_ISSUER: issuer,
      SKULD_AUTH_JWT_AUDIENCE: audience,
      SKULD_RATE_LIMIT_BURST: '5',
      SKULD_RATE_LIMIT_PER_SECOND: '1',
      SKULD_AUTH_FAILURES_PER_MINUTE: '3',
    });
  });
  afterAll(async () => api?.close());

  function token(claims: Record<string, unknown>): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(new TextEncoder().encode(secret));
  }

  it('takes a JWT: its subject is the actor, its roles grant', async () => {
    const jwt = await token({ sub: 'purchase-service', roles: ['purchasing'] });
    const sku = unique('SKU');
    const { position } = await api.client.registerItem({ id: unique('reg'), sku }, as(jwt));
    const refused = await refusal(api.client.readLedger({}, as(jwt)));
    expect(refused).toMatchObject({ status: Code.PermissionDenied, code: 'FORBIDDEN' });
    const [event] = (await api.client.readLedger({ after: position - 1n, limit: 1 }, as(api.adminKey))).events;
    expect(event?.actor).toBe('jwt:purchase-service');
  });

  it('charges each call, and each command of a stream, to the principal: beyond, RESOURCE_EXHAUSTED', async () => {
    const key = await keyOf(api.runtime, ['admin']);
    const other = await keyOf(api.runtime, ['admin']);
    const sku = unique('SKU');
    await api.client.registerItem({ id: unique('reg'), sku }, as(key));
    async function* receipts(): AsyncGenerator<ExecuteCommandsRequest> {
      for (let index = 0; index < 6; index += 1) {
        yield create(ExecuteCommandsRequestSchema, {
          command: { case: 'receiveStock', value: { id: unique('rcv'), sku, location: east, quantity: 1n } },
        });
      }
    }
    const answers: ExecuteCommandsResponse[] = [];
    for await (const answer of api.client.executeCommands(receipts(), as(key))) answers.push(answer);
    const codes = answers.map((answer) => (answer.result.case === 'error' ? answer.result.value.detail?.code : 'ok'));
    // Five tokens: one spent on the registration, four on receipts, then the bucket is empty.
    expect(codes).toEqual(['ok', 'ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
    const limited = await refusal(api.client.getItem({ sku }, as(key)));
    expect(limited).toMatchObject({ status: Code.ResourceExhausted, code: 'RATE_LIMITED' });
    expect(limited.details).toMatchObject({ retryAfterS: 1 });
    // Another principal has its own budget.
    expect((await api.client.getItem({ sku }, as(other))).item?.sku).toBe(sku);
  });

  // Last: it leaves this address refused for a while.
  it('limits failed authentications per address: beyond, RESOURCE_EXHAUSTED before any credential is checked', async () => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const refused = await refusal(api.client.listItems({}, as('skuld_nonsense')));
      expect(refused).toMatchObject({ status: Code.Unauthenticated, code: 'UNAUTHENTICATED' });
    }
    const limited = await refusal(api.client.listItems({}, as('skuld_nonsense')));
    expect(limited).toMatchObject({ status: Code.ResourceExhausted, code: 'RATE_LIMITED' });
    const valid = await refusal(api.client.listItems({}, as(api.adminKey)));
    expect(valid).toMatchObject({ status: Code.ResourceExhausted, code: 'RATE_LIMITED' });
  });
});
