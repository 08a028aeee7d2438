import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { createKey } from '../../src/auth/key-admin.js';
import type { Role } from '../../src/auth/scopes.js';
import { createRuntime, type Runtime } from '../../src/compose/runtime.js';
import { loadConfig } from '../../src/config.js';
import type { Dialect } from '../../src/store/port.js';
import { ManualClock } from '../support/clock.js';
import { createTestDatabase } from '../support/dialects.js';
import { capturedLog, capturedLogger, recordCredential } from '../support/run-logs.js';

// The API under test: a real runtime on a fresh database of the dialect, driven through
// app.inject(), with a clock that moves only when a test says so. Every route but a few needs a
// credential, so app.inject() sends an admin key's unless the request names its own
// `authorization`; `anonymous` sends none. The app and the runtime log into the run's folder, and
// every key made here is written down there: the end of the run checks no log line holds one.

export interface Api {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  readonly clock: ManualClock;
  /** The admin key app.inject() sends by default. */
  readonly adminKey: string;
  /** A request with no credential at all. */
  anonymous(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** Creates a key with these roles on the API's store; returns the key. */
export async function keyFor(api: Api, roles: readonly Role[], name = unique('key')): Promise<string> {
  const created = await createKey(api.runtime.store.keys, {
    name,
    roles,
    createdBy: 'test',
    now: Date.now(),
    expiresAt: null,
  });
  recordCredential(created.key);
  return created.key;
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/** `env` overrides settings (e.g. SKULD_HTTP_BATCH_COMMANDS_MAX) for this app. */
export async function startApi(
  dialect: Dialect,
  env: Record<string, string> = {},
  logger: false | object = capturedLogger(),
): Promise<Api> {
  const db = await createTestDatabase(dialect);
  const clock = new ManualClock();
  // The engine's thread, when there is one, logs on the terminal: silent.
  const config = loadConfig({ ...db.env, SKULD_LOG_LEVEL: 'silent', ...env });
  const runtime = await createRuntime(config, clock, capturedLog());
  const app = await buildApp({ runtime, logger });
  const inject = app.inject.bind(app);
  const adminKey = await actAsAdmin(app, runtime);
  return {
    app,
    runtime,
    clock,
    adminKey,
    anonymous: (options) => inject(options),
    close: async () => {
      await app.close();
      await runtime.close();
      await db.drop();
    },
  };
}

/**
 * Makes app.inject() send an admin key's credential unless a request names its own
 * `authorization`; returns the key. For any app built on a runtime (startApi does it for its own).
 */
export async function actAsAdmin(app: FastifyInstance, runtime: Pick<Runtime, 'store'>): Promise<string> {
  const admin = await createKey(runtime.store.keys, {
    name: 'test-admin',
    roles: ['admin'],
    createdBy: 'test',
    now: Date.now(),
    expiresAt: null,
  });
  recordCredential(admin.key);
  const inject = app.inject.bind(app);
  const withAdmin = (given: InjectOptions | string) => {
    const options = typeof given === 'string' ? { url: given } : given;
    const headers = options.headers ?? {};
    return inject({ ...options, headers: 'authorization' in headers ? headers : { ...headers, ...bearer(admin.key) } });
  };
  app.inject = withAdmin as typeof app.inject;
  return admin.key;
}

let counter = 0;

/** A fresh code or id per call, so tests sharing one database never collide. */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

export function post(app: FastifyInstance, url: string, payload: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, payload: payload as object });
}

export function get(app: FastifyInstance, url: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url });
}

/** Asserts an RFC 9457 problem with this status and code, and returns its body. */
export function expectProblem(response: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  const body = response.json();
  expect({ status: response.statusCode, code: body.code }).toEqual({ status, code });
  expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  expect(body.type).toBe(`urn:skuld:problem:${code.toLowerCase().replaceAll('_', '-')}`);
  expect(body.status).toBe(status);
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(response.headers['x-request-id']);
  return body;
}

/** Registers an item and receives stock for it; returns its SKU. */
export async function stockedItem(
  app: FastifyInstance,
  stock: Readonly<Record<string, number>>,
  item: { allowBackorder?: boolean } = {},
): Promise<string> {
  const sku = unique('SKU');
  expect((await post(app, '/v1/items', { id: unique('reg'), sku, ...item })).statusCode).toBe(201);
  for (const [location, quantity] of Object.entries(stock)) {
    const receipt = await post(app, '/v1/receipts', { id: unique('rcv'), sku, location, quantity });
    expect(receipt.statusCode).toBe(201);
  }
  return sku;
}

/**
 * What a rejected request must leave alone: the ledger head, the items, and the levels of these
 * SKUs. A level never written reads as zero, so a zero row the engine created before deciding
 * (version 0) counts as absent.
 */
export async function stateOf(runtime: Runtime, skus: readonly string[]) {
  const { store } = runtime;
  const levels = await Promise.all(skus.map((sku) => store.itemLevels(sku)));
  return {
    head: await store.headPosition(),
    items: (await store.listItems(undefined, 10_000)).length,
    levels: levels.map((rows) => rows.filter((level) => level.version > 0)),
  };
}

/** Runs a request that must change nothing, and returns its response. */
export async function unchangedBy(
  api: Api,
  skus: readonly string[],
  request: () => Promise<LightMyRequestResponse>,
): Promise<LightMyRequestResponse> {
  const before = await stateOf(api.runtime, skus);
  const response = await request();
  expect(await stateOf(api.runtime, skus)).toEqual(before);
  return response;
}

export function line(sku: string, location: string, quantity: number) {
  return { sku, location, quantity };
}
