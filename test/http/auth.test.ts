import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createKey, revokeKey } from '../../src/auth/key-admin.js';
import { operations, type Role, roleNames, roleScopes, type Scope } from '../../src/auth/scopes.js';
import { warnIfOpenReads } from '../../src/cli/serve.js';
import type { Runtime } from '../../src/compose/runtime.js';
import { loadConfig } from '../../src/config.js';
import { silentLog } from '../../src/log.js';
import { testDialects } from '../support/dialects.js';
import { recordCredential } from '../support/run-logs.js';
import {
  type Api,
  bearer,
  expectProblem,
  keyFor,
  line,
  post,
  startApi,
  stateOf,
  stockedItem,
  unique,
} from './harness.js';

// Who may do what, through the HTTP API, on every store: every route of the table of operations,
// with a key of every role; no credential, a malformed, unknown, revoked or expired key. A refusal
// must leave the store as it was (the ledger head, the items, the item's levels), read back from
// the store itself. The table is the source: a route added to it without a request here fails
// the first test.

type Fixture = (api: Api, sku: string) => Promise<InjectOptions> | InjectOptions;

const location = 'WH1';
const change = (url: string, payload: object): InjectOptions => ({ method: 'POST', url, payload });
const read = (url: string): InjectOptions => ({ method: 'GET', url });

let counted = 100_000;
/** A count unlike the last: a count equal to what is on hand may record nothing. */
const nextCount = () => {
  counted += 1;
  return counted;
};

/** A fresh pending reservation of one unit, made with the admin key. */
async function pending(api: Api, sku: string): Promise<string> {
  const id = unique('res');
  const response = await post(api.app, '/v1/reservations', { id, lines: [line(sku, location, 1)] });
  expect(response.statusCode).toBe(201);
  return id;
}

/** A request each guarded operation answers with success when it is allowed. */
const fixtures: Partial<Record<keyof typeof operations, Fixture>> = {
  RegisterItem: () => change('/v1/items', { id: unique('reg'), sku: unique('SKU') }),
  ListItems: () => read('/v1/items'),
  GetItem: (_api, sku) => read(`/v1/items/${sku}`),
  ReceiveStock: (_api, sku) => change('/v1/receipts', { id: unique('rcv'), sku, location, quantity: 1 }),
  ReserveStock: (_api, sku) => change('/v1/reservations', { id: unique('res'), lines: [line(sku, location, 1)] }),
  GetReservation: async (api, sku) => read(`/v1/reservations/${await pending(api, sku)}`),
  CommitReservation: async (api, sku) =>
    change(`/v1/reservations/${await pending(api, sku)}/commit`, { id: unique('com') }),
  ReleaseReservation: async (api, sku) =>
    change(`/v1/reservations/${await pending(api, sku)}/release`, { id: unique('rel') }),
  ReturnStock: (_api, sku) => change('/v1/returns', { id: unique('ret'), sku, location, quantity: 1 }),
  ExpectStock: (_api, sku) => change('/v1/incoming', { id: unique('exp'), sku, location, delta: 1 }),
  AdjustStock: (_api, sku) => change('/v1/adjustments', { id: unique('adj'), sku, location, delta: 1, reason: 'x' }),
  CountStock: (_api, sku) => change('/v1/counts', { id: unique('cnt'), sku, location, counted: nextCount() }),
  TransferStock: (_api, sku) =>
    change('/v1/transfers', { id: unique('trf'), sku, from: location, to: 'WH2', quantity: 1 }),
  ItemStock: (_api, sku) => read(`/v1/items/${sku}/stock`),
  ItemLocationStock: (_api, sku) => read(`/v1/items/${sku}/stock/${location}`),
  LocationStock: () => read(`/v1/locations/${location}/stock`),
  Ledger: () => read('/v1/ledger'),
  ItemHistory: (_api, sku) => read(`/v1/items/${sku}/history`),
  // A stream that is let in never ends: its body is taken as a stream (see settled below).
  EventStream: async (api) => ({
    ...read(`/v1/events/stream?after=${await api.runtime.store.headPosition()}`),
    payloadAsStream: true,
  }),
  ListReservations: (_api, sku) => read(`/v1/reservations?sku=${sku}`),
  ItemMovements: (_api, sku) => read(`/v1/items/${sku}/movements`),
  StockSummary: () => read('/v1/stock/summary'),
  LowStock: () => read('/v1/low-stock'),
  LowStockCrossings: () => read('/v1/low-stock/crossings'),
  DailyMovements: () => read('/v1/reports/daily-movements'),
  Projections: () => read('/v1/projections'),
  Instances: () => read('/v1/instances'),
  Batch: (_api, sku) =>
    change('/v1/batch', {
      commands: [{ type: 'ReceiveStock', id: unique('rcv'), sku, location, quantity: 1 }],
    }),
  ImportCountSheet: (_api, sku) => change('/v1/counts/sheets', { lines: [{ sku, location, counted: nextCount() }] }),
  ListReconciliationReports: () => read('/v1/reconciliation/reports'),
  GetReconciliationReport: async (api, sku) => {
    const sheet = await post(api.app, '/v1/counts/sheets', { lines: [{ sku, location, counted: nextCount() }] });
    expect(sheet.statusCode).toBe(201);
    return read(`/v1/reconciliation/reports/${sheet.json().id}`);
  },
};

