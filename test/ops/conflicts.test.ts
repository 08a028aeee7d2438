import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/index.js';
import { Engine } from '../../src/engine/engine.js';
import { writePath } from '../../src/engine/strategies.js';
import { silentLog } from '../../src/log.js';
import { PromEngineMetrics } from '../../src/metrics/engine-metrics.js';
import { translate as mysqlTranslate } from '../../src/store/mysql/mysql-errors.js';
import type { Store } from '../../src/store/port.js';
import { translate as postgresTranslate } from '../../src/store/postgres/postgres-errors.js';
import { translate as sqliteTranslate } from '../../src/store/sqlite/sqlite-errors.js';
import { openTestStore } from '../support/dialects.js';
import { parseExposition, sampleSum } from '../support/exposition.js';

// Store conflicts are counted by kind where the engine retries them: each dialect's translation
// names the kind, and the optimistic strategy's lost compare-and-sets on a hot PostgreSQL row
// show as version_conflict, each retried batch as a retry.

describe('conflict kinds from each dialect’s error translation', () => {
  it('names deadlocks, lock timeouts, unique and serialization failures by the database’s codes', () => {
    const cases = [
      [postgresTranslate({ code: '40P01', message: 'deadlock detected' }), 'deadlock'],
      [postgresTranslate({ code: '55P03', message: 'lock not available' }), 'lock_timeout'],
      [postgresTranslate({ code: '23505', message: 'duplicate key' }), 'unique_violation'],
      [postgresTranslate({ code: '40001', message: 'could not serialize' }), 'serialization_failure'],
      [mysqlTranslate({ errno: 1213, code: 'ER_LOCK_DEADLOCK', message: 'Deadlock' }), 'deadlock'],
      [mysqlTranslate({ errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT', message: 'Lock wait' }), 'lock_timeout'],
      [mysqlTranslate({ errno: 1062, code: 'ER_DUP_ENTRY', message: 'Duplicate' }), 'unique_violation'],
      [sqliteTranslate({ code: 'SQLITE_BUSY', message: 'database is locked' }), 'lock_timeout'],
      [sqliteTranslate({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY', message: 'UNIQUE' }), 'unique_violation'],
    ] as const;
    for (const [error, kind] of cases)
      expect({ kind: error.kind, conflict: error.conflict }).toEqual({ kind: 'conflict', conflict: kind });
    expect(postgresTranslate({ code: '23502', message: 'not null' }).conflict).toBeUndefined();
  });
});

describe('conflicts and retries counted by the engine (PostgreSQL, optimistic strategy)', () => {
  let store: Store;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ store, cleanup } = await openTestStore('postgres'));
  });
  afterAll(async () => cleanup?.());

  it('counts each lost compare-and-set as a version_conflict and each rerun as a retry', async () => {
    const registry = new Registry();
    const path = await writePath('optimistic', store, {
      concurrency: 8,
      itemCacheMax: 1000,
      redisUrl: '',
      redlockTtlMs: 1000,
      retryCountMax: 50,
      log: silentLog,
    });
    const engine = new Engine(path.runner, { ...path.options, metrics: new PromEngineMetrics(registry, () => engine) });
    const run = async (command: Command) => (await engine.execute(command)).outcome.ok;
    expect(await run({ type: 'RegisterItem', id: 'cf-item', sku: 'CF-1', actor: 't' })).toBe(true);
    expect(
      await run({ type: 'ReceiveStock', id: 'cf-rcv', sku: 'CF-1', location: 'WH', quantity: 10_000, actor: 't' }),
    ).toBe(true);
    // Eight transactions at once on one level: compare-and-sets are lost until one is, at most 20 rounds.
    for (let round = 0; round < 20 && engine.stats.retries === 0; round += 1) {
      const answers = await Promise.all(
        Array.from({ length: 32 }, (_, n) =>
          run({
            type: 'ReserveStock',
            id: `cf-${round}-${n}`,
            lines: [{ sku: 'CF-1', location: 'WH', quantity: 1 }],
            actor: 't',
          }),
        ),
      );
      expect(answers.every(Boolean)).toBe(true);
    }
    await engine.close();
    expect(engine.stats.retries).toBeGreaterThan(0);
    const exposition = parseExposition(await registry.metrics());
    expect(sampleSum(exposition, 'skuld_store_conflicts_total', { code: 'version_conflict' })).toBe(
      engine.stats.conflicts.VERSION_CONFLICT,
    );
    expect(sampleSum(exposition, 'skuld_store_conflicts_total')).toBe(
      Object.values(engine.stats.conflicts).reduce((sum, n) => sum + n, 0),
    );
    expect(sampleSum(exposition, 'skuld_store_retries_total')).toBe(engine.stats.retries);
    expect(sampleSum(exposition, 'skuld_store_conflicts_total', { code: 'deadlock' })).toBe(0);
  });
});
