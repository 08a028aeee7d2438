import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InventoryService } from '../../src/grpc/gen/skuld/inventory/v1/inventory_service_pb.js';
import { createTestDatabase, postgresUrl, type TestDatabase } from '../support/dialects.js';
import { type Exposition, parseExposition, sampleSum } from '../support/exposition.js';
import { type ServedProcess, serveWithOutput } from '../support/served.js';

// /metrics of a real `skuld serve` on PostgreSQL, with the engine on its thread (the default)
// and gRPC on: every family the operators and the dashboard read is there with its type, and a
// known sequence of commands moves the counters by exactly what it did.

/** Every family of an inventory instance and its type (docs/api.md, Metrics). */
const families: Readonly<Record<string, string>> = {
  skuld_commands_total: 'counter',
  skuld_engine_batch_size: 'histogram',
  skuld_engine_batch_duration_seconds: 'histogram',
  skuld_engine_queue_depth: 'gauge',
  skuld_engine_largest_batch: 'gauge',
  skuld_engine_splits_total: 'counter',
  skuld_engine_isolated_total: 'counter',
  skuld_engine_overloaded_total: 'counter',
  skuld_store_conflicts_total: 'counter',
  skuld_store_retries_total: 'counter',
  skuld_sweeper_expired_total: 'counter',
  skuld_sweeper_failures_total: 'counter',
  skuld_sweeper_lag_seconds: 'gauge',
  skuld_reservations_pending: 'gauge',
  skuld_http_request_duration_seconds: 'histogram',
  skuld_grpc_request_duration_seconds: 'histogram',
  skuld_relay_lag_events: 'gauge',
  skuld_relay_lag_seconds: 'gauge',
  skuld_relay_published_total: 'counter',
  skuld_relay_failures: 'gauge',
  skuld_projection_lag_events: 'gauge',
  skuld_projection_lag_seconds: 'gauge',
  skuld_ops_sample_failures_total: 'counter',
  skuld_cache_hits_total: 'counter',
  skuld_cache_misses_total: 'counter',
  skuld_cache_breaker_state: 'gauge',
};

