import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Command } from '../../src/domain/index.js';
import { Engine } from '../../src/engine/engine.js';
import { PromEngineMetrics } from '../../src/metrics/engine-metrics.js';
import { ProcessRegistry } from '../../src/metrics/process-registry.js';
import type { Store } from '../../src/store/port.js';
import { EngineThread } from '../../src/thread/engine-thread.js';
import { createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { bucketsOf, parseExposition, sampleSum } from '../support/exposition.js';

// The same families observed on two threads: an engine thread (its own registry, asked at the
// scrape) and an engine in this thread on the same PostgreSQL store, both recording into the
// process's registry. The exposition's counters and every histogram bucket, sum and count are
// the sums of the two threads' own, and each thread contributed.

type Series = MetricObjectWithValues<MetricValue<string>>;

/** A histogram series' values in one thread's snapshot, by sample name and `le`. */
function histogramValues(snapshot: readonly Series[], name: string): Map<string, number> {
  const metric = snapshot.find((m) => m.name === name);
  const values = new Map<string, number>();
  for (const value of metric?.values ?? []) {
    const sample = (value as { metricName?: string }).metricName ?? name;
    const le = value.labels.le;
    values.set(le === undefined ? sample : `${sample}{le=${String(le)}}`, value.value);
  }
  return values;
}

describe('histograms and counters observed on the engine thread and the main thread', () => {
  let db: TestDatabase;
  let store: Store;
  let thread: EngineThread;
  let local: Engine;
  const registry = new ProcessRegistry();

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    store = db.open();
    await store.migrate();
    thread = await EngineThread.start(loadConfig({ ...db.env, SKULD_ENGINE_THREAD: 'on' }), undefined);
    registry.addSource(thread);
    let engine: Engine | undefined;
    local = Engine.on(store, { metrics: new PromEngineMetrics(registry, () => engine) });
    engine = local;
  });
  afterAll(async () => {
    await thread?.close();
    await local?.close();
    await store?.close();
    await db?.drop();
  });

  it('merge into one family each: buckets, sums and counts add up', async () => {
    const register: Command = { type: 'RegisterItem', id: 'tm-item', sku: 'TM-1', actor: 'test' };
    expect((await thread.execute(register)).outcome.ok).toBe(true);
    const receive: Command = {
      type: 'ReceiveStock',
      id: 'tm-rcv',
      sku: 'TM-1',
      location: 'WH',
      quantity: 100,
      actor: 'test',
    };
    expect((await local.execute(receive)).outcome.ok).toBe(true);
    const reserve = (id: string): Command => ({
      type: 'ReserveStock',
      id,
      lines: [{ sku: 'TM-1', location: 'WH', quantity: 1 }],
      actor: 'test',
    });
    // Sent in one turn each: batches of several commands on both threads.
    const onThread = await Promise.all([1, 2, 3, 4, 5].map((n) => thread.execute(reserve(`tm-t${n}`))));
    const onMain = await Promise.all([1, 2, 3].map((n) => local.execute(reserve(`tm-m${n}`))));
    expect([...onThread, ...onMain].every((answer) => answer.outcome.ok)).toBe(true);

    const [main, other] = (await registry.snapshots()) as [Series[], Series[]];
    const merged = parseExposition(await registry.metrics());
    for (const name of ['skuld_engine_batch_size', 'skuld_engine_batch_duration_seconds']) {
      const mine = histogramValues(main, name);
      const theirs = histogramValues(other, name);
      expect(mine.get(`${name}_count`), `${name} on the main thread`).toBeGreaterThan(0);
      expect(theirs.get(`${name}_count`), `${name} on the engine thread`).toBeGreaterThan(0);
      const buckets = bucketsOf(merged, name);
      expect(buckets.size).toBeGreaterThan(5);
      for (const [le, count] of buckets) {
        const key = `${name}_bucket{le=${le}}`;
        expect(count, key).toBe((mine.get(key) ?? 0) + (theirs.get(key) ?? 0));
      }
      for (const sample of [`${name}_count`, `${name}_sum`]) {
        expect(sampleSum(merged, sample)).toBeCloseTo((mine.get(sample) ?? 0) + (theirs.get(sample) ?? 0), 9);
      }
      expect(merged.types.get(name)).toBe('histogram');
    }
    expect(sampleSum(merged, 'skuld_engine_batch_size_sum')).toBe(10);
    expect(sampleSum(merged, 'skuld_commands_total', { type: 'ReserveStock', outcome: 'ok' })).toBe(8);
    expect(sampleSum(merged, 'skuld_commands_total', { type: 'RegisterItem', outcome: 'ok' })).toBe(1);
    expect(sampleSum(merged, 'skuld_commands_total', { type: 'ReceiveStock', outcome: 'ok' })).toBe(1);
    expect(merged.types.get('skuld_commands_total')).toBe('counter');
  });

  it('counts the commands answered UNAVAILABLE once the thread is gone, beside what the thread counted', async () => {
    const processRegistry = new ProcessRegistry();
    const config = loadConfig({ ...db.env, SKULD_ENGINE_THREAD: 'on' });
    const second = await EngineThread.start(config, undefined, new PromEngineMetrics(processRegistry, () => undefined));
    processRegistry.addSource(second);
    const registered = await second.execute({ type: 'RegisterItem', id: 'tm-item-2', sku: 'TM-2', actor: 'test' });
    expect(registered.outcome.ok).toBe(true);
    expect(sampleSum(parseExposition(await processRegistry.metrics()), 'skuld_commands_total')).toBe(1);
    await second.close();
    const refused = await second.execute({ type: 'RegisterItem', id: 'tm-item-3', sku: 'TM-3', actor: 'test' });
    expect(refused.outcome.ok ? undefined : refused.outcome.error.code).toBe('UNAVAILABLE');
    const after = parseExposition(await processRegistry.metrics());
    expect(sampleSum(after, 'skuld_commands_total', { type: 'RegisterItem', outcome: 'ok' })).toBe(1);
    expect(sampleSum(after, 'skuld_commands_total', { type: 'RegisterItem', outcome: 'UNAVAILABLE' })).toBe(1);
  });

  it('answers a scrape with the engine thread’s last metrics once the thread is gone', async () => {
    const before = parseExposition(await registry.metrics());
    await thread.close();
    const after = parseExposition(await registry.metrics());
    // The thread's counters do not fall back to zero: its last snapshot stands in.
    expect(sampleSum(after, 'skuld_commands_total')).toBe(sampleSum(before, 'skuld_commands_total'));
  });
});
