import { pino } from 'pino';
import type { Config } from '../config.js';
import { storeConfig } from '../config.js';
import { Engine, engineDefaults } from '../engine/engine.js';
import type { CommandExecutor } from '../engine/executor.js';
import { checkStrategy, writePath } from '../engine/strategies.js';
import { Sweeper } from '../engine/sweeper.js';
import type { Log } from '../log.js';
import { MysqlStore, mysqlCapabilities } from '../store/mysql/mysql-store.js';
import type { Dialect, Store, StoreCapabilities } from '../store/port.js';
import { PostgresStore, postgresCapabilities } from '../store/postgres/postgres-store.js';
import { SqliteStore, sqliteCapabilities } from '../store/sqlite/sqlite-store.js';
import { EngineThread } from '../thread/engine-thread.js';
import type { SharedClock } from '../thread/shared-clock.js';

// Composition: the one place that turns configuration into adapters and wires them (the engine
// thread's entry, engine-worker.ts beside this file, composes its half with the functions below).

/** The process's logger: JSON lines on stdout at the configured level. */
export function createLog(config: Config): Log {
  return pino({ level: config.logLevel });
}

const storeCapabilities: Readonly<Record<Dialect, StoreCapabilities>> = {
  sqlite: sqliteCapabilities,
  postgres: postgresCapabilities,
  mysql: mysqlCapabilities,
};

export function openStore(config: Config, log: Log): Store {
  const target = storeConfig(config);
  // Checked before anything is opened: a start refused for it leaves no file or database behind.
  checkStrategy(config.strategy, storeCapabilities[target.kind], target.kind);
  if (target.kind === 'sqlite') {
    const { path, synchronous, checkpointIntervalMs, historyIntervalMs } = target;
    return SqliteStore.open({ path, synchronous, checkpointIntervalMs, historyIntervalMs, log });
  }
  if (target.kind === 'mysql') {
    return MysqlStore.open({ url: target.url, database: target.database, connectionsMax: target.connectionsMax });
  }
  return PostgresStore.open({ url: target.url, schema: target.schema, connectionsMax: target.connectionsMax });
}

/** The engine of a deployment on a migrated store: the configured write strategy and bounds. */
export async function buildEngine(config: Config, store: Store, clock: () => number, log: Log): Promise<Engine> {
  const path = await writePath(config.strategy, store, {
    // One pool connection stays free for reads.
    concurrency: Math.max(1, config.databaseConnectionsMax - 1),
    itemCacheMax: engineDefaults.itemCacheMax,
    redisUrl: config.redisUrl,
    redlockTtlMs: config.redlockTtlMs,
    retryCountMax: config.strategyRetryCountMax,
    log,
  });
  return new Engine(path.runner, {
    batchSizeMax: config.batchSizeMax,
    batchWaitMs: config.batchWaitMs,
    queueDepthMax: config.queueDepthMax,
    reservationTtlMsDefault: config.reservationTtlMsDefault,
    reservationTtlMsMax: config.reservationTtlMsMax,
    clock,
    log,
    ...path.options,
  });
}

export interface Runtime {
  readonly config: Config;
  /** Reads, migrations and the sweeper's queries; the write path has its own connections on its thread. */
  readonly store: Store;
  /** The write path: the engine in this thread, or the engine thread (SKULD_ENGINE_THREAD). */
  readonly engine: CommandExecutor;
  readonly sweeper: Sweeper;
  readonly log: Log;
  close(): Promise<void>;
}

/**
 * Opens and migrates the store, and starts the write path and its sweeper (not yet running).
 * `clock` replaces the system clock, for the engine (on either thread) and the sweeper alike;
 * `log` replaces the process's logger.
 */
export async function createRuntime(
  config: Config,
  clock?: SharedClock,
  log: Log = createLog(config),
): Promise<Runtime> {
  const store = openStore(config, log);
  const read = clock?.read ?? Date.now;
  let engine: CommandExecutor;
  try {
    await store.migrate();
    engine =
      config.engineThread === 'on'
        ? await EngineThread.start(config, clock?.buffer)
        : await buildEngine(config, store, read, log);
  } catch (error) {
    await store.close();
    throw error;
  }
  const sweeper = new Sweeper(engine, store, {
    intervalMs: config.sweepIntervalMs,
    sweepBatchMax: config.sweepBatchMax,
    clock: read,
    log,
  });
  return {
    config,
    store,
    engine,
    sweeper,
    log,
    close: async () => {
      await sweeper.stop();
      await engine.close();
      await store.close();
    },
  };
}