/**
 * A response whose body was asked for as a stream (the event stream's): a refusal's body is read
 * whole, so it can be looked at like any other; a stream let in is left to end with the server.
 */
async function settled(response: LightMyRequestResponse): Promise<LightMyRequestResponse> {
  if (response.payload !== undefined || response.statusCode < 300) return response;
  const chunks: Buffer[] = [];
  for await (const chunk of response.stream()) chunks.push(chunk as Buffer);
  const payload = Buffer.concat(chunks).toString();
  return { ...response, payload, body: payload, json: () => JSON.parse(payload) };
}

/** The scope an operation needs (a batch: its one command's). */
function scopeOf(name: keyof typeof operations): Scope | undefined {
  const { access } = operations[name];
  if (access.kind === 'scope') return access.scope;
  if (access.kind === 'each-command') return 'receipts:write';
  return undefined;
}

for (const dialect of testDialects()) {
  describe(`access to every route (${dialect})`, () => {
    let api: Api;
    let sku: string;
    const keys = new Map<Role, string>();
    beforeAll(async () => {
      api = await startApi(dialect, { SKULD_AUTH_KEY_CACHE_MS: '0', SKULD_AUTH_FAILURES_PER_MINUTE: '1000' });
      sku = await stockedItem(api.app, { [location]: 1_000 });
      for (const role of roleNames) keys.set(role, await keyFor(api, [role], `${role}-key`));
    });
    afterAll(async () => api?.close());

    it('has a request for every operation that needs a credential', () => {
      const guarded = Object.entries(operations)
        .filter(([, operation]) => operation.access.kind === 'scope' || operation.access.kind === 'each-command')
        .map(([name]) => name);
      expect(Object.keys(fixtures).sort()).toEqual(guarded.sort());
    });

    for (const name of Object.keys(fixtures) as (keyof typeof operations)[]) {
      it(`${name}: roles with its scope succeed, the others get 403 and change nothing`, async () => {
        const scope = scopeOf(name) as Scope;
        for (const role of roleNames) {
          const request = await (fixtures[name] as Fixture)(api, sku);
          const headers = bearer(keys.get(role) as string);
          const before = await stateOf(api.runtime, [sku]);
          const response = await settled(await api.app.inject({ ...request, headers }));
          if (roleScopes[role].includes(scope)) {
            expect(response.statusCode, `${role}: ${response.body}`).toBeLessThan(300);
            // Whatever the route, each event it caused names the principal that sent it.
            const events = await api.runtime.store.readLedger(before.head, 1000);
            if (scope.endsWith(':write')) expect(events.length, role).toBeGreaterThan(0);
            expect(events.filter((event) => event.actor !== `key:${role}-key`)).toEqual([]);
          } else {
            const problem = expectProblem(response, 403, 'FORBIDDEN');
            expect(problem.requiredScope).toBe(scope);
            expect(await stateOf(api.runtime, [sku]), role).toEqual(before);
          }
        }
      });

      it(`${name}: no credential, or a bad one, is 401 and changes nothing`, async () => {
        const request = await (fixtures[name] as Fixture)(api, sku);
        const before = await stateOf(api.runtime, [sku]);
        const none = await settled(await api.anonymous(request));
        expectProblem(none, 401, 'UNAUTHENTICATED');
        expect(none.headers['www-authenticate']).toBe('Bearer');
        const forged = `${(keys.get('admin') as string).slice(0, -4)}AAAA`;
        for (const authorization of [`Bearer ${forged}`, 'Bearer skuld_nonsense', `Basic ${forged}`]) {
          const refused = await settled(await api.anonymous({ ...request, headers: { authorization } }));
          expectProblem(refused, 401, 'UNAUTHENTICATED');
          // The problem says why, never what was presented.
          expect(refused.body).not.toContain(authorization.split(' ')[1]);
        }
        expect(await stateOf(api.runtime, [sku])).toEqual(before);
      });
    }

    it("declares the security schemes and every route's access in the OpenAPI document", async () => {
      const document = (await api.anonymous(read('/docs/json'))).json();
      expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['apiKey', 'jwt']);
      for (const { http, access } of Object.values(operations)) {
        const [method, path] = http.split(' ') as [string, string];
        const route = document.paths[path.replaceAll(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
        if (route === undefined && path === '/metrics') continue;
        expect(route?.security, http).toEqual(access.kind === 'open' ? [] : [{ apiKey: [] }, { jwt: [] }]);
        expect(route?.description, http).toMatch(/Access: /);
      }
    });

    it('keeps /healthz, the docs and the index open, and /readyz open by default', async () => {
      for (const url of ['/healthz', '/readyz', '/v1', '/docs/json']) {
        expect((await api.anonymous(read(url))).statusCode, url).toBe(200);
      }
    });

    it('refuses a revoked key and an expired key with 401', async () => {
      const key = await keyFor(api, ['admin']);
      const request = { ...read('/v1/items'), headers: bearer(key) };
      expect((await api.anonymous(request)).statusCode).toBe(200);
      const id = key.split('_')[1] as string;
      expect(await revokeKey(api.runtime.store.keys, id, 'test', Date.now())).toBe(true);
      const revoked = expectProblem(await api.anonymous(request), 401, 'UNAUTHENTICATED');
      expect(revoked.detail).toBe('the key is revoked');

      const now = Date.now();
      const expired = await createKey(api.runtime.store.keys, {
        name: 'short-lived',
        roles: ['admin'],
        createdBy: 'test',
        now: now - 2000,
        expiresAt: now - 1000,
      });
      recordCredential(expired.key);
      const refused = expectProblem(
        await api.anonymous({ ...request, headers: bearer(expired.key) }),
        401,
        'UNAUTHENTICATED',
      );
      expect(refused.detail).toBe('the key has expired');
    });

    it('records the principal as the actor, refuses a body actor, and records key changes', async () => {
      const dock = await keyFor(api, ['purchasing'], 'dock-3');
      const id = unique('rcv');
      const forged = change('/v1/receipts', { id, sku, location, quantity: 1, actor: 'someone-else' });
      const head = await api.runtime.store.headPosition();
      expectProblem(await api.app.inject({ ...forged, headers: bearer(dock) }), 400, 'VALIDATION_FAILED');
      expect(await api.runtime.store.headPosition()).toBe(head);

      const receipt = change('/v1/receipts', { id, sku, location, quantity: 1 });
      expect((await api.app.inject({ ...receipt, headers: bearer(dock) })).statusCode).toBe(201);
      const batch = change('/v1/batch', {
        commands: [{ type: 'ReceiveStock', id: unique('rcv'), sku, location, quantity: 1 }],
      });
      expect((await api.app.inject({ ...batch, headers: bearer(dock) })).statusCode).toBe(200);
      const events = await api.runtime.store.readLedger(head, 10);
      expect(events.map((event) => event.actor)).toEqual(['key:dock-3', 'key:dock-3']);

      const audit = await api.runtime.store.keys.auditEvents(0, 1000);
      const dockId = dock.split('_')[1];
      expect(audit).toContainEqual(expect.objectContaining({ action: 'key.created', subject: dockId, actor: 'test' }));
      expect(audit.some((event) => event.action === 'key.revoked')).toBe(true);
    });
  });
}

describe('access settings', () => {
  it('/readyz and /metrics, when set to need a credential, need ops:read; /healthz stays open', async () => {
    const api = await startApi('sqlite', { SKULD_AUTH_READYZ: 'credential', SKULD_AUTH_METRICS: 'credential' });
    try {
      const scanner = await keyFor(api, ['scanner']);
      const auditor = await keyFor(api, ['auditor']);
      for (const url of ['/readyz', '/metrics']) {
        expectProblem(await api.anonymous(read(url)), 401, 'UNAUTHENTICATED');
        const refused = expectProblem(
          await api.app.inject({ ...read(url), headers: bearer(scanner) }),
          403,
          'FORBIDDEN',
        );
        expect(refused.requiredScope).toBe('ops:read');
        expect((await api.app.inject({ ...read(url), headers: bearer(auditor) })).statusCode, url).toBe(200);
      }
      expect((await api.anonymous(read('/healthz'))).statusCode).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('with SKULD_DEV_OPEN_READS=loopback, serves reads from loopback alone without a credential, never a change', async () => {
    expect(loadConfig({}).devOpenReads).toBe('off');
    const api = await startApi('sqlite', { SKULD_DEV_OPEN_READS: 'loopback' });
    try {
      const sku = await stockedItem(api.app, { [location]: 1_000 });
      for (const [name, fixture] of Object.entries(fixtures)) {
        const request = await fixture(api, sku);
        const before = await stateOf(api.runtime, [sku]);
        const local = await settled(await api.anonymous({ ...request, remoteAddress: '127.0.0.1' }));
        if (request.method === 'GET') expect(local.statusCode, `${name}: ${local.body}`).toBe(200);
        else expectProblem(local, 401, 'UNAUTHENTICATED');
        const remote = await settled(await api.anonymous({ ...request, remoteAddress: '10.0.0.5' }));
        expectProblem(remote, 401, 'UNAUTHENTICATED');
        expect(await stateOf(api.runtime, [sku]), name).toEqual(before);
      }
    } finally {
      await api.close();
    }
  });

  it('says loudly, on the terminal and in the log, that reads are open', () => {
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const logged: string[] = [];
    const log = { ...silentLog, warn: (_context: object, message: string) => logged.push(message) };
    try {
      warnIfOpenReads(loadConfig({ SKULD_DEV_OPEN_READS: 'loopback' }), { log } as unknown as Runtime);
      expect(warned.mock.calls.map(([line]) => line)).toEqual([
        expect.stringMatching(/^WARNING: SKULD_DEV_OPEN_READS/),
      ]);
      expect(logged).toEqual([expect.stringMatching(/^SKULD_DEV_OPEN_READS=loopback/)]);
    } finally {
      warned.mockRestore();
    }
  });
});
