import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { type Exposition, parseExposition, sampleSum } from '../support/exposition.js';
import { runSkuld } from '../support/server-process.js';
import { type SystemProcess, startInventory, startOrders, startPurchases } from '../support/system.js';

// The order and purchase services' /metrics, each a real process calling a real inventory
// instance (on PostgreSQL) over gRPC: their HTTP latency, their calls to the inventory by RPC
// and status code, their orders by the status reached, and the calls they still owe.

const serviceFamilies: Readonly<Record<string, string>> = {
  skuld_http_request_duration_seconds: 'histogram',
  skuld_inventory_call_duration_seconds: 'histogram',
  skuld_owed_calls_pending: 'gauge',
};

async function keyFor(db: TestDatabase, role: string): Promise<string> {
  const created = await runSkuld(['keys', 'create', '--name', `metrics-${role}`, '--role', role], db.env);
  const key = /skuld_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(created.stdout)?.[0];
  if (key === undefined) throw new Error(`no key for ${role}: ${created.stderr}`);
  return key;
}

async function scrape(base: string): Promise<Exposition> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseExposition(await response.text());
}

const post = async (url: string, body: unknown, key?: string) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('the order and purchase services’ /metrics', () => {
  let db: TestDatabase;
  let dir: string;
  let inventory: SystemProcess;
  let orders: SystemProcess;
  let purchases: SystemProcess;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    dir = mkdtempSync(join(tmpdir(), 'skuld-service-metrics-'));
    inventory = await startInventory(db.env);
    const admin = inventory.key as string;
    const http = inventory.urls.http as string;
    expect((await post(`${http}/v1/items`, { id: 'sm-item', sku: 'SM-1' }, admin)).status).toBe(201);
    const received = await post(
      `${http}/v1/receipts`,
      { id: 'sm-rcv', sku: 'SM-1', location: 'WH', quantity: 5 },
      admin,
    );
    expect(received.status).toBe(201);
    const common = { SKULD_INVENTORY_GRPC_URLS: inventory.urls.grpc as string, SKULD_LOG_LEVEL: 'warn' };
    orders = await startOrders({
      ...common,
      SKULD_INVENTORY_KEY: await keyFor(db, 'orders'),
      SKULD_ORDERS_DATABASE_URL: `sqlite:${join(dir, 'orders.db')}`,
    });
    purchases = await startPurchases({
      ...common,
      SKULD_INVENTORY_KEY: await keyFor(db, 'purchasing'),
      SKULD_PURCHASES_DATABASE_URL: `sqlite:${join(dir, 'purchases.db')}`,
    });
  });
  afterAll(async () => {
    await orders?.kill('SIGTERM');
    await purchases?.kill('SIGTERM');
    await inventory?.kill('SIGTERM');
    await db?.drop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('the order service counts its orders by status, its inventory calls by RPC and code, and its requests', async () => {
    const base = orders.urls.orders as string;
    const line = { sku: 'SM-1', location: 'WH', quantity: 2 };
    expect((await post(`${base}/v1/orders`, { id: 'sm-o1', customer: 'c', lines: [line] })).body.status).toBe(
      'awaiting_payment',
    );
    const refused = await post(`${base}/v1/orders`, { id: 'sm-o2', customer: 'c', lines: [{ ...line, quantity: 9 }] });
    expect(refused.body).toMatchObject({ status: 'rejected', reason: 'INSUFFICIENT_STOCK' });
    expect((await post(`${base}/v1/orders/sm-o1/pay`, {})).body.status).toBe('paid');
    const exposition = await scrape(base);
    for (const [name, type] of Object.entries({ ...serviceFamilies, skuld_orders_total: 'counter' })) {
      expect(exposition.types.get(name), name).toBe(type);
    }
    const orderCount = (status: string) => sampleSum(exposition, 'skuld_orders_total', { status });
    expect(orderCount('placing')).toBe(2);
    expect(orderCount('awaiting_payment')).toBe(1);
    expect(orderCount('rejected')).toBe(1);
    expect(orderCount('paying')).toBe(1);
    expect(orderCount('paid')).toBe(1);
    expect(orderCount('expired')).toBe(0);
    const calls = (labels: Record<string, string>) =>
      sampleSum(exposition, 'skuld_inventory_call_duration_seconds_count', labels);
    expect(calls({ method: 'ReserveStock', code: 'ok' })).toBe(1);
    expect(calls({ method: 'ReserveStock', code: 'failed_precondition' })).toBe(1);
    expect(calls({ method: 'CommitReservation', code: 'ok' })).toBe(1);
    expect(sampleSum(exposition, 'skuld_owed_calls_pending')).toBe(0);
    const requests = (labels: Record<string, string>) =>
      sampleSum(exposition, 'skuld_http_request_duration_seconds_count', labels);
    expect(requests({ method: 'POST', route: '/v1/orders' })).toBe(2);
    expect(requests({ method: 'POST', route: '/v1/orders/:id/pay', status: '200' })).toBe(1);
  });

  it('the purchase service counts its purchase orders by status and serves the same families', async () => {
    const base = purchases.urls.purchases as string;
    const created = await post(`${base}/v1/purchase-orders`, {
      id: 'sm-po1',
      supplier: 's',
      lines: [{ sku: 'SM-1', location: 'WH', quantity: 3 }],
    });
    expect(created.status).toBe(201);
    expect((await post(`${base}/v1/purchase-orders/sm-po1/confirm`, {})).body.status).toBe('confirmed');
    const exposition = await scrape(base);
    for (const [name, type] of Object.entries({ ...serviceFamilies, skuld_purchase_orders_total: 'counter' })) {
      expect(exposition.types.get(name), name).toBe(type);
    }
    expect(sampleSum(exposition, 'skuld_purchase_orders_total', { status: 'draft' })).toBe(1);
    expect(sampleSum(exposition, 'skuld_purchase_orders_total', { status: 'confirmed' })).toBe(1);
    expect(sampleSum(exposition, 'skuld_purchase_orders_total', { status: 'received' })).toBe(0);
    expect(
      sampleSum(exposition, 'skuld_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/v1/purchase-orders/:id/confirm',
        status: '200',
      }),
    ).toBe(1);
  });
});
