import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/compose/runtime.js';
import { loadConfig } from '../../src/config.js';
import type { Command } from '../../src/domain/index.js';
import { readCheckpoints } from '../../src/events/read-side/projector.js';
import type { ReadDb } from '../../src/events/read-side/read-db.js';
import { readModelNames, readModelTables } from '../../src/events/read-side/read-models.js';
import { createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { createTestReadDatabase, type TestReadDatabase, testReadDialects } from '../support/read-dbs.js';
import { runSkuld, skuldArgs } from '../support/server-process.js';

// A rebuild killed with SIGKILL in the middle (a real child process, pages committed and one
// under way) leaves every read model whole up to its checkpoint: after the next projector has
// caught up, each model's tables hold exactly what a fresh rebuild into an empty database makes.

const itemCount = 40;
const orderCount = 6000;

/**
 * A ledger with every kind of event the models read, in phases (a phase's commands run at once):
 * receipts (some back-dated), holds with references, then their commits and releases, transfers.
 */
function phases(now: number): Command[][] {
  const list: Command[] = [];
  const holds: Command[] = [];
  const resolutions: Command[] = [];
  for (let i = 0; i < itemCount; i += 1) {
    const sku = `SKU-${i}`;
    list.push({ type: 'RegisterItem', id: `reg-${i}`, sku, lowStockThreshold: i % 3 === 0 ? 50 : undefined });
    list.push({ type: 'ReceiveStock', id: `rcv-${i}`, sku, location: 'L1', quantity: 10_000 });
    list.push({
      type: 'ReceiveStock',
      id: `old-${i}`,
      sku,
      location: 'L2',
      quantity: 500,
      occurredAt: now - 86_400_000,
    });
  }
  for (let n = 0; n < orderCount; n += 1) {
    const sku = `SKU-${n % itemCount}`;
    holds.push({
      type: 'ReserveStock',
      id: `ord-${n}`,
      lines: [{ sku, location: n % 5 === 0 ? 'L2' : 'L1', quantity: 1 + (n % 3) }],
      reference: `order-${n % 997}`,
    });
  }
  for (let n = 0; n < orderCount; n += 3) {
    resolutions.push({ type: 'CommitReservation', id: `pay-${n}`, reservationId: `ord-${n}` });
  }
  for (let n = 1; n < orderCount; n += 3) {
    resolutions.push({ type: 'ReleaseReservation', id: `rel-${n}`, reservationId: `ord-${n}` });
  }
  for (let i = 0; i < itemCount; i += 1) {
    resolutions.push({ type: 'TransferStock', id: `trf-${i}`, sku: `SKU-${i}`, from: 'L1', to: 'L3', quantity: 5 });
  }
  return [list, holds, resolutions];
}

/** Every row of every model's tables, in a fixed order, and the checkpoints' positions. */
async function contents(db: ReadDb): Promise<Record<string, unknown>> {
  return db.read(async (tx) => {
    const dump: Record<string, unknown> = {};
    for (const model of readModelNames) {
      for (const table of readModelTables[model]) {
        const rows = await tx.rows<Record<string, unknown>>(`SELECT * FROM ${table}`, []);
        dump[table] = rows.map((row) => JSON.stringify(row, Object.keys(row).sort())).sort();
      }
    }
    dump.positions = (await readCheckpoints(tx)).map((c) => [c.model, c.position, c.skipped]);
    return dump;
  });
}

describe.each(testReadDialects())('a projector killed mid-rebuild (%s read database)', (dialect) => {
  let store: TestDatabase;
  let killed: TestReadDatabase;
  let fresh: TestReadDatabase;
  let head: number;

  beforeAll(async () => {
    store = await createTestDatabase('sqlite');
    killed = createTestReadDatabase(dialect);
    fresh = createTestReadDatabase(dialect);
    const runtime = await createRuntime(
      loadConfig({ ...store.env, SKULD_ENGINE_THREAD: 'off', SKULD_LOG_LEVEL: 'silent' }),
    );
    try {
      for (const phase of phases(Date.now())) {
        const answers = await Promise.all(phase.map((command) => runtime.engine.execute(command)));
        expect(answers.filter((a) => !a.outcome.ok)).toEqual([]);
      }
      head = await runtime.store.headPosition();
    } finally {
      await runtime.close();
    }
  });

  afterAll(async () => {
    await killed.drop();
    await fresh.drop();
    await store.drop();
  });

  it('leaves every model equal to a fresh rebuild once the next projector has caught up', async () => {
    const env = { ...store.env, SKULD_READ_DATABASE_URL: killed.url, SKULD_PROJECTOR_PAGE_EVENTS_MAX: '97' };
    const first = await runSkuld(['projections', 'catch-up'], env);
    expect(first.code, first.stderr).toBe(0);

    const child = spawn(process.execPath, [...skuldArgs, 'projections', 'rebuild'], {
      env: { ...process.env, ...env, SKULD_LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    const db = killed.open();
    try {
      // Killed once the rebuild has committed some pages and not all of them.
      for (;;) {
        const lowest = Math.min(...(await db.read(readCheckpoints)).map((c) => c.position));
        if (lowest > 0 && lowest < head - 2000) break;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const positions = (await db.read(readCheckpoints)).map((c) => c.position);
      expect(Math.min(...positions)).toBeLessThan(head);

      const resumed = await runSkuld(['projections', 'catch-up'], env);
      expect(resumed.code, resumed.stderr).toBe(0);
      const rebuilt = await runSkuld(['projections', 'rebuild'], { ...store.env, SKULD_READ_DATABASE_URL: fresh.url });
      expect(rebuilt.code, rebuilt.stderr).toBe(0);

      const other = fresh.open();
      try {
        const expected = await contents(other);
        expect((expected.positions as [string, number][]).map(([, position]) => position)).toEqual(
          readModelNames.map(() => head),
        );
        const actual = await contents(db);
        for (const table of Object.keys(expected)) expect(actual[table], table).toEqual(expected[table]);
      } finally {
        await other.close();
      }
    } finally {
      await db.close();
    }
  });
});
