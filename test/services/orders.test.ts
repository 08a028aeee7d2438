import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLog } from '../../src/log.js';
import { openOrderService, type RunningOrderService } from '../../src/services/orders/order-service.js';
import { as, type GrpcApi, keyOf, startGrpc } from '../grpc/harness.js';
import { postgresUrl, testDialects } from '../support/dialects.js';
import { eventually } from '../support/eventually.js';

// The order service against a real inventory over gRPC (a runtime on SQLite, its gRPC server on
// a free port): orders placed, paid in full and in part, cancelled, rejected and left to expire,
// each checked against the reservation the inventory holds; an order placed while no inventory
// answers settles when the service starts again with one.

const paymentWindowMs = 60_000;

/** The order service's own database: a SQLite file, or a PostgreSQL database of its own. */
async function orderDatabase(dialect: 'sqlite' | 'postgres', dir: string) {
  if (dialect === 'sqlite') return { url: `sqlite:${join(dir, 'orders.db')}`, drop: async () => undefined };
  const name = `orders_${process.pid}_${Date.now().toString(36)}`;
  const admin = postgres(postgresUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

const orderDialects = (['sqlite', 'postgres'] as const).filter((dialect) => testDialects().includes(dialect));

describe.each(orderDialects)('the order service on %s', (orderDialect) => {
  let inventory: GrpcApi;
  let dir: string;
  let database: Awaited<ReturnType<typeof orderDatabase>>;
  let service: RunningOrderService;
  let ordersKey: string;

  const open = (env: Record<string, string> = {}) =>
    openOrderService(
      loadConfig({
        SKULD_ORDERS_DATABASE_URL: database.url,
        SKULD_INVENTORY_GRPC_URLS: inventory.server.url,
        SKULD_INVENTORY_KEY: ordersKey,
        SKULD_ORDERS_PAYMENT_WINDOW_MS: String(paymentWindowMs),
        SKULD_INVENTORY_CALL_TIMEOUT_MS: '2000',
        ...env,
      }),
      silentLog,
    );

  const send = (method: 'GET' | 'POST', url: string, payload?: object) =>
    service.app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });

  const level = async (sku: string) => {
    const answer = await inventory.client.getItemStock({ sku }, as(inventory.adminKey));
    const found = answer.levels.find((l) => l.location === 'WH1');
    return { onHand: Number(found?.onHand ?? 0), reserved: Number(found?.reserved ?? 0) };
  };

  const reservation = async (orderId: string) =>
    (await inventory.client.getReservation({ id: `ord:${orderId}` }, as(inventory.adminKey))).reservation;

  beforeAll(async () => {
    inventory = await startGrpc('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'skuld-orders-'));
    database = await orderDatabase(orderDialect, dir);
    ordersKey = await keyOf(inventory.runtime, ['orders']);
    for (const sku of ['TEA', 'CUP', 'POT']) {
      await inventory.client.registerItem({ id: `reg-${sku}`, sku }, as(inventory.adminKey));
      await inventory.client.receiveStock(
        { id: `rcv-${sku}`, sku, location: 'WH1', quantity: 10n },
        as(inventory.adminKey),
      );
    }
    service = await open();
  });

  afterAll(async () => {
    await service?.close();
    await inventory?.close();
    await database?.drop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('places an order by reserving all its lines, and answers the same order to a repeat', async () => {
    const order = { id: 'o-1', customer: 'ada', lines: [{ sku: 'TEA', location: 'WH1', quantity: 2 }] };
    const placed = await send('POST', '/v1/orders', order);
    expect(placed.statusCode).toBe(201);
    expect(placed.json()).toMatchObject({ id: 'o-1', status: 'awaiting_payment', customer: 'ada' });
    expect(placed.json().expiresAt).toBeGreaterThan(0);
    expect(await reservation('o-1')).toMatchObject({ status: 1 });
    expect(await level('TEA')).toEqual({ onHand: 10, reserved: 2 });

    expect((await send('POST', '/v1/orders', order)).json()).toMatchObject({ id: 'o-1', status: 'awaiting_payment' });
    expect(await level('TEA')).toEqual({ onHand: 10, reserved: 2 });
    const other = await send('POST', '/v1/orders', { ...order, lines: [{ sku: 'TEA', location: 'WH1', quantity: 3 }] });
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
  });

  it('pays an order in full: the reservation is committed and the stock shipped', async () => {
    const paid = await send('POST', '/v1/orders/o-1/pay', {});
    expect(paid.statusCode).toBe(200);
    expect(paid.json()).toMatchObject({ status: 'paid', shipped: [{ sku: 'TEA', location: 'WH1', quantity: 2 }] });
    expect(await reservation('o-1')).toMatchObject({ status: 2 });
    expect(await level('TEA')).toEqual({ onHand: 8, reserved: 0 });
    // Paying again answers the paid order and ships nothing more.
    expect((await send('POST', '/v1/orders/o-1/pay', {})).json()).toMatchObject({ status: 'paid' });
    expect(await level('TEA')).toEqual({ onHand: 8, reserved: 0 });
  });

  it('ships part of an order: the units not shipped are released', async () => {
    const lines = [
      { sku: 'CUP', location: 'WH1', quantity: 4 },
      { sku: 'POT', location: 'WH1', quantity: 1 },
    ];
    expect((await send('POST', '/v1/orders', { id: 'o-2', customer: 'bo', lines })).statusCode).toBe(201);
    const tooMuch = await send('POST', '/v1/orders/o-2/pay', { lines: [{ sku: 'CUP', location: 'WH1', quantity: 5 }] });
    expect(tooMuch.statusCode).toBe(409);
    expect(tooMuch.json()).toMatchObject({ code: 'COMMIT_EXCEEDS_ORDER' });
    const paid = await send('POST', '/v1/orders/o-2/pay', { lines: [{ sku: 'CUP', location: 'WH1', quantity: 3 }] });
    expect(paid.json().status).toBe('paid');
    expect(paid.json().shipped).toEqual(
      expect.arrayContaining([
        { sku: 'CUP', location: 'WH1', quantity: 3 },
        { sku: 'POT', location: 'WH1', quantity: 0 },
      ]),
    );
    expect(await level('CUP')).toEqual({ onHand: 7, reserved: 0 });
    expect(await level('POT')).toEqual({ onHand: 10, reserved: 0 });
  });

  it('cancels an unpaid order: its stock is released, and a cancelled order cannot be paid', async () => {
    const lines = [{ sku: 'POT', location: 'WH1', quantity: 3 }];
    await send('POST', '/v1/orders', { id: 'o-3', customer: 'cy', lines });
    expect(await level('POT')).toEqual({ onHand: 10, reserved: 3 });
    const cancelled = await send('POST', '/v1/orders/o-3/cancel');
    expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
    expect(await reservation('o-3')).toMatchObject({ status: 3 });
    expect(await level('POT')).toEqual({ onHand: 10, reserved: 0 });
    const pay = await send('POST', '/v1/orders/o-3/pay', {});
    expect(pay.statusCode).toBe(409);
    expect(pay.json()).toMatchObject({ code: 'ORDER_STATE_CONFLICT', status: 409, orderStatus: 'cancelled' });
  });

  it('rejects an order the stock cannot cover, holding nothing for it', async () => {
    const lines = [
      { sku: 'TEA', location: 'WH1', quantity: 1 },
      { sku: 'CUP', location: 'WH1', quantity: 1000 },
    ];
    const placed = await send('POST', '/v1/orders', { id: 'o-4', customer: 'di', lines });
    expect(placed.json()).toMatchObject({ status: 'rejected', reason: 'INSUFFICIENT_STOCK' });
    expect(await level('TEA')).toEqual({ onHand: 8, reserved: 0 });
  });

  it('expires an order left unpaid when the inventory expires its reservation', async () => {
    await send('POST', '/v1/orders', {
      id: 'o-5',
      customer: 'ed',
      lines: [{ sku: 'TEA', location: 'WH1', quantity: 1 }],
    });
    inventory.clock.advance(paymentWindowMs + 1);
    expect(await inventory.runtime.sweeper.sweep()).toBeGreaterThan(0);
    await eventually(
      'the order learns of the expiry',
      async () => (await send('GET', '/v1/orders/o-5')).json().status === 'expired',
    );
    expect(await level('TEA')).toEqual({ onHand: 8, reserved: 0 });
    const pay = await send('POST', '/v1/orders/o-5/pay', {});
    expect(pay.json()).toMatchObject({ code: 'ORDER_STATE_CONFLICT' });
  });

  it('lists orders by status and customer, and refuses bad input with a problem', async () => {
    const paid = (await send('GET', '/v1/orders?status=paid')).json();
    expect(paid.orders.map((o: { id: string }) => o.id)).toEqual(['o-1', 'o-2']);
    expect((await send('GET', '/v1/orders?customer=cy')).json().orders.map((o: { id: string }) => o.id)).toEqual([
      'o-3',
    ]);
    for (const bad of [
      { id: 'o-x', customer: 'x', lines: [] },
      { id: 'o-x', customer: 'x', lines: [{ sku: 'TEA', location: 'WH1', quantity: 0 }] },
      { id: '', customer: 'x', lines: [{ sku: 'TEA', location: 'WH1', quantity: 1 }] },
      {
        id: 'o-x',
        customer: 'x',
        lines: [
          { sku: 'TEA', location: 'WH1', quantity: 1 },
          { sku: 'TEA', location: 'WH1', quantity: 1 },
        ],
      },
    ]) {
      const answer = await send('POST', '/v1/orders', bad);
      expect(answer.statusCode, JSON.stringify(bad)).toBe(400);
      expect(answer.headers['content-type']).toContain('application/problem+json');
    }
    expect((await send('GET', '/v1/orders/o-x')).statusCode).toBe(404);
  });

  it('settles an order placed while no inventory answered once it starts again with one', async () => {
    await service.close();
    // Nothing listens on port 9: every call fails UNAVAILABLE and the order stays placing.
    service = await open({ SKULD_INVENTORY_GRPC_URLS: 'http://127.0.0.1:9' });
    const placed = await send('POST', '/v1/orders', {
      id: 'o-6',
      customer: 'fa',
      lines: [{ sku: 'CUP', location: 'WH1', quantity: 2 }],
    });
    expect(placed.statusCode).toBe(202);
    expect(placed.json().status).toBe('placing');
    await service.close();
    service = await open();
    await eventually(
      'the owed reservation is made',
      async () => (await send('GET', '/v1/orders/o-6')).json().status === 'awaiting_payment',
    );
    expect(await level('CUP')).toEqual({ onHand: 7, reserved: 2 });
    expect(await reservation('o-6')).toMatchObject({ status: 1 });
  });
});
