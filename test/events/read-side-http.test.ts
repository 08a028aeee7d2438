import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Crossing } from '../../src/events/read-side/projection.js';
import { type Api, expectProblem, get, line, post, startApi, unique } from '../http/harness.js';
import { t0 } from '../support/clock.js';
import { createTestReadDatabase, type TestReadDatabase, testReadDialects } from '../support/read-dbs.js';

// The read side through the API, on a real runtime with its projector thread: each read model
// answers what the writes made, past stock by position and by time on both clocks (a receipt
// back-dated with occurredAt shows in the past answer of its own time), reservations found by
// reference, status and SKU, low-stock crossings to the route and to the process's listeners,
// and a read that asks for a position the read side has not reached is refused, bounded.

const dayMs = 86_400_000;

describe.each(testReadDialects())('the read side over HTTP (%s store, %s read database)', (dialect) => {
  let api: Api;
  let readDb: TestReadDatabase;
  const heard: Crossing[] = [];

  beforeAll(async () => {
    readDb = createTestReadDatabase(dialect);
    api = await startApi(dialect, {
      SKULD_PROJECTOR: 'on',
      SKULD_READ_DATABASE_URL: readDb.url,
      SKULD_READ_SNAPSHOT_INTERVAL_EVENTS: '2',
    });
    api.runtime.readSide.crossings.on('crossings', (crossings) => heard.push(...crossings));
  });

  afterAll(async () => {
    await api.close();
    await readDb.drop();
  });

  /** Sends a write and returns its position. */
  async function write(url: string, body: object): Promise<number> {
    const response = await post(api.app, url, body);
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json().position as number;
  }

  it('answers stock at a past position and time, on both clocks, with a back-dated receipt', async () => {
    const sku = unique('SKU');
    await write('/v1/items', { id: unique('reg'), sku });
    const first = await write('/v1/receipts', { id: unique('rcv'), sku, location: 'L1', quantity: 10 });
    api.clock.advance(1000);
    const atSecond = api.clock.read();
    const second = await write('/v1/receipts', { id: unique('rcv'), sku, location: 'L2', quantity: 4 });
    api.clock.advance(1000);
    // Entered now, happened a day ago.
    const late = await write('/v1/receipts', {
      id: unique('rcv'),
      sku,
      location: 'L1',
      quantity: 7,
      occurredAt: t0 - dayMs,
    });
    const stock = (query: string) => get(api.app, `/v1/items/${sku}/stock?${query}&minPosition=${late}`);

    const byPosition = (await stock(`position=${second}`)).json();
    expect(byPosition).toMatchObject({ sku, position: second, totals: { onHand: 14, reserved: 0, available: 14 } });
    expect((await stock(`position=${first}`)).json().levels).toEqual([
      { location: 'L1', onHand: 10, reserved: 0, available: 10 },
    ]);

    const yesterday = (await stock(`at=${t0 - dayMs + 1}`)).json();
    expect(yesterday).toMatchObject({ clock: 'occurred', position: expect.any(Number), totals: { onHand: 7 } });
    expect(yesterday.position).toBeGreaterThanOrEqual(late);
    const recordedYesterday = (await stock(`at=${t0 - dayMs + 1}&clock=recorded`)).json();
    expect(recordedYesterday.levels).toEqual([]);
    expect((await stock(`at=${atSecond}&clock=recorded`)).json().totals.onHand).toBe(14);
    expect((await stock(`at=${atSecond}`)).json().totals.onHand).toBe(21);
    expect((await get(api.app, `/v1/items/${sku}/stock`)).json().totals.onHand).toBe(21);

    expectProblem(await get(api.app, `/v1/items/${sku}/stock?at=1&position=1`), 400, 'VALIDATION_FAILED');
    expectProblem(await get(api.app, `/v1/items/${sku}/stock?clock=recorded`), 400, 'VALIDATION_FAILED');
    expectProblem(await get(api.app, '/v1/items/NO-SUCH-SKU/stock?position=1'), 404, 'UNKNOWN_ITEM');
  });

  it('finds reservations by reference, status, SKU and expiry, page by page', async () => {
    const sku = unique('SKU');
    await write('/v1/items', { id: unique('reg'), sku });
    await write('/v1/receipts', { id: unique('rcv'), sku, location: 'L1', quantity: 100 });
    const order = unique('order');
    const ids = [unique('res'), unique('res'), unique('res')];
    for (const id of ids) {
      await write('/v1/reservations', { id, lines: [line(sku, 'L1', 2)], reference: order, ttlMs: 60_000 });
    }
    const last = await write(`/v1/reservations/${ids[0]}/commit`, { id: unique('commit') });
    const list = (query: string) => get(api.app, `/v1/reservations?${query}&minPosition=${last}`);

    const byReference = (await list(`reference=${order}`)).json();
    expect(byReference.reservations.map((r: { id: string }) => r.id)).toEqual(ids);
    expect(byReference.reservations[0]).toMatchObject({
      status: 'committed',
      reference: order,
      lines: [{ sku, location: 'L1', quantity: 2, committed: 2 }],
      expiresAt: expect.any(Number),
    });
    const pending = (await list(`reference=${order}&status=pending`)).json().reservations;
    expect(pending.map((r: { id: string }) => r.id)).toEqual(ids.slice(1));
    expect((await list(`sku=${sku}&status=committed`)).json().reservations).toHaveLength(1);
    const due = (await list(`sku=${sku}&expiresBefore=${api.clock.read() + 120_000}`)).json().reservations;
    expect(due).toHaveLength(3);
    expect((await list(`sku=${sku}&expiresBefore=${api.clock.read()}`)).json().reservations).toHaveLength(0);

    const page1 = (await list(`reference=${order}&limit=2`)).json();
    expect(page1.reservations).toHaveLength(2);
    const page2 = (await list(`reference=${order}&limit=2&after=${page1.next}`)).json();
    expect(page2).toEqual({ reservations: [expect.objectContaining({ id: ids[2] })], next: null });
  });

  it('lists movements, the stock summary and the daily report', async () => {
    const sku = unique('SKU');
    await write('/v1/items', { id: unique('reg'), sku });
    await write('/v1/receipts', { id: unique('rcv'), sku, location: 'L1', quantity: 9 });
    await write('/v1/receipts', { id: unique('rcv'), sku, location: 'L2', quantity: 1, occurredAt: t0 - dayMs });
    const last = await write('/v1/transfers', { id: unique('trf'), sku, from: 'L1', to: 'L2', quantity: 3 });
    const fresh = `minPosition=${last}`;

    const all = (await get(api.app, `/v1/items/${sku}/movements?${fresh}`)).json();
    expect(all.events.map((e: { type: string }) => e.type)).toEqual([
      'StockReceived',
      'StockReceived',
      'StockTransferred',
      'StockTransferred',
    ]);
    expect(all.events[0].id).toBe(`${sku}@L1#1`);
    const atL2 = (await get(api.app, `/v1/items/${sku}/movements?location=L2&type=StockTransferred&${fresh}`)).json();
    expect(atL2.events).toEqual([expect.objectContaining({ location: 'L2', onHandDelta: 3, onHandAfter: 4 })]);
    const old = (await get(api.app, `/v1/items/${sku}/movements?to=${t0 - dayMs + 1}&${fresh}`)).json();
    expect(old.events).toEqual([expect.objectContaining({ location: 'L2', quantity: 1 })]);

    const summary = (await get(api.app, `/v1/stock/summary?sku=${sku}&${fresh}`)).json();
    expect(summary.items).toEqual([{ sku, onHand: 10, reserved: 0, available: 10, locations: 2, position: last }]);

    const yesterday = new Date(t0 - dayMs).toISOString().slice(0, 10);
    const report = (await get(api.app, `/v1/reports/daily-movements?sku=${sku}&${fresh}`)).json();
    expect(report.rows).toEqual([
      expect.objectContaining({ date: yesterday, location: 'L2', events: 1, onHandIn: 1, onHandOut: 0 }),
      expect.objectContaining({ location: 'L1', events: 2, onHandIn: 9, onHandOut: 3 }),
      expect.objectContaining({ location: 'L2', events: 1, onHandIn: 3, onHandOut: 0 }),
    ]);
  });

  it('records low-stock crossings, lists the items below, and tells the listeners', async () => {
    const sku = unique('SKU');
    await write('/v1/items', { id: unique('reg'), sku, lowStockThreshold: 5 });
    await write('/v1/receipts', { id: unique('rcv'), sku, location: 'L1', quantity: 8 });
    const id = unique('res');
    const below = await write('/v1/reservations', { id, lines: [line(sku, 'L1', 4)] });
    const fresh = `minPosition=${below}`;

    const low = (await get(api.app, `/v1/low-stock?${fresh}`)).json();
    expect(low.items).toContainEqual(
      expect.objectContaining({ sku, threshold: 5, onHand: 8, reserved: 4, available: 4, position: below }),
    );
    const crossings = (await get(api.app, `/v1/low-stock/crossings?sku=${sku}&${fresh}`)).json().crossings;
    // Registered with nothing on hand: below at once; the receipt lifts it; the reservation drops it.
    expect(crossings.map((c: Crossing) => c.direction)).toEqual(['below', 'above', 'below']);
    expect(crossings[2]).toMatchObject({ position: below, available: 4, threshold: 5 });
    await expect
      .poll(() => heard.filter((c) => c.sku === sku).map((c) => c.direction))
      .toEqual(['below', 'above', 'below']);

    const above = await write(`/v1/reservations/${id}/release`, { id: unique('rel') });
    const after = (await get(api.app, `/v1/low-stock?minPosition=${above}`)).json();
    expect(after.items.map((item: { sku: string }) => item.sku)).not.toContain(sku);
  });

  it("reports each model's position and lag", async () => {
    await api.runtime.readSide.caughtUp(30_000);
    const status = (await get(api.app, '/v1/projections')).json();
    const head = await api.runtime.store.headPosition();
    expect(status.head).toBe(head);
    expect(status.projecting).toBe(true);
    expect(status.models).toHaveLength(5);
    for (const model of status.models)
      expect(model).toMatchObject({ position: head, lagEvents: 0, lagMs: 0, skipped: 0 });
  });
});

describe('a read the read side has not reached', () => {
  let api: Api;

  beforeAll(async () => {
    api = await startApi('sqlite', { SKULD_PROJECTOR: 'off', SKULD_READ_WAIT_MS_MAX: '50' });
  });

  afterAll(() => api.close());

  it('is refused after the bounded wait with READ_MODEL_BEHIND and Retry-After', async () => {
    const sku = unique('SKU');
    const response = await post(api.app, '/v1/items', { id: unique('reg'), sku });
    const position = response.json().position as number;
    const started = Date.now();
    const refused = await get(api.app, `/v1/stock/summary?minPosition=${position}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
    expectProblem(refused, 503, 'READ_MODEL_BEHIND');
    expect(refused.headers['retry-after']).toBe('1');
    expectProblem(await get(api.app, `/v1/items/${sku}/stock?position=${position}`), 503, 'READ_MODEL_BEHIND');
    const status = (await get(api.app, '/v1/projections')).json();
    expect(status).toMatchObject({ head: position, projecting: false });
    expect(status.models[0]).toMatchObject({ position: 0, lagEvents: position });
  });
});
