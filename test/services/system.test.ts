import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { instancesOf, sharedFlags } from '../../src/cli/system.js';
import { loadConfig } from '../../src/config.js';
import { eventually } from '../support/eventually.js';
import { captureOutput } from '../support/run-logs.js';
import { runSkuld, skuldArgs } from '../support/server-process.js';

// `skuld system` and `skuld simulate` as a user runs them: the system on embedded SQLite files
// (one inventory instance, the order and purchase services), a short simulated storefront against it whose
// report checks every order against its reservation and verifies the inventory, then Ctrl-C.

describe('skuld system and skuld simulate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skuld-system-'));
  const env = {
    SKULD_DATABASE_URL: `sqlite:${join(dir, 'skuld.db')}`,
    SKULD_ORDERS_DATABASE_URL: `sqlite:${join(dir, 'orders.db')}`,
    SKULD_PORT: '0',
    SKULD_GRPC_PORT: '0',
    SKULD_ORDERS_PORT: '0',
    SKULD_PURCHASES_PORT: '0',
    SKULD_PURCHASES_DATABASE_URL: `sqlite:${join(dir, 'purchases.db')}`,
    SKULD_LOG_LEVEL: 'warn',
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts everything, serves a simulated storefront that verifies, and stops on Ctrl-C', async () => {
    const system = spawn(process.execPath, [...skuldArgs, 'system'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    captureOutput(system, 'system');
    const exited = new Promise<number | null>((resolve) => system.once('exit', resolve));
    let output = '';
    system.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      await eventually('the system is up', () => output.includes('Ctrl-C stops everything.'), 90_000);
      const inventoryUrl = /inventory-1: (http:\/\/\S+)/.exec(output)?.[1] as string;
      const ordersUrl = /orders: +(http:\/\/\S+)\/v1\/orders/.exec(output)?.[1] as string;
      const purchasesUrl = /purchases: +(http:\/\/\S+)\/v1\/purchase-orders/.exec(output)?.[1] as string;
      expect(inventoryUrl).toBeDefined();
      expect(ordersUrl).toBeDefined();
      expect(purchasesUrl).toBeDefined();
      // The first start's admin key, on the terminal, once.
      expect(output).toMatch(/skuld_[0-9a-f]{16}_/);

      const simulated = await runSkuld(
        [
          'simulate',
          ...['--rate', '15', '--duration', '3', '--receipts-per-second', '3'],
          ...['--orders-url', ordersUrl, '--purchases-url', purchasesUrl, '--inventory-url', inventoryUrl],
        ],
        env,
      );
      expect(simulated.code, simulated.stdout + simulated.stderr).toBe(0);
      const placed = Number(/orders placed +(\d+)/.exec(simulated.stdout)?.[1]);
      expect(placed).toBeGreaterThan(20);
      expect(simulated.stdout).toContain(`orders checked against their reservations: ${placed}, 0 mismatched`);
      expect(simulated.stdout).toContain('inventory verify: OK');
      expect(Number(/purchase orders (\d+) received/.exec(simulated.stdout)?.[1])).toBeGreaterThan(3);
      expect(simulated.stdout).toMatch(/purchase order lines checked against the ledger: [1-9]\d*, 0 mismatched/);
      await expectIncomingAsPurchaseOrders(purchasesUrl, inventoryUrl, /skuld_[0-9a-f]{16}_\S+/.exec(output)?.[0]);
      expect(simulated.stderr).toMatch(/^1 s: \d+ placed/m);
    } finally {
      system.kill('SIGINT');
      await exited;
    }
    expect(system.exitCode, output).toBe(0);
    // The keys made for the run (the order service's, the simulation's) were revoked when they ended.
    const keys = await runSkuld(['keys', 'list'], env);
    const lines = keys.stdout.split('\n').filter((line) => /system-orders-|system-purchases-|simulate-/.test(line));
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(/revoked/);
  });

  /**
   * Every level's incoming is what the purchase orders still expect at it (the database is the
   * run's own, so every order of the purchase service is counted), and every order has settled.
   * Some orders are left awaiting delivery, so some levels expect units.
   */
  async function expectIncomingAsPurchaseOrders(purchasesUrl: string, inventoryUrl: string, key: string | undefined) {
    expect(key, 'the admin key on the terminal').toBeDefined();
    const listed = (await (await fetch(`${purchasesUrl}/v1/purchase-orders?limit=1000`)).json()) as {
      purchaseOrders: {
        status: string;
        lines: { sku: string; location: string; ordered: number; incoming: number }[];
      }[];
    };
    expect(listed.purchaseOrders.length).toBeGreaterThan(3);
    expect([...listed.purchaseOrders.flatMap((order) => order.lines)].some((line) => line.incoming > 0)).toBe(true);
    const expected = new Map<string, number>();
    for (const order of listed.purchaseOrders) {
      // Awaiting delivery (confirmed), received, or closed short: none is left halfway.
      expect(['confirmed', 'received', 'closed']).toContain(order.status);
      for (const line of order.lines) {
        const key = `${line.sku}@${line.location}`;
        expected.set(key, (expected.get(key) ?? 0) + line.incoming);
      }
    }
    for (const [level, incoming] of expected) {
      const [sku, location] = level.split('@') as [string, string];
      const answer = await fetch(`${inventoryUrl}/v1/items/${sku}/stock/${location}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect(((await answer.json()) as { incoming: number }).incoming, level).toBe(incoming);
    }
  }

  it('runs one inventory instance on an embedded SQLite file, three on a shared database, as set', () => {
    expect(instancesOf(loadConfig({ SKULD_DATABASE_URL: 'sqlite:x.db' }))).toBe(1);
    expect(instancesOf(loadConfig({ SKULD_DATABASE_URL: 'postgres://h/db' }))).toBe(3);
    expect(instancesOf(loadConfig({ SKULD_DATABASE_URL: 'postgres://h/db', SKULD_SYSTEM_INSTANCES: '5' }))).toBe(5);
    expect(() => instancesOf(loadConfig({ SKULD_DATABASE_URL: 'sqlite:x.db', SKULD_SYSTEM_INSTANCES: '2' }))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(sharedFlags(['--port', '4000', '--log-level=debug', '--grpc-port=1', '--store-x', 'y'])).toEqual([
      '--log-level=debug',
      '--store-x',
      'y',
    ]);
  });
});
