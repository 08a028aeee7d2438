import { afterEach, describe, expect, it } from 'vitest';
import type { Command, ReserveStock, StockLine } from '../../src/domain/index.js';
import { levelKey } from '../../src/domain/index.js';
import { Engine } from '../../src/engine/engine.js';
import { openTestStore, testDialects } from '../support/dialects.js';
import {
  countByCommand,
  executeAll,
  expectInvariants,
  prng,
  runInProcesses,
  stock,
  type WorkerResult,
  wholeLedger,
} from '../support/engine-harness.js';

// Flash-sale contention: far more demand than stock on a few hot SKUs, all at once.

const location = 'WH1';
const hot = ['HOT-0', 'HOT-1', 'HOT-2', 'HOT-3'];

function order(id: string, random: () => number, linesMax: number): ReserveStock {
  const skus = [...hot].sort(() => random() - 0.5).slice(0, 1 + Math.floor(random() * linesMax));
  const lines: StockLine[] = skus.map((sku) => ({ sku, location, quantity: 1 + Math.floor(random() * 3) }));
  return { type: 'ReserveStock', id, lines };
}

describe.each(testDialects())('concurrency: %s', (dialect) => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  it('reserves exactly the stock there is when 1,200 single-unit orders race for 3 SKUs', async () => {
    const opened = await openTestStore(dialect);
    cleanup = opened.cleanup;
    const engine = Engine.on(opened.store);
    await stock(engine, hot.slice(0, 3), location, 300);
    const random = prng(7);
    const orders: Command[] = Array.from({ length: 1200 }, (_, i) => ({
      type: 'ReserveStock',
      id: `o-${i}`,
      lines: [{ sku: hot[Math.floor(random() * 3)] as string, location, quantity: 1 }],
    }));
    const outcomes = await executeAll(engine, orders);
    expect(outcomes.filter((o) => o.ok).length).toBe(900);
    expect(new Set(outcomes.flatMap((o) => (o.ok ? [] : [o.error.code])))).toEqual(new Set(['INSUFFICIENT_STOCK']));
    for (const sku of hot.slice(0, 3)) {
      const [level] = await opened.store.itemLevels(sku);
      expect(level).toMatchObject({ onHand: 300, reserved: 300 });
    }
    expect(engine.stats.conflicts).toEqual({});
    await expectInvariants(opened.store);
  });

  it('never refuses an order that fits, and never oversells, with multi-line orders', async () => {
    const opened = await openTestStore(dialect);
    cleanup = opened.cleanup;
    const engine = Engine.on(opened.store, { batchSizeMax: 64 });
    await stock(engine, hot, location, 400);
    const random = prng(11);
    const orders = Array.from({ length: 1500 }, (_, i) => order(`m-${i}`, random, 3));
    const outcomes = await executeAll(engine, orders);
    const reserved = new Map<string, number>();
    orders.forEach((o, i) => {
      if (!outcomes[i]?.ok) return;
      for (const line of o.lines)
        reserved.set(
          levelKey(line.sku, line.location),
          (reserved.get(levelKey(line.sku, line.location)) ?? 0) + line.quantity,
        );
    });
    const available = new Map<string, number>();
    for (const sku of hot) {
      const [level] = await opened.store.itemLevels(sku);
      expect(level?.reserved).toBe(reserved.get(levelKey(sku, location)) ?? 0);
      expect(level?.reserved).toBeLessThanOrEqual(400);
      available.set(sku, (level?.onHand ?? 0) - (level?.reserved ?? 0));
    }
    // A refused order had a line that did not fit then, so it cannot fit in what is left now.
    orders.forEach((o, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined || outcome.ok) return;
      expect(outcome.error.code).toBe('INSUFFICIENT_STOCK');
      expect(o.lines.some((line) => line.quantity > (available.get(line.sku) ?? 0))).toBe(true);
    });
    expect(outcomes.filter((o) => !o.ok).length).toBeGreaterThan(0);
    expect(engine.stats.conflicts).toEqual({});
    await expectInvariants(opened.store);
  });

  it('applies concurrent retries of the same command ids once', async () => {
    const opened = await openTestStore(dialect);
    cleanup = opened.cleanup;
    const engine = Engine.on(opened.store, { batchSizeMax: 16 });
    await stock(engine, hot, location, 1000);
    const random = prng(3);
    const orders = Array.from({ length: 200 }, (_, i) => order(`r-${i}`, random, 3));
    // Every order is sent five times at once: the copies land in the same and in later batches.
    const copies = orders.flatMap((o) => [o, o, o, o, o]).sort(() => random() - 0.5);
    const outcomes = await executeAll(engine, copies);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const ledger = await wholeLedger(opened.store);
    const perCommand = countByCommand(ledger);
    for (const o of orders) expect(perCommand.get(o.id)).toBe(o.lines.length);
    await expectInvariants(opened.store);
  });

  it('stays correct with two engine processes on one database, sharing hot SKUs and command ids', async () => {
    const opened = await openTestStore(dialect);
    cleanup = opened.cleanup;
    const engine = Engine.on(opened.store);
    await stock(engine, hot, location, 6000);
    const random = prng(5);
    const shared = Array.from({ length: 300 }, (_, i) => order(`s-${i}`, random, 3));
    const own = (p: number) => Array.from({ length: 3000 }, (_, i) => order(`p${p}-${i}`, random, 3));
    const mix = (p: number) => [...own(p), ...shared].sort(() => random() - 0.5);
    const [first, second] = (await runInProcesses(
      [1, 2].map((p) => ({ db: opened.db, commands: mix(p), inFlight: 64 })),
    )) as [WorkerResult, WorkerResult];
    // The two engines really overlapped in time.
    expect(Math.max(first.startedAt, second.startedAt)).toBeLessThan(Math.min(first.finishedAt, second.finishedAt));
    for (const result of [first, second]) {
      // Deadlocks would surface as conflicts (PostgreSQL 40P01, MySQL/MariaDB 1213); sorted locks leave none.
      for (const deadlock of ['40P01', '1213']) expect(result.stats.conflicts[deadlock] ?? 0).toBe(0);
      for (const answer of result.answers) {
        if (!answer.ok) expect(answer.code).toBe('INSUFFICIENT_STOCK');
      }
    }
    // A shared id answers the same in both processes: decided once, replayed once.
    const byId = new Map(first.answers.map((a) => [a.id, a]));
    for (const answer of second.answers) {
      const other = byId.get(answer.id);
      if (other === undefined) continue;
      expect(answer.ok).toBe(other.ok);
      expect(answer.replayed !== other.replayed).toBe(true);
    }
    const ledger = await wholeLedger(opened.store);
    const perCommand = countByCommand(ledger);
    for (const o of shared) {
      const answered = byId.get(o.id);
      expect(perCommand.get(o.id) ?? 0).toBe(answered?.ok ? o.lines.length : 0);
    }
    await expectInvariants(opened.store);
  });
});
