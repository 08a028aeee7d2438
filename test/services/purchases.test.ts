import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLog } from '../../src/log.js';
import { openPurchaseService, type RunningPurchaseService } from '../../src/services/purchases/purchase-service.js';
import { as, type GrpcApi, keyOf, startGrpc } from '../grpc/harness.js';

// The purchase service against a real inventory over gRPC (a runtime on SQLite, its gRPC server
// on a free port): purchase orders drafted, confirmed, received in part, in full and beyond,
// closed short; each receipt line once in the inventory, with the PO line as its reference,
// however often it is sent, and across a restart of the service.

describe('the purchase service', () => {
  let inventory: GrpcApi;
  let dir: string;
  let service: RunningPurchaseService;
  let purchasingKey: string;

  const open = (env: Record<string, string> = {}) =>
    openPurchaseService(
      loadConfig({
        SKULD_PURCHASES_DATABASE_URL: `sqlite:${join(dir, 'purchases.db')}`,
        SKULD_INVENTORY_GRPC_URLS: inventory.server.url,
        SKULD_INVENTORY_KEY: purchasingKey,
        SKULD_INVENTORY_CALL_TIMEOUT_MS: '2000',
        ...env,
      }),
      silentLog,
    );

  const send = (method: 'GET' | 'POST', url: string, payload?: object) =>
    service.app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });

  const onHand = async (sku: string) => {
    const answer = await inventory.client.getItemStock({ sku }, as(inventory.adminKey));
    return Number(answer.levels.find((level) => level.location === 'DOCK')?.onHand ?? 0);
  };

  beforeAll(async () => {
    inventory = await startGrpc('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'skuld-purchases-'));
    purchasingKey = await keyOf(inventory.runtime, ['purchasing']);
    for (const sku of ['BOLT', 'NUT']) {
      await inventory.client.registerItem({ id: `reg-${sku}`, sku }, as(inventory.adminKey));
    }
    service = await open();
  });

  afterAll(async () => {
    await service?.close();
    await inventory?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const po = {
    id: 'PO-1',
    supplier: 'acme',
    lines: [
      { sku: 'BOLT', location: 'DOCK', quantity: 100, expectedAt: 1_800_000_000_000 },
      { sku: 'NUT', location: 'DOCK', quantity: 50 },
    ],
  };

  it('drafts a purchase order, answers the same one to a repeat, refuses the id with other contents', async () => {
    const created = await send('POST', '/v1/purchase-orders', po);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      id: 'PO-1',
      status: 'draft',
      lines: [
        { line: 1, sku: 'BOLT', ordered: 100, received: 0, outstanding: 100, expectedAt: 1_800_000_000_000 },
        { line: 2, sku: 'NUT', ordered: 50, received: 0, outstanding: 50, expectedAt: null },
      ],
    });
    expect((await send('POST', '/v1/purchase-orders', po)).json().status).toBe('draft');
    const other = await send('POST', '/v1/purchase-orders', { ...po, supplier: 'other' });
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('takes no receipt before the order is confirmed', async () => {
    const early = await send('POST', '/v1/purchase-orders/PO-1/receipts', {
      id: 'R0',
      lines: [{ line: 1, quantity: 1 }],
    });
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ code: 'PURCHASE_ORDER_STATE_CONFLICT', orderStatus: 'draft' });
    expect(await onHand('BOLT')).toBe(0);
  });

  it('receives in part, then in full and beyond: each line into the inventory once, the PO line its reference', async () => {
    expect((await send('POST', '/v1/purchase-orders/PO-1/confirm')).json().status).toBe('confirmed');
    const first = { id: 'R1', lines: [{ line: 1, quantity: 60 }] };
    const part = await send('POST', '/v1/purchase-orders/PO-1/receipts', first);
    expect(part.statusCode).toBe(201);
    expect(part.json()).toMatchObject({
      status: 'receiving',
      lines: [{ received: 60, outstanding: 40 }, { received: 0 }],
    });
    // The same receipt again: nothing more comes in.
    expect((await send('POST', '/v1/purchase-orders/PO-1/receipts', first)).json().lines[0].received).toBe(60);
    expect(await onHand('BOLT')).toBe(60);
    const rest = {
      id: 'R2',
      lines: [
        { line: 1, quantity: 45 },
        { line: 2, quantity: 50 },
      ],
    };
    const full = await send('POST', '/v1/purchase-orders/PO-1/receipts', rest);
    expect(full.json()).toMatchObject({
      status: 'received',
      lines: [
        { received: 105, outstanding: 0 },
        { received: 50, outstanding: 0 },
      ],
    });
    expect(await onHand('BOLT')).toBe(105);
    expect(await onHand('NUT')).toBe(50);
    const history = await inventory.client.getItemHistory({ sku: 'BOLT' }, as(inventory.adminKey));
    const receipts = history.events.filter((event) => event.type === 'StockReceived');
    expect(receipts.map((event) => [event.reference, Number(event.quantity), event.commandId])).toEqual([
      ['po:PO-1#1', 60, 'po:PO-1:R1:1'],
      ['po:PO-1#1', 45, 'po:PO-1:R2:1'],
    ]);
  });

  it('closes a purchase order short: what is outstanding is no longer expected', async () => {
    await send('POST', '/v1/purchase-orders', {
      id: 'PO-2',
      supplier: 'acme',
      lines: [{ sku: 'NUT', location: 'DOCK', quantity: 30 }],
    });
    await send('POST', '/v1/purchase-orders/PO-2/confirm');
    await send('POST', '/v1/purchase-orders/PO-2/receipts', { id: 'R1', lines: [{ line: 1, quantity: 10 }] });
    const closed = await send('POST', '/v1/purchase-orders/PO-2/close');
    expect(closed.json()).toMatchObject({ status: 'closed', lines: [{ ordered: 30, received: 10, outstanding: 0 }] });
    const late = await send('POST', '/v1/purchase-orders/PO-2/receipts', {
      id: 'R2',
      lines: [{ line: 1, quantity: 5 }],
    });
    expect(late.statusCode).toBe(409);
    expect(await onHand('NUT')).toBe(60);
  });

  it("records the inventory's refusal of a receipt line (an item it does not know) on the line", async () => {
    await send('POST', '/v1/purchase-orders', {
      id: 'PO-3',
      supplier: 'acme',
      lines: [{ sku: 'UNKNOWN', location: 'DOCK', quantity: 5 }],
    });
    await send('POST', '/v1/purchase-orders/PO-3/confirm');
    const refused = await send('POST', '/v1/purchase-orders/PO-3/receipts', {
      id: 'R1',
      lines: [{ line: 1, quantity: 5 }],
    });
    expect(refused.json()).toMatchObject({
      reason: 'UNKNOWN_ITEM',
      lines: [{ received: 0, refused: 5, outstanding: 5 }],
    });
  });

  it('makes a receipt owed while no inventory answered once it starts again with one', async () => {
    await send('POST', '/v1/purchase-orders', {
      id: 'PO-4',
      supplier: 'acme',
      lines: [{ sku: 'BOLT', location: 'DOCK', quantity: 7 }],
    });
    await send('POST', '/v1/purchase-orders/PO-4/confirm');
    await service.close();
    service = await open({ SKULD_INVENTORY_GRPC_URLS: 'http://127.0.0.1:9' });
    const owed = await send('POST', '/v1/purchase-orders/PO-4/receipts', {
      id: 'R1',
      lines: [{ line: 1, quantity: 7 }],
    });
    expect(owed.json()).toMatchObject({ status: 'confirmed', lines: [{ received: 0 }] });
    await service.close();
    service = await open();
    const deadline = Date.now() + 15_000;
    while ((await send('GET', '/v1/purchase-orders/PO-4')).json().status !== 'received') {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await onHand('BOLT')).toBe(112);
  });

  it('lists purchase orders by status and refuses bad input with a problem', async () => {
    const received = (await send('GET', '/v1/purchase-orders?status=received')).json();
    expect(received.purchaseOrders.map((order: { id: string }) => order.id)).toEqual(['PO-1', 'PO-4']);
    for (const bad of [
      { id: 'PO-x', supplier: 'x', lines: [] },
      { id: 'PO-x', supplier: 'x', lines: [{ sku: 'A', location: 'B', quantity: 0 }] },
      { id: 'a-purchase-order-id-far-too-long', supplier: 'x', lines: [{ sku: 'A', location: 'B', quantity: 1 }] },
    ]) {
      const answer = await send('POST', '/v1/purchase-orders', bad);
      expect(answer.statusCode, JSON.stringify(bad)).toBe(400);
      expect(answer.headers['content-type']).toContain('application/problem+json');
    }
    expect((await send('GET', '/v1/purchase-orders/PO-x')).statusCode).toBe(404);
    const wrongLine = await send('POST', '/v1/purchase-orders/PO-1/receipts', {
      id: 'R9',
      lines: [{ line: 9, quantity: 1 }],
    });
    expect(wrongLine.json().code).toBe('INVALID_LINES');
  });
});
