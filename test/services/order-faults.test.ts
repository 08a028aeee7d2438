import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Order, OrderLine } from '../../src/services/orders/orders.js';
import { createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { eventually } from '../support/eventually.js';
import { recordCredential } from '../support/run-logs.js';
import { runSkuld, verifyCli } from '../support/server-process.js';
import { type SystemProcess, startInventory, startOrders } from '../support/system.js';

// The order service and three inventory instances on one PostgreSQL database, all real
// processes. One inventory instance is killed (SIGKILL) during a load of orders that are paid
// in full and in part, cancelled and abandoned; the order service is killed at each step of an
// owed call (after its own commit, and after the inventory's answer) and started again. No
// order is lost, stuck or doubled, each order's state matches its reservation's, no unit is
// oversold, and the inventory verifies.

const skus = ['E2E-A', 'E2E-B', 'E2E-C', 'E2E-D'];
const initialStock = 60;
const paymentWindowMs = 4000;

describe('the order service and an inventory cluster, under faults', () => {
  let db: TestDatabase;
  let dir: string;
  const instances: SystemProcess[] = [];
  let orders: SystemProcess | undefined;
  let adminKey: string;
  let ordersKey: string;

  const inventoryEnv = () => ({
    ...db.env,
    SKULD_SWEEP_INTERVAL_MS: '200',
    SKULD_RATE_LIMIT_PER_SECOND: '100000',
    SKULD_RATE_LIMIT_BURST: '100000',
  });
  const ordersEnv = (env: Record<string, string> = {}) => ({
    SKULD_ORDERS_DATABASE_URL: `sqlite:${join(dir, 'orders.db')}`,
    SKULD_INVENTORY_GRPC_URLS: instances.map((instance) => instance.urls.grpc).join(','),
    SKULD_INVENTORY_KEY: ordersKey,
    SKULD_ORDERS_PAYMENT_WINDOW_MS: String(paymentWindowMs),
    SKULD_INVENTORY_CALL_TIMEOUT_MS: '2000',
    ...env,
  });

  const inventory = async (path: string, init: { method?: string; body?: unknown } = {}) => {
    const live = instances.find((instance) => instance.child.exitCode === null && instance.child.signalCode === null);
    const response = await fetch(`${live?.urls.http}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const response = await fetch(`${orders?.urls.orders}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Order & { code?: string } };
  };

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    dir = mkdtempSync(join(tmpdir(), 'skuld-e2e-'));
    instances.push(await startInventory(inventoryEnv()));
    adminKey = instances[0]?.key as string;
    expect(adminKey, 'the first instance prints the first admin key').toBeDefined();
    instances.push(await startInventory(inventoryEnv()), await startInventory(inventoryEnv()));
    const created = await runSkuld(['keys', 'create', '--name', 'order-service', '--role', 'orders'], db.env);
    ordersKey = /skuld_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(created.stdout)?.[0] as string;
    expect(ordersKey).toBeDefined();
    recordCredential(ordersKey);
    for (const sku of skus) {
      expect((await inventory('/v1/items', { method: 'POST', body: { id: `reg-${sku}`, sku } })).status).toBe(201);
      const receipt = { id: `rcv-${sku}`, sku, location: 'WH1', quantity: initialStock };
      expect((await inventory('/v1/receipts', { method: 'POST', body: receipt })).status).toBe(201);
    }
  });

  afterAll(async () => {
    await orders?.kill('SIGTERM');
    await Promise.all(instances.map((instance) => instance.kill('SIGTERM')));
    await db?.drop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('loses, doubles and oversells nothing when an inventory instance is killed under load', async () => {
    orders = await startOrders(ordersEnv());
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const placed: string[] = [];
    const orderCount = 120;
    let next = 0;
    const worker = async () => {
      while (next < orderCount) {
        const index = next++;
        if (index === 40) void instances[1]?.kill('SIGKILL');
        const chosen = [...skus].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * 2));
        const lines = chosen.map((sku) => ({ sku, location: 'WH1', quantity: 1 + Math.floor(random() * 3) }));
        const id = `load-${index}`;
        const answer = await call('POST', '/v1/orders', { id, customer: `c${index % 7}`, lines });
        expect([201, 202]).toContain(answer.status);
        placed.push(id);
        if (answer.body.status !== 'awaiting_payment') continue;
        const choice = random();
        if (choice < 0.45) expect((await call('POST', `/v1/orders/${id}/pay`, {})).status).toBeLessThan(300);
        else if (choice < 0.6) {
          const [first] = lines as [OrderLine];
          const part = { lines: [{ ...first, quantity: Math.max(1, first.quantity - 1) }] };
          expect((await call('POST', `/v1/orders/${id}/pay`, part)).status).toBeLessThan(300);
        } else if (choice < 0.8) expect((await call('POST', `/v1/orders/${id}/cancel`)).status).toBeLessThan(300);
        // else: abandoned, left to expire.
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(instances[1]?.child.signalCode).toBe('SIGKILL');
    expect(placed).toHaveLength(orderCount);

    const settled = new Set(['paid', 'cancelled', 'expired', 'rejected']);
    await eventually(
      'every order settles (the abandoned ones expire)',
      async () => {
        const page = await call('GET', '/v1/orders?limit=1000');
        const all = (page.body as unknown as { orders: Order[] }).orders;
        return all.length === orderCount && all.every((order) => settled.has(order.status));
      },
      60_000,
    );
    await expectOrdersMatchInventory();
  });

  for (const point of ['orders:owed', 'orders:answered'] as const) {
    it(`finishes what a killed order service owed, at restart (${point})`, async () => {
      await orders?.kill('SIGTERM');
      const sku = skus[0] as string;
      const before = await stockOf(sku);
      const id = `crash-${point.split(':')[1]}`;
      // Placing: the process dies at the point, the request with it.
      orders = await startOrders(ordersEnv({ SKULD_FAILPOINT: point, SKULD_ORDERS_PAYMENT_WINDOW_MS: '120000' }));
      const lines = [{ sku, location: 'WH1', quantity: 2 }];
      await expect(call('POST', '/v1/orders', { id, customer: 'crash', lines })).rejects.toThrow();
      expect(await orders.exited).toBeNull();
      expect(orders.child.signalCode).toBe('SIGKILL');
      orders = await startOrders(ordersEnv());
      await eventually(
        'the owed reservation is made once',
        async () => (await call('GET', `/v1/orders/${id}`)).body.status === 'awaiting_payment',
        60_000,
      );
      expect(await stockOf(sku)).toEqual({ onHand: before.onHand, reserved: before.reserved + 2 });
      // Paying: dies at the same point, and the restart ships once.
      await orders.kill('SIGTERM');
      orders = await startOrders(ordersEnv({ SKULD_FAILPOINT: point }));
      await expect(call('POST', `/v1/orders/${id}/pay`, {})).rejects.toThrow();
      orders = await startOrders(ordersEnv());
      await eventually(
        'the owed commit is made once',
        async () => (await call('GET', `/v1/orders/${id}`)).body.status === 'paid',
        60_000,
      );
      expect(await stockOf(sku)).toEqual({ onHand: before.onHand - 2, reserved: before.reserved });
      await expectOrdersMatchInventory();
    });
  }

  async function stockOf(sku: string): Promise<{ onHand: number; reserved: number }> {
    const { body } = await inventory(`/v1/items/${sku}/stock`);
    const level = (body.levels as { location: string; onHand: number; reserved: number }[]).find(
      (l) => l.location === 'WH1',
    );
    return { onHand: level?.onHand ?? 0, reserved: level?.reserved ?? 0 };
  }

  /** Every order against its reservation; the stock against what was shipped; verify. */
  async function expectOrdersMatchInventory(): Promise<void> {
    const all = ((await call('GET', '/v1/orders?limit=1000')).body as unknown as { orders: Order[] }).orders;
    const expected: Record<string, string> = { paid: 'committed', cancelled: 'released', expired: 'expired' };
    const shipped = new Map<string, number>();
    for (const order of all) {
      const { status, body } = await inventory(`/v1/reservations/ord:${order.id}`);
      if (order.status === 'rejected') {
        expect(status, `${order.id} was rejected: no reservation`).toBe(404);
        continue;
      }
      if (order.status === 'awaiting_payment') {
        expect(body.status, order.id).toBe('pending');
        continue;
      }
      expect(body.status, `${order.id} is ${order.status}`).toBe(expected[order.status]);
      if (order.status !== 'paid') continue;
      const committed = (body.lines as { sku: string; location: string; committed: number }[]).map((line) => ({
        sku: line.sku,
        location: line.location,
        quantity: line.committed,
      }));
      expect(order.shipped, order.id).toEqual(committed);
      for (const line of committed) shipped.set(line.sku, (shipped.get(line.sku) ?? 0) + line.quantity);
    }
    for (const sku of skus) {
      const pending = all
        .filter((order) => order.status === 'awaiting_payment')
        .flatMap((order) => order.lines)
        .filter((line) => line.sku === sku)
        .reduce((sum, line) => sum + line.quantity, 0);
      expect(await stockOf(sku), sku).toEqual({ onHand: initialStock - (shipped.get(sku) ?? 0), reserved: pending });
    }
    const verified = await verifyCli(db);
    expect(verified.code, verified.report).toBe(0);
  }
});
