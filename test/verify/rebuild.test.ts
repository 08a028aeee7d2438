import { afterEach, describe, expect, it } from 'vitest';
import type { Command, Level } from '../../src/domain/index.js';
import { Engine } from '../../src/engine/engine.js';
import type { Store } from '../../src/store/port.js';
import { rebuild } from '../../src/verify/rebuild.js';
import { verify } from '../../src/verify/verify.js';
import { openTestStore, type TestDatabase, testDialects } from '../support/dialects.js';
import { runSkuld } from '../support/server-process.js';

// rebuild recomputes every level from the ledger alone, into a table aside, and swaps it in:
// whatever was done to the levels behind the engine's back is undone, and what the engine
// commits while the rebuild runs is folded in, never lost.

async function allLevels(store: Store): Promise<Level[]> {
  return store.scanLevels(undefined, 100_000);
}

async function history(engine: Engine, tag: string): Promise<void> {
  const commands: Command[] = [];
  for (const sku of ['RB-1', 'RB-2', 'RB-3']) {
    commands.push({ type: 'ReceiveStock', id: `${tag}-rcv-${sku}`, sku, location: 'WH1', quantity: 20 });
    commands.push({ type: 'TransferStock', id: `${tag}-mv-${sku}`, sku, from: 'WH1', to: 'WH2', quantity: 5 });
    commands.push({ type: 'ReserveStock', id: `${tag}-held-${sku}`, lines: [{ sku, location: 'WH1', quantity: 3 }] });
    commands.push({ type: 'ReserveStock', id: `${tag}-paid-${sku}`, lines: [{ sku, location: 'WH2', quantity: 2 }] });
    commands.push({ type: 'CommitReservation', id: `${tag}-pay-${sku}`, reservationId: `${tag}-paid-${sku}` });
    commands.push({ type: 'CountStock', id: `${tag}-count-${sku}`, sku, location: 'WH2', counted: 1 });
  }
  for (const command of commands) expect((await engine.execute(command)).outcome.ok, command.id).toBe(true);
}

describe.each(testDialects())('rebuild on %s', (dialect) => {
  let store: Store;
  let db: TestDatabase;
  let engine: Engine;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await engine?.close();
    await cleanup?.();
  });

  const seeded = async () => {
    ({ store, db, cleanup } = await openTestStore(dialect));
    engine = Engine.on(store);
    for (const sku of ['RB-1', 'RB-2', 'RB-3']) {
      expect((await engine.execute({ type: 'RegisterItem', id: `reg-${sku}`, sku })).outcome.ok).toBe(true);
    }
    await history(engine, 'h');
  };

  it('puts back every level the ledger explains, and removes what it does not', async () => {
    await seeded();
    const truth = await allLevels(store);
    for (const sql of [
      "UPDATE levels SET on_hand = on_hand + 7 WHERE sku = 'RB-1' AND location = 'WH1'",
      "UPDATE levels SET reserved = 0, version = 99 WHERE sku = 'RB-2' AND location = 'WH1'",
      "DELETE FROM levels WHERE sku = 'RB-3' AND location = 'WH2'",
      "INSERT INTO levels (sku, location, on_hand, reserved, version, fence) VALUES ('RB-1', 'GHOST', 5, 0, 1, 0)",
    ]) {
      await db.exec(sql);
    }
    expect((await verify(store)).ok).toBe(false);
    const report = await rebuild(store);
    expect(report.swap).toMatchObject({ updated: 2, inserted: 1, deleted: 1, tailEvents: 0 });
    expect(report.levels).toBe(truth.length);
    expect(await allLevels(store)).toEqual(truth);
    expect((await verify(store)).ok).toBe(true);
    // A second run finds nothing to change.
    expect((await rebuild(store)).swap).toMatchObject({ updated: 0, inserted: 0, deleted: 0 });
  });

  it('folds in what the engine commits while it runs', async () => {
    await seeded();
    const phases: string[] = [];
    let written = 0;
    const report = await rebuild(store, async ({ phase }) => {
      phases.push(phase);
      // Once the ledger is read, the engine writes on: those events are the rebuild's tail.
      if (phase === 'write' && written === 0) {
        const before = await store.headPosition();
        await history(engine, 'during');
        written = (await store.headPosition()) - before;
      }
    });
    expect(phases).toContain('ledger');
    expect(phases.at(-1)).toBe('swap');
    expect(written).toBeGreaterThan(0);
    expect(report.swap.tailEvents).toBe(written);
    expect((await verify(store)).ok).toBe(true);
    // What the engine wrote during the rebuild is all there: rebuilding again changes nothing.
    expect((await rebuild(store)).swap).toMatchObject({ updated: 0, inserted: 0, deleted: 0 });
  });

  it('runs from the command line with its rate', async () => {
    await seeded();
    await engine.close();
    await db.exec("UPDATE levels SET on_hand = 1000 WHERE sku = 'RB-1' AND location = 'WH1'");
    const { code, stdout, stderr } = await runSkuld(['rebuild'], db.env);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('rebuild: done');
    expect(stdout).toMatch(/levels changed: +1 updated, 0 inserted, 0 deleted/);
    expect(stdout).toMatch(/events\/s\)/);
    expect(stderr).toContain('rebuild: ledger');
    expect((await verify(store)).ok).toBe(true);
  });
});
