import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/api/app.js';
import { createKey } from '../../src/auth/key-admin.js';
import { seed } from '../../src/cli/seed.js';
import { createRuntime } from '../../src/compose/runtime.js';
import { loadConfig } from '../../src/config.js';
import { launchChromium, openDashboard } from './browser.js';

// `npm run screenshots`: a server on a fresh SQLite file with the demo data, a storefront's load
// of orders through the HTTP API (most paid, some cancelled, some left pending), and each page of
// the dashboard photographed in Chromium into docs/dashboard-<page>.png (the overview in dark too).

const loadMs = 14_000;
const directory = mkdtempSync(join(tmpdir(), 'skuld-screenshots-'));
const config = loadConfig({
  SKULD_DATABASE_URL: `sqlite:${join(directory, 'skuld.db')}`,
  SKULD_READ_DATABASE_URL: `sqlite:${join(directory, 'read.db')}`,
  SKULD_LOG_LEVEL: 'silent',
  SKULD_PROJECTOR: 'on',
});
const runtime = await createRuntime(config);
await seed(runtime.engine);
const app = await buildApp({ runtime, logger: false });
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
runtime.sweeper.start();
runtime.relays.start();
runtime.ops.start({ httpUrl: base, grpcUrl: null });
const keyOf = async (name: string, role: 'admin' | 'auditor') =>
  (
    await createKey(runtime.store.keys, {
      name,
      roles: [role],
      createdBy: 'screenshots',
      now: Date.now(),
      expiresAt: null,
    })
  ).key;
const admin = { authorization: `Bearer ${await keyOf('storefront', 'admin')}`, 'content-type': 'application/json' };

async function call(method: string, path: string, body?: object): Promise<Response> {
  return fetch(`${base}${path}`, {
    method,
    headers: admin,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The levels with stock to sell. */
async function levels(): Promise<{ sku: string; location: string }[]> {
  const { items } = (await (await call('GET', '/v1/items?limit=1000')).json()) as { items: { sku: string }[] };
  const found: { sku: string; location: string }[] = [];
  for (const { sku } of items) {
    const stock = (await (await call('GET', `/v1/items/${sku}/stock`)).json()) as {
      levels: { location: string; available: number }[];
    };
    for (const level of stock.levels) if (level.available > 20) found.push({ sku, location: level.location });
  }
  return found;
}

/** Items that run low: their thresholds are above what they hold. */
async function lowItems(): Promise<void> {
  for (const [sku, name, threshold, stock] of [
    ['SKU-TAPE-48', 'Packing tape 48 mm', 120, { 'WH-EAST': 40, 'WH-WEST': 25 }],
    ['SKU-LABEL-A6', 'Shipping labels A6', 500, { 'WH-EAST': 180 }],
  ] as const) {
    await call('POST', '/v1/items', { id: `reg-${sku}`, sku, name, lowStockThreshold: threshold });
    for (const [location, quantity] of Object.entries(stock)) {
      await call('POST', '/v1/receipts', { id: `rcv-${sku}-${location}`, sku, location, quantity });
    }
  }
}

let orders = 0;

async function storefront(until: number): Promise<string[]> {
  const stocked = await levels();
  const made: string[] = [];
  while (Date.now() < until) {
    orders += 1;
    const order = orders;
    const { sku, location } = stocked[order % stocked.length] as { sku: string; location: string };
    const id = `shot-${order}`;
    const answer = await call('POST', '/v1/reservations', {
      id,
      reference: `order-${1000 + order}`,
      ttlMs: 600_000,
      lines: [{ sku, location, quantity: 1 + (order % 3) }],
    });
    if (answer.status !== 201) continue;
    made.push(id);
    if (order % 10 < 7) await call('POST', `/v1/reservations/${id}/commit`, { id: `${id}:pay` });
    else if (order % 10 === 7) await call('POST', `/v1/reservations/${id}/release`, { id: `${id}:cancel` });
    await new Promise((resolve) => setTimeout(resolve, 15 + 10 * Math.sin(order / 40)));
  }
  return made;
}

await lowItems();
const browser = await launchChromium();
try {
  const auditor = await keyOf('dashboard', 'auditor');
  const { page } = await openDashboard(browser, base, auditor, { viewport: { width: 1440, height: 1000 } });
  const made = await storefront(Date.now() + loadMs);
  const shot = (name: string) => page.screenshot({ path: `docs/dashboard-${name}.png`, fullPage: true });
  await page.waitForTimeout(500);
  await shot('overview');
  const items = (await (await call('GET', '/v1/items?limit=1')).json()) as { items: { sku: string }[] };
  await page.goto(`${base}/dashboard#/stock`);
  await page.fill('input[name=sku]', items.items[0]?.sku ?? '');
  await page.click('form.filters button[type=submit]');
  await page.waitForSelector('table[data-table=levels] tbody tr');
  await page.waitForTimeout(800);
  await shot('stock');
  await page.goto(`${base}/dashboard#/reservations`);
  const chosen = made.at(-3) ?? '';
  await page.waitForSelector(`tr[data-reservation="${chosen}"]`);
  await page.click(`tr[data-reservation="${chosen}"]`);
  await page.waitForSelector('table[data-table=lines] tbody tr');
  await page.waitForTimeout(800);
  await shot('reservations');
  await page.goto(`${base}/dashboard#/low-stock`);
  await page.waitForTimeout(1_500);
  await shot('low-stock');
  await page.goto(`${base}/dashboard#/ledger`);
  await page.waitForSelector('table[data-table=events] tbody tr');
  await page.waitForTimeout(800);
  await shot('ledger');
  const dark = await openDashboard(browser, base, auditor, {
    colorScheme: 'dark',
    viewport: { width: 1024, height: 768 },
  });
  await storefront(Date.now() + 6_000);
  await dark.page.screenshot({ path: 'docs/dashboard-overview-dark.png', fullPage: true });
  console.log('wrote docs/dashboard-{overview,stock,reservations,low-stock,ledger,overview-dark}.png');
} finally {
  await browser.close();
  await app.close();
  await runtime.close();
  rmSync(directory, { recursive: true, force: true });
}
