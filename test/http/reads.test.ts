import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from '../../src/cache/cache-metrics.js';
import { testDialects } from '../support/dialects.js';
import { type Api, expectProblem, get, line, post, startApi, stockedItem, unique } from './harness.js';

describe.each(testDialects())('HTTP reads on %s', (dialect) => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi(dialect);
  });
  afterAll(async () => api?.close());

  it('answers the levels of an item across locations with totals', async () => {
    const sku = await stockedItem(api.app, { WH1: 10, WH2: 5 });
    await post(api.app, '/v1/reservations', { id: unique('order'), lines: [line(sku, 'WH2', 3)] });
    const response = await get(api.app, `/v1/items/${sku}/stock`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      sku,
      levels: [
        { sku, location: 'WH1', onHand: 10, reserved: 0, available: 10, incoming: 0, projected: 10, version: 1 },
        { sku, location: 'WH2', onHand: 5, reserved: 3, available: 2, incoming: 0, projected: 2, version: 2 },
      ],
      totals: { onHand: 15, reserved: 3, available: 12, incoming: 0, projected: 12 },
    });
  });

  it('answers the level of an item at one location, from the cached entry of the item, as fresh as asked', async () => {
    const sku = await stockedItem(api.app, { WH1: 10, WH2: 5 });
    const at = (location: string, query = '') => get(api.app, `/v1/items/${sku}/stock/${location}${query}`);
    expect((await at('WH2')).json()).toEqual({
      sku,
      location: 'WH2',
      onHand: 5,
      reserved: 0,
      available: 5,
      incoming: 0,
      projected: 5,
      version: 1,
    });
    const hits = () => metricValue(api.runtime.metrics, 'skuld_cache_hits_total');
    const before = await hits();
    expect((await at('WH1')).json()).toMatchObject({ onHand: 10, available: 10 });
    expect(await hits(), 'the second location is served from the same entry').toBeGreaterThan(before);
    const held = await post(api.app, '/v1/reservations', { id: unique('order'), lines: [line(sku, 'WH2', 3)] });
    const { position } = held.json();
    expect((await at('WH2', `?minPosition=${position}`)).json()).toMatchObject({
      reserved: 3,
      available: 2,
      incoming: 0,
      projected: 2,
      version: 2,
    });
    // Where the item never had stock: a level of zeros; an unknown item: 404.
    expect((await at('WH9')).json()).toEqual({
      sku,
      location: 'WH9',
      onHand: 0,
      reserved: 0,
      available: 0,
      incoming: 0,
      projected: 0,
      version: 0,
    });
    expectProblem(await get(api.app, `/v1/items/${unique('NOPE')}/stock/WH1`), 404, 'UNKNOWN_ITEM');
    expectProblem(await get(api.app, `/v1/items/${sku}/stock/not%20a%20code`), 400, 'INVALID_CODE');
  });

  it('answers an empty stock for a registered item without levels, 404 for an unknown one', async () => {
    const sku = await stockedItem(api.app, {});
    expect((await get(api.app, `/v1/items/${sku}/stock`)).json()).toEqual({
      sku,
      levels: [],
      totals: { onHand: 0, reserved: 0, available: 0, incoming: 0, projected: 0 },
    });
    expectProblem(await get(api.app, `/v1/items/${unique('NOPE')}/stock`), 404, 'UNKNOWN_ITEM');
    expectProblem(await get(api.app, `/v1/items/${unique('NOPE')}`), 404, 'UNKNOWN_ITEM');
    expectProblem(await get(api.app, `/v1/items/${unique('NOPE')}/history`), 404, 'UNKNOWN_ITEM');
  });

  it('pages the levels of a location by SKU', async () => {
    const location = unique('BIN');
    const skus = [];
    for (const quantity of [1, 2, 3]) skus.push(await stockedItem(api.app, { [location]: quantity }));
    // Pages go by SKU in code-unit order ('SKU-102' before 'SKU-99'), whatever order they were made in.
    const quantities = new Map(skus.map((sku, index) => [sku, index + 1]));
    skus.sort();
    const first = (await get(api.app, `/v1/locations/${location}/stock?limit=2`)).json();
    expect(first.location).toBe(location);
    expect(first.levels.map((level: { sku: string; available: number }) => [level.sku, level.available])).toEqual([
      [skus[0], quantities.get(skus[0] as string)],
      [skus[1], quantities.get(skus[1] as string)],
    ]);
    expect(first.next).toBe(skus[1]);
    const second = (await get(api.app, `/v1/locations/${location}/stock?limit=2&after=${first.next}`)).json();
    const last = quantities.get(skus[2] as string);
    expect(second).toEqual({
      location,
      levels: [
        {
          sku: skus[2],
          location,
          onHand: last,
          reserved: 0,
          available: last,
          incoming: 0,
          projected: last,
          version: 1,
        },
      ],
      next: null,
    });
    expect((await get(api.app, `/v1/locations/${unique('EMPTY')}/stock`)).json().levels).toEqual([]);
  });

  it('tails the ledger by position: next is the last position, or after when the page is empty', async () => {
    const head = await api.runtime.store.headPosition();
    const sku = await stockedItem(api.app, { WH1: 4, WH2: 6 });
    const first = (await get(api.app, `/v1/ledger?after=${head}&limit=2`)).json();
    expect(first.events).toHaveLength(2);
    // The item's registration is the first event of its own stream.
    expect(first.events[0]).toMatchObject({
      id: `${sku}@#1`,
      position: head + 1,
      type: 'ItemRegistered',
      sku,
      location: '',
      streamVersion: 1,
      onHandDelta: 0,
      actor: 'key:test-admin',
      attributes: { name: '', allowBackorder: false, lowStockThreshold: null },
    });
    expect(first.events[1]).toMatchObject({
      id: `${sku}@WH1#1`,
      position: head + 2,
      type: 'StockReceived',
      sku,
      location: 'WH1',
      streamVersion: 1,
      onHandDelta: 4,
      onHandAfter: 4,
      reservedDelta: 0,
      reservedAfter: 0,
      quantity: 4,
      reservationId: null,
      actor: 'key:test-admin',
      attributes: null,
    });
    expect(first.next).toBe(head + 2);
    const rest = (await get(api.app, `/v1/ledger?after=${first.next}`)).json();
    expect(rest.events.map((event: { position: number }) => event.position)).toEqual([head + 3]);
    expect(rest.next).toBe(head + 3);
    expect((await get(api.app, `/v1/ledger?after=${head + 3}`)).json()).toEqual({ events: [], next: head + 3 });
  });

  it("pages an item's history by position", async () => {
    const sku = await stockedItem(api.app, { WH1: 1, WH2: 2, WH3: 3 });
    await stockedItem(api.app, { WH1: 9 });
    const first = (await get(api.app, `/v1/items/${sku}/history?limit=3`)).json();
    expect(first.events.map((event: { location: string }) => event.location)).toEqual(['', 'WH1', 'WH2']);
    const rest = (await get(api.app, `/v1/items/${sku}/history?after=${first.next}`)).json();
    expect(rest.events.map((event: { location: string; sku: string }) => [event.sku, event.location])).toEqual([
      [sku, 'WH3'],
    ]);
    expect((await get(api.app, `/v1/items/${sku}/history?after=${rest.next}`)).json()).toEqual({
      events: [],
      next: rest.next,
    });
  });
});
