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

  const dock = async (sku: string) => {
    const answer = await inventory.client.getItemStock({ sku }, as(inventory.adminKey));
    const level = answer.levels.find((candidate) => candidate.location === 'DOCK');
    return { onHand: Number(level?.onHand ?? 0), incoming: Number(level?.incoming ?? 0) };
  };
  const onHand = async (sku: string) => (await dock(sku)).onHand;
  const incoming = async (sku: string) => (await dock(sku)).incoming;

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
    expect(await dock('BOLT')).toEqual({ onHand: 0, incoming: 0 });
  });

  it('receives in part, then in full and beyond: each line into the inventory once, the PO line its reference', async () => {
    const confirmed = (await send('POST', '/v1/purchase-orders/PO-1/confirm')).json();
    expect(confirmed).toMatchObject({ status: 'confirmed', lines: [{ incoming: 100 }, { incoming: 50 }] });
    // The inventory knows what is on its way.
    expect(await dock('BOLT')).toEqual({ onHand: 0, incoming: 100 });
    expect(await dock('NUT')).toEqual({ onHand: 0, incoming: 50 });
    const first = { id: 'R1', lines: [{ line: 1, quantity: 60 }] };
    const part = await send('POST', '/v1/purchase-orders/PO-1/receipts', first);
    expect(part.statusCode).toBe(201);
    expect(part.json()).toMatchObject({
      status: 'receiving',
      lines: [
        { received: 60, outstanding: 40, incoming: 40 },
        { received: 0, incoming: 50 },
      ],
    });
    // The same receipt again: nothing more comes in.
    expect((await send('POST', '/v1/purchase-orders/PO-1/receipts', first)).json().lines[0].received).toBe(60);
    expect(await dock('BOLT')).toEqual({ onHand: 60, incoming: 40 });
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
        { received: 105, outstanding: 0, incoming: 0 },
        { received: 50, outstanding: 0, incoming: 0 },
      ],
    });
    // The over-delivery is on hand; only what was expected was settled.
    expect(await dock('BOLT')).toEqual({ onHand: 105, incoming: 0 });
    expect(await dock('NUT')).toEqual({ onHand: 50, incoming: 0 });
    const history = await inventory.client.getItemHistory({ sku: 'BOLT' }, as(inventory.adminKey));
    const receipts = history.events.filter((event) => event.type === 'StockReceived');
    const facts = (event: (typeof receipts)[number]) => [
      event.reference,
      Number(event.quantity),
      Number(event.incomingDelta),
      event.commandId,
    ];
    expect(receipts.map(facts)).toEqual([
      ['po:PO-1#1', 60, -60, 'po:PO-1:R1:1'],
      ['po:PO-1#1', 45, -40, 'po:PO-1:R2:1'],
    ]);
    const expected = history.events.filter((event) => event.type === 'StockExpected');
    expect(expected.map(facts)).toEqual([['po:PO-1#1', 100, 100, 'po:PO-1:expect:1']]);
  });

  it('closes a purchase order short: what is outstanding is no longer expected', async () => {
    await send('POST', '/v1/purchase-orders', {
      id: 'PO-2',
      supplier: 'acme',
      lines: [{ sku: 'NUT', location: 'DOCK', quantity: 30 }],
    });
    await send('POST', '/v1/purchase-orders/PO-2/confirm');
    expect(await dock('NUT')).toEqual({ onHand: 50, incoming: 30 });
    await send('POST', '/v1/purchase-orders/PO-2/receipts', { id: 'R1', lines: [{ line: 1, quantity: 10 }] });
    expect(await dock('NUT')).toEqual({ onHand: 60, incoming: 20 });
    const closed = await send('POST', '/v1/purchase-orders/PO-2/close');
    expect(closed.json()).toMatchObject({
      status: 'closed',
      lines: [{ ordered: 30, received: 10, outstanding: 0, incoming: 0 }],
    });
    // What will not come is no longer incoming.
    expect(await dock('NUT')).toEqual({ onHand: 60, incoming: 0 });
    const history = await inventory.client.getItemHistory({ sku: 'NUT' }, as(inventory.adminKey));
    const withdrawn = history.events.filter((event) => event.commandId === 'po:PO-2:withdraw:1');
    expect(withdrawn.map((event) => [event.type, Number(event.incomingDelta), event.reason])).toEqual([
      ['StockExpected', -20, 'purchase order closed short'],
    ]);
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
    // The expectation was refused too: nothing of the line is incoming.
    expect(refused.json()).toMatchObject({
      reason: 'UNKNOWN_ITEM',
      lines: [{ received: 0, refused: 5, outstanding: 5, incoming: 0 }],
    });
  });

  it('makes a receipt owed while no inventory answered once it starts again with one', async () => {
    await send('POST', '/v1/purchase-orders', {
      id: 'PO-4',
      supplier: 'acme',
      lines: [{ sku: 'BOLT', location: 'DOCK', quantity: 7 }],
    });
    await send('POST', '/v1/purchase-orders/PO-4/confirm');
    expect(await incoming('BOLT')).toBe(7);
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
    expect(await dock('BOLT')).toEqual({ onHand: 112, incoming: 0 });
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
