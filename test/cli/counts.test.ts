import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { runSkuld } from '../support/server-process.js';

// `skuld counts import` and `skuld reconciliation` as an operator runs them, on a real store:
// the same sheet imported twice changes stock once, and both imports are in the reports.

describe('skuld counts and skuld reconciliation', () => {
  let db: TestDatabase;
  let sheet: string;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    expect((await runSkuld(['seed'], db.env)).code).toBe(0);
    sheet = join(tmpdir(), `skuld-sheet-${process.pid}.csv`);
    writeFileSync(sheet, 'sku,location,counted,reason\nSKU-001,WH1,7,cycle count\nSKU-404,WH1,1\n');
  });

  afterAll(async () => {
    await db.drop();
  });

  /** SKU-001's on hand at WH1 and the ledger's head, read from the store itself. */
  const stock = async () => {
    const store = db.open();
    try {
      const level = (await store.itemLevels('SKU-001')).find((l) => l.location === 'WH1');
      return { onHand: level?.onHand, head: await store.headPosition() };
    } finally {
      await store.close();
    }
  };

  it('imports a sheet once however often it is run, and lists what each import found', async () => {
    const first = await runSkuld(['counts', 'import', sheet, '--sheet', 'aisle-1'], db.env);
    // A refused line (an unknown item) makes the exit code 1; the good line applied.
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/applied: +1\n/);
    expect(first.stdout).toMatch(/line 2 SKU-001@WH1: expected \d+, counted 7/);
    expect(first.stdout).toMatch(/! line 3: UNKNOWN_ITEM/);

    const afterFirst = await stock();
    expect(afterFirst.onHand).toBe(7);
    const second = await runSkuld(['counts', 'import', sheet, '--sheet', 'aisle-1'], db.env);
    expect(second.stdout).toMatch(/applied: +0\n/);
    expect(second.stdout).toMatch(/already applied: +1 /);
    expect(await stock()).toEqual(afterFirst);

    const run = await runSkuld(['reconciliation', 'run'], db.env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/verify: OK/);
    const list = await runSkuld(['reconciliation', 'list'], db.env);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/verify: OK/);
    expect(lines[1]).toMatch(/count sheet aisle-1: 2 lines, 0 applied, 1 already applied/);
    const id = (lines[2] as string).split(' ')[0] as string;
    const shown = await runSkuld(['reconciliation', 'show', id], db.env);
    expect(shown.stdout).toMatch(/count sheet aisle-1: 2 lines/);
  });
});
