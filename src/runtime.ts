import type { Config } from './config.js';
import { storeConfig } from './config.js';
import { Engine, engineDefaults } from './engine/engine.js';
import { writePath } from './engine/strategies.js';
import { Sweeper } from './engine/sweeper.js';
import { MysqlStore } from './store/mysql/mysql-store.js';
import type { Store } from './store/port.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';

// Composition: the one place that turns configuration into adapters and wires them.

export function openStore(config: Config): Store {
  const target = storeConfig(config);
  if (target.kind === 'sqlite') return SqliteStore.open({ path: target.path, synchronous: target.synchronous });
  if (target.kind === 'mysql') {
    return MysqlStore.open({ url: target.url, database: target.database, connectionsMax: target.connectionsMax });
  }
  return PostgresStore.open({ url: target.url, schema: target.schema, connectionsMax: target.connectionsMax });
}

export interface Runtime {
  readonly config: Config;
  readonly store: Store;
  readonly engine: Engine;
  readonly sweeper: Sweeper;
  close(): Promise<void>;
}

/** Opens and migrates the store, and builds the engine and its sweeper (not yet started). */
export async function createRuntime(config: Config, clock: () => number = Date.now): Promise<Runtime> {
  const store = openStore(config);
  await store.migrate();
  const path = await writePath(config.strategy, store, {
    // One pool connection stays free for reads.
    concurrency: Math.max(1, config.databaseConnectionsMax - 1),
    itemCacheMax: engineDefaults.itemCacheMax,
    redisUrl: config.redisUrl,
    redlockTtlMs: config.redlockTtlMs,
    retryCountMax: config.strategyRetryCountMax,
  }).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const engine = new Engine(
    store,
    {
      batchSizeMax: config.batchSizeMax,
      batchWaitMs: config.batchWaitMs,
      queueDepthMax: config.queueDepthMax,
      reservationTtlMsDefault: config.reservationTtlMsDefault,
      reservationTtlMsMax: config.reservationTtlMsMax,
      clock,
      ...path.options,
    },
    path.runner,
  );
  const sweeper = new Sweeper(engine, store, {
    intervalMs: config.sweepIntervalMs,
    sweepBatchMax: config.sweepBatchMax,
    clock,
  });
  return {
    config,
    store,
    engine,
    sweeper,
    close: async () => {
      await sweeper.stop();
      await engine.close();
      await store.close();
    },
  };
}