/** Polls `read` until it gives a value; fails naming `what` after 15 s. */
async function waitFor<T>(what: string, read: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('GET /metrics of skuld serve (PostgreSQL, engine thread, gRPC)', () => {
  let db: TestDatabase;
  let server: ServedProcess;
  let key: string;
  let grpcUrl: string;
  let lines: readonly string[];

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const scrape = async (): Promise<Exposition> => {
    const response = await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await response.text());
  };

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    server = await serveWithOutput(db, {
      SKULD_GRPC_PORT: '0',
      SKULD_LOG_LEVEL: 'info',
      SKULD_HEARTBEAT_INTERVAL_MS: '200',
      SKULD_RELAY: 'in-process',
    });
    ({ lines } = server);
    key = server.key as string;
    expect(key).toBeDefined();
    grpcUrl = server.grpcUrl as string;
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('has every family, each with its type, the engine thread’s included', async () => {
    const client = createClient(InventoryService, createGrpcTransport({ baseUrl: grpcUrl }));
    // One gRPC call refused (no credential) and one answered: both are observed.
    await expect(client.listItems({})).rejects.toThrow();
    await client.listItems({}, { headers: { authorization: `Bearer ${key}` } });
    expect((await call('GET', '/v1/items/NOPE-1')).status).toBe(404);
    const exposition = await scrape();
    for (const [name, type] of Object.entries(families)) expect(exposition.types.get(name), name).toBe(type);
    for (const code of ['deadlock', 'lock_timeout', 'unique_violation', 'serialization_failure', 'version_conflict']) {
      expect(exposition.samples.some((s) => s.name === 'skuld_store_conflicts_total' && s.labels.code === code)).toBe(
        true,
      );
    }
    expect(sampleSum(exposition, 'skuld_store_conflicts_total')).toBe(0);
    expect(
      sampleSum(exposition, 'skuld_grpc_request_duration_seconds_count', { method: 'ListItems', code: 'ok' }),
    ).toBe(1);
    expect(
      sampleSum(exposition, 'skuld_grpc_request_duration_seconds_count', {
        method: 'ListItems',
        code: 'unauthenticated',
      }),
    ).toBe(1);
    // The route's template, never the SKU; a path no route serves is `unmatched`.
    expect(
      sampleSum(exposition, 'skuld_http_request_duration_seconds_count', { route: '/v1/items/:sku', status: '404' }),
    ).toBe(1);
    expect(exposition.samples.some((s) => Object.values(s.labels).includes('NOPE-1'))).toBe(false);
    await fetch(`${server.base}/no/such/path`);
    const after = await scrape();
    expect(sampleSum(after, 'skuld_http_request_duration_seconds_count', { route: 'unmatched', status: '404' })).toBe(
      1,
    );
  });

  it('counts a known sequence of commands exactly: 3 reserves ok, 1 refused, 2 commits', async () => {
    const before = await scrape();
    const sku = 'MET-1';
    expect((await call('POST', '/v1/items', { id: 'met-item', sku })).status).toBe(201);
    expect((await call('POST', '/v1/receipts', { id: 'met-rcv', sku, location: 'WH', quantity: 10 })).status).toBe(201);
    for (const n of [1, 2, 3]) {
      const reserved = await call('POST', '/v1/reservations', {
        id: `met-res-${n}`,
        lines: [{ sku, location: 'WH', quantity: 2 }],
      });
      expect(reserved.status).toBe(201);
    }
    const refused = await call('POST', '/v1/reservations', {
      id: 'met-res-4',
      lines: [{ sku, location: 'WH', quantity: 9 }],
    });
    expect(refused.body.code).toBe('INSUFFICIENT_STOCK');
    for (const n of [1, 2]) {
      expect((await call('POST', `/v1/reservations/met-res-${n}/commit`, { id: `met-commit-${n}` })).status).toBe(200);
    }
    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sampleSum(after, name, labels) - sampleSum(before, name, labels);
    expect(moved('skuld_commands_total', { type: 'RegisterItem', outcome: 'ok' })).toBe(1);
    expect(moved('skuld_commands_total', { type: 'ReceiveStock', outcome: 'ok' })).toBe(1);
    expect(moved('skuld_commands_total', { type: 'ReserveStock', outcome: 'ok' })).toBe(3);
    expect(moved('skuld_commands_total', { type: 'ReserveStock', outcome: 'INSUFFICIENT_STOCK' })).toBe(1);
    expect(moved('skuld_commands_total', { type: 'CommitReservation', outcome: 'ok' })).toBe(2);
    expect(moved('skuld_commands_total')).toBe(8);
    // Each command was answered in a batch (one at a time: each request waited for the last).
    expect(moved('skuld_engine_batch_size_sum')).toBe(8);
    expect(moved('skuld_engine_batch_size_count')).toBe(8);
    expect(moved('skuld_engine_batch_duration_seconds_count')).toBeGreaterThanOrEqual(8);
    expect(moved('skuld_store_retries_total')).toBe(0);
    expect(
      moved('skuld_http_request_duration_seconds_count', { method: 'POST', route: '/v1/reservations', status: '201' }),
    ).toBe(3);
    expect(
      moved('skuld_http_request_duration_seconds_count', { method: 'POST', route: '/v1/reservations/:id/commit' }),
    ).toBe(2);
    // The in-process relay has published every event (it started at the head, 0), and lags none.
    const { body: projections } = await call('GET', '/v1/projections');
    const head = projections.head as number;
    expect(head).toBeGreaterThanOrEqual(7);
    await waitFor('the relay to publish every event', async () => {
      const now = await scrape();
      const published = sampleSum(now, 'skuld_relay_published_total', { destination: 'in-process' });
      const lag = sampleSum(now, 'skuld_relay_lag_events', { destination: 'in-process' });
      return published === head && lag === 0 ? true : undefined;
    });
    // The gauges read from the store, once the next sample has run: one reservation is pending.
    await waitFor('one reservation pending', async () =>
      sampleSum(await scrape(), 'skuld_reservations_pending') === 1 ? true : undefined,
    );
  });

  it('answers a scrape while the store is locked: the gauges are read from memory, the engine thread answers between batches', async () => {
    const sql = postgres(postgresUrl, {
      max: 1,
      onnotice: () => undefined,
      connection: { search_path: db.env.SKULD_DATABASE_SCHEMA as string },
    });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked: () => void = () => undefined;
    const taken = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const transaction = sql.begin(async (tx) => {
      await tx`LOCK TABLE commands IN ACCESS EXCLUSIVE MODE`;
      locked();
      await held;
    });
    try {
      await taken;
      // A command now waits in the engine thread for the lock, and so does the sampler's count.
      const blocked = call('POST', '/v1/reservations', {
        id: 'met-locked',
        lines: [{ sku: 'MET-1', location: 'WH', quantity: 1 }],
      });
      const response = await fetch(`${server.base}/metrics`, {
        headers: { authorization: `Bearer ${key}` },
        signal: AbortSignal.timeout(10_000),
      });
      expect(response.status).toBe(200);
      const exposition = parseExposition(await response.text());
      expect(sampleSum(exposition, 'skuld_commands_total', { type: 'ReserveStock', outcome: 'ok' })).toBe(3);
      release();
      expect((await blocked).status).toBe(201);
    } finally {
      release();
      await transaction;
      await sql.end();
    }
  });

  it('lists this instance, healthy, at GET /v1/instances', async () => {
    const { status, body } = await call('GET', '/v1/instances');
    expect(status).toBe(200);
    const instances = body.instances as { httpUrl: string; grpcUrl: string | null; healthy: boolean }[];
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({ httpUrl: server.base, grpcUrl, healthy: true });
  });

  it('logs one JSON line per request at info: method, route, status, duration, request id, principal', async () => {
    await fetch(`${server.base}/v1/items/LOG-1`, {
      headers: { authorization: `Bearer ${key}`, 'x-request-id': 'log-check-1' },
    });
    const line = await waitFor('the request line of log-check-1', () =>
      lines.find((text) => text.includes('"log-check-1"')),
    );
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(record).toMatchObject({
      level: 30,
      msg: 'request completed',
      requestId: 'log-check-1',
      method: 'GET',
      route: '/v1/items/:sku',
      url: '/v1/items/LOG-1',
      statusCode: 404,
      principal: 'key:admin',
    });
    expect(typeof record.durationMs).toBe('number');
    // One line per request: none as it arrives.
    expect(lines.filter((text) => text.includes('"log-check-1"'))).toHaveLength(1);
  });
});
