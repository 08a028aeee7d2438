import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, get, keyFor, line, post, startApi, stockedItem, unique } from '../http/harness.js';
import { launchChromium, openDashboard, type WatchedPage } from './browser.js';

// The dashboard in a real headless Chromium against a real server (npm run build has bundled
// it): every page loads without an error, the overview's orders/s chart moves under load, an
// item's levels are the API's, a reservation made through the API shows up, and the page asks
// nothing of any host but the server.

let api: Api;
let browser: Browser;
let base: string;
let watched: WatchedPage;
let sku: string;

beforeAll(async () => {
  browser = await launchChromium();
  api = await startApi('sqlite', { SKULD_PROJECTOR: 'on' });
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  api.runtime.relays.start();
  api.runtime.ops.start({ httpUrl: base, grpcUrl: null });
  sku = await stockedItem(api.app, { WH1: 100_000, WH2: 250 });
  // The least-privileged role that reads everything the dashboard shows.
  watched = await openDashboard(browser, base, await keyFor(api, ['auditor'], 'dashboard'));
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

/** A few hundred orders over a few seconds: reserve, then commit (pay). */
async function load(orders: number, durationMs: number): Promise<void> {
  const started = Date.now();
  for (let i = 0; i < orders; i += 1) {
    const id = unique('ord');
    expect((await post(api.app, '/v1/reservations', { id, lines: [line(sku, 'WH1', 1)] })).statusCode).toBe(201);
    expect((await post(api.app, `/v1/reservations/${id}/commit`, { id: `${id}:pay` })).statusCode).toBe(200);
    const due = started + ((i + 1) * durationMs) / orders;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
  }
}

describe('the dashboard in Chromium', () => {
  it('loads every page without a console error', async () => {
    const { page, errors } = watched;
    for (const [name, ready] of [
      ['overview', '[data-chart=latency]'],
      ['stock', 'input[name=sku]'],
      ['reservations', 'table[data-table=reservations]'],
      ['low-stock', 'main .card'],
      ['ledger', 'table[data-table=events]'],
    ] as const) {
      await page.goto(`${base}/dashboard#/${name}`);
      await page.waitForSelector(ready);
      await page.waitForTimeout(500);
      expect(errors, name).toEqual([]);
    }
    await page.locator('[data-figure=stream]', { hasText: /^live$/ }).waitFor();
  });

  it("draws orders/s moving on the overview's chart while orders come in", async () => {
    const { page } = watched;
    await page.goto(`${base}/dashboard#/overview`);
    await page.waitForSelector('[data-chart=throughput]');
    // The orders/s series uPlot draws (the test's own tsconfig has no DOM: the code runs in the page).
    const ordersSeries = async () =>
      (await page.evaluate(
        "(document.querySelector('[data-chart=throughput]').uplot?.data[1] ?? []).map((v) => v ?? 0)",
      )) as number[];
    await load(300, 5_000);
    await page.waitForTimeout(2_500);
    const series = await ordersSeries();
    expect(series.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...series)).toBeGreaterThan(5);
    // It moves: not one flat value.
    expect(new Set(series.map((value) => Math.round(value))).size).toBeGreaterThan(1);
    const pixels = await page.locator('[data-chart=throughput] canvas').screenshot();
    expect(pixels.length).toBeGreaterThan(1_000);
    expect(watched.errors).toEqual([]);
  });

  it("shows an item's levels as the API gives them, incoming and projected too", async () => {
    const { page } = watched;
    const expected = await post(api.app, '/v1/incoming', { id: unique('exp'), sku, location: 'WH2', delta: 6 });
    expect(expected.statusCode).toBe(201);
    await page.goto(`${base}/dashboard#/stock`);
    await page.fill('input[name=sku]', sku);
    await page.click('form.filters button[type=submit]');
    await page.waitForSelector('table[data-table=levels] tr[data-location=WH2]');
    const shown = await page.$$eval('table[data-table=levels] tbody tr', (rows) =>
      rows.map((row) => ({
        location: row.getAttribute('data-location'),
        onHand: Number(row.querySelector('[data-field=onHand]')?.textContent?.replaceAll(',', '')),
        reserved: Number(row.querySelector('[data-field=reserved]')?.textContent?.replaceAll(',', '')),
        available: Number(row.querySelector('[data-field=available]')?.textContent?.replaceAll(',', '')),
        incoming: Number(row.querySelector('[data-field=incoming]')?.textContent?.replaceAll(',', '')),
        projected: Number(row.querySelector('[data-field=projected]')?.textContent?.replaceAll(',', '')),
      })),
    );
    const answer = (await get(api.app, `/v1/items/${sku}/stock`)).json();
    type Shown = {
      location: string;
      onHand: number;
      reserved: number;
      available: number;
      incoming: number;
      projected: number;
    };
    expect(shown).toEqual(
      answer.levels.map((level: Shown) => ({
        location: level.location,
        onHand: level.onHand,
        reserved: level.reserved,
        available: level.available,
        incoming: level.incoming,
        projected: level.projected,
      })),
    );
    expect(shown.find((level) => level.location === 'WH2')?.incoming).toBe(6);
    expect(watched.errors).toEqual([]);
  });

  it("shows an item's levels at a past position as the API gives them", async () => {
    const { page } = watched;
    const past = unique('PAST');
    expect((await post(api.app, '/v1/items', { id: unique('reg'), sku: past })).statusCode).toBe(201);
    const first = await post(api.app, '/v1/receipts', { id: unique('rcv'), sku: past, location: 'WH1', quantity: 7 });
    await post(api.app, '/v1/receipts', { id: unique('rcv'), sku: past, location: 'WH1', quantity: 5 });
    const position = first.json().position;
    const answer = (await get(api.app, `/v1/items/${past}/stock?position=${position}&minPosition=${position}`)).json();
    expect(answer.levels.map((level: { onHand: number }) => level.onHand)).toEqual([7]);
    await page.goto(`${base}/dashboard#/stock`);
    await page.fill('input[name=sku]', past);
    await page.fill('input[name=position]', String(position));
    await page.click('form.filters button[type=submit]');
    await page.waitForSelector(`text=Levels of ${past} (after position ${position})`);
    await page.waitForSelector('table[data-table=levels] tr[data-location=WH1]');
    expect(await page.textContent('table[data-table=levels] tr[data-location=WH1] [data-field=onHand]')).toBe('7');
    expect(watched.errors).toEqual([]);
  });

  it('tails the ledger live on the ledger page, filtered by SKU', async () => {
    const { page } = watched;
    const tailed = await stockedItem(api.app, { WH3: 10 });
    await page.goto(`${base}/dashboard#/ledger`);
    await page.locator('[data-figure=stream]', { hasText: /^live$/ }).waitFor();
    await page.fill('input[name=sku]', tailed);
    const id = unique('res');
    expect((await post(api.app, '/v1/reservations', { id, lines: [line(tailed, 'WH3', 2)] })).statusCode).toBe(201);
    const row = page.locator('table[data-table=events] tbody tr', { hasText: id });
    await row.waitFor();
    // Only the item's events are shown, the reservation's on top.
    const skus = await page.$$eval('table[data-table=events] tbody tr td:nth-child(3)', (cells) =>
      cells.map((cell) => cell.textContent),
    );
    expect(new Set(skus)).toEqual(new Set([tailed]));
    expect(await row.locator('td').nth(1).textContent()).toBe('StockReserved');
    expect(watched.errors).toEqual([]);
  });

  it('shows a reservation made through the API, with its lines and story', async () => {
    const { page } = watched;
    const id = unique('res');
    const reference = unique('order');
    const made = await post(api.app, '/v1/reservations', { id, reference, lines: [line(sku, 'WH2', 3)] });
    expect(made.statusCode).toBe(201);
    await page.goto(`${base}/dashboard#/reservations`);
    await page.fill('input[name=reference]', reference);
    await page.press('input[name=reference]', 'Tab');
    await page.waitForSelector(`tr[data-reservation="${id}"]`, { timeout: 15_000 });
    await page.click(`tr[data-reservation="${id}"]`);
    await page.waitForSelector('table[data-table=lines] tbody tr');
    const lines = await page.$$eval('table[data-table=lines] tbody tr td', (cells) => cells.map((c) => c.textContent));
    expect(lines).toEqual([sku, 'WH2', '3', '—']);
    expect(watched.errors).toEqual([]);
  });

  it('lists this instance, healthy, on the overview, and the ledger head', async () => {
    const { page } = watched;
    const head = await api.runtime.store.headPosition();
    await page.goto(`${base}/dashboard#/overview`);
    const row = page.locator('table[data-table=instances] tbody tr');
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    expect(await row.locator('td').nth(1).textContent()).toBe('healthy');
    expect(await row.locator('td').nth(3).textContent()).toBe(base);
    // The ledger's head, polled with the metrics: at least where the ledger stood before the page asked.
    await page.locator('[data-figure=head]', { hasText: /^\d/ }).waitFor();
    const shown = await page.locator('[data-figure=head]').textContent();
    expect(Number(shown?.replaceAll(',', ''))).toBeGreaterThanOrEqual(head);
  });

  it('lists an item below its threshold, with its levels per location', async () => {
    const { page } = watched;
    const low = unique('LOW');
    expect((await post(api.app, '/v1/items', { id: unique('reg'), sku: low, lowStockThreshold: 100 })).statusCode).toBe(
      201,
    );
    let position = 0;
    for (const [where, quantity] of [
      ['WH1', 30],
      ['WH2', 20],
    ] as const) {
      const receipt = await post(api.app, '/v1/receipts', { id: unique('rcv'), sku: low, location: where, quantity });
      position = receipt.json().position;
    }
    // The list is a read model: wait until it holds the receipts before the page asks.
    expect((await get(api.app, `/v1/low-stock?minPosition=${position}`)).statusCode).toBe(200);
    await page.goto(`${base}/dashboard#/low-stock`);
    await page.waitForSelector(`tr[data-low="${low}"]`);
    const levels = await page.$$eval(`tr[data-level-of="${low}"]`, (rows) =>
      rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent).filter((text) => text !== '')),
    );
    expect(levels).toEqual([
      ['WH1', '30', '0', '30'],
      ['WH2', '20', '0', '20'],
    ]);
    expect(watched.errors).toEqual([]);
  });

  it("fits a tablet's width on every page, and turns dark with the toggle", async () => {
    const tablet = await openDashboard(browser, base, await keyFor(api, ['auditor']), {
      viewport: { width: 768, height: 1024 },
    });
    for (const name of ['overview', 'stock', 'reservations', 'low-stock', 'ledger']) {
      await tablet.page.goto(`${base}/dashboard#/${name}`);
      await tablet.page.waitForSelector('main .card');
      await tablet.page.waitForTimeout(300);
      expect(await tablet.page.evaluate('document.documentElement.scrollWidth'), name).toBeLessThanOrEqual(768);
    }
    const background = () => tablet.page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(await background()).toBe('rgb(246, 247, 249)');
    // system (light here) -> light -> dark
    await tablet.page.click('button[name=theme]');
    await tablet.page.click('button[name=theme]');
    expect(await background()).toBe('rgb(20, 23, 29)');
    expect(tablet.errors).toEqual([]);
    await tablet.page.context().close();
  });

  it('asks nothing of any host but the server', () => {
    expect(watched.requests.length).toBeGreaterThan(10);
    const elsewhere = watched.requests.filter((url) => !url.startsWith(`${base}/`) && !url.startsWith('data:'));
    expect(elsewhere).toEqual([]);
  });
});
