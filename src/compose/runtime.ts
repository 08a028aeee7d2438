import { createHash } from 'node:crypto';
import type { InstanceDirectory } from '../api/commands.js';
import { createReadPath, type ReadPath } from '../cache/read-path.js';
import type { StockReads } from '../cache/stock-reads.js';
import type { Config } from '../config.js';
import { storeConfig } from '../config.js';
import { Engine, engineDefaults } from '../engine/engine.js';
import { type EngineMetrics, noEngineMetrics } from '../engine/engine-metrics.js';
import type { CommandExecutor } from '../engine/executor.js';
import { checkStrategy, writePath } from '../engine/strategies.js';
import { Sweeper } from '../engine/sweeper.js';
import type { ReadSide } from '../events/read-side/read-side.js';
import type { Log } from '../log.js';
import { createLog } from '../log-output.js';
import { PromEngineMetrics } from '../metrics/engine-metrics.js';
import { OpsMetrics } from '../metrics/ops-metrics.js';
import { ProcessRegistry } from '../metrics/process-registry.js';
import { MysqlStore, mysqlCapabilities } from '../store/mysql/mysql-store.js';
import type { Dialect, Store, StoreCapabilities } from '../store/port.js';
import { PostgresStore, postgresCapabilities } from '../store/postgres/postgres-store.js';
import { SqliteStore, sqliteCapabilities } from '../store/sqlite/sqlite-store.js';
import { EngineThread } from '../thread/engine-thread.js';
import type { SharedClock } from '../thread/shared-clock.js';
import { createEventJobs, type EventJobs } from './events.js';
import { OpsSampler } from './ops-sampler.js';
import { createReadSide, type ReadSideRuntime } from './read-side.js';
import { checkRelayConfig, createRelays, type Relays } from './relays.js';

export { createLog };

// Composition: the one place that turns configuration into adapters and wires them (the engine
// thread's entry, engine-worker.ts beside this file, composes its half with the functions below).

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
export async function buildEngine(
  config: Config,
  store: Store,
  clock: () => number,
  log: Log,
  metrics: EngineMetrics = noEngineMetrics,
): Promise<Engine> {
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
    metrics,
    ...path.options,
  });
}

/**
 * The write path: on the engine thread, whose metrics the registry asks for at each scrape, or
 * in this thread, recording into the registry itself.
 */
async function startWritePath(
  config: Config,
  parts: { store: Store; clock: SharedClock | undefined; log: Log; metrics: ProcessRegistry },
): Promise<CommandExecutor> {
  const { store, clock, log, metrics } = parts;
  if (config.engineThread === 'on') {
    // The thread's engine records into the thread's registry; this side counts only the commands
    // it answers itself once the thread is gone, into the same families (the scrape sums them).
    const thread = await EngineThread.start(config, clock?.buffer, new PromEngineMetrics(metrics, () => undefined));
    metrics.addSource(thread);
    return thread;
  }
  let engine: Engine | undefined;
  const recorder = new PromEngineMetrics(metrics, () => engine);
  engine = await buildEngine(config, store, clock?.read ?? Date.now, log, recorder);
  return engine;
}

export interface Runtime {
  readonly config: Config;
  /** Reads, migrations and the sweeper's queries; the write path has its own connections on its thread. */
  readonly store: Store;
  /** The write path: the engine in this thread, or the engine thread (SKULD_ENGINE_THREAD). */
  readonly engine: CommandExecutor;
  /** Stock reads: through the cache (SKULD_CACHE), which the engine above tells what each write changed. */
  readonly stock: StockReads;
  /** This process's Prometheus metrics, served at /metrics, with the engine thread's merged in. */
  readonly metrics: ProcessRegistry;
  readonly sweeper: Sweeper;
  /** The heartbeat and the gauges read from the store (not yet started; `skuld serve` starts it once it listens). */
  readonly ops: OpsSampler;
  /** The inventory instances on this store, from their heartbeats. */
  readonly instances: InstanceDirectory;
  /** The returns consumer (not yet started; `skuld serve` starts it). */
  readonly events: EventJobs;
  /** The read models (CQRS), in their own database, and the projector that keeps them (SKULD_PROJECTOR). */
  readonly readSide: ReadSide;
  /** The event relays (SKULD_RELAY; not yet started: `skuld serve` and `skuld relay` start them). */
  readonly relays: Relays;
  readonly log: Log;
  close(): Promise<void>;
}

/** Prefix of the cache's Redis keys: instances on one database share it, other databases never meet. */
function cacheNamespace(config: Config): string {
  const target = storeConfig(config);
  const where = target.kind === 'sqlite' ? target.path : `${target.url}#${config.databaseSchema}`;
  return `skuld:${createHash('sha256').update(`${target.kind}:${where}`).digest('hex').slice(0, 16)}:`;
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
  checkRelayConfig(config);
  const store = openStore(config, log);
  const read = clock?.read ?? Date.now;
  const metrics = new ProcessRegistry();
  let writes: CommandExecutor;
  try {
    await store.migrate();
    writes = await startWritePath(config, { store, clock, log, metrics });
  } catch (error) {
    await store.close();
    throw error;
  }
  let readPath: ReadPath;
  try {
    readPath = await createReadPath(config, {
      store,
      engine: writes,
      registry: metrics,
      log,
      namespace: cacheNamespace(config),
    });
  } catch (error) {
    await writes.close();
    await store.close();
    throw error;
  }
  let reads: ReadSideRuntime;
  try {
    reads = await createReadSide(config, store, log, read);
  } catch (error) {
    await readPath.close();
    await writes.close();
    await store.close();
    throw error;
  }
  const { engine, stock } = readPath;
  const sweeper = new Sweeper(engine, store, {
    intervalMs: config.sweepIntervalMs,
    sweepBatchMax: config.sweepBatchMax,
    clock: read,
    log,
  });
  const events = createEventJobs(config, { store, engine, log });
  const relays = createRelays(config, { store, log, clock: read });
  const ops = new OpsSampler({
    store,
    relays,
    readSide: reads.readSide,
    metrics: new OpsMetrics(metrics, sweeper, relays),
    intervalMs: config.heartbeatIntervalMs,
    clock: read,
    log,
  });
  return {
    config,
    store,
    engine,
    stock,
    metrics,
    sweeper,
    ops,
    instances: ops,
    events,
    readSide: reads.readSide,
    relays,
    log,
    close: async () => {
      await ops.stop();
      await sweeper.stop();
      await relays.close();
      // The consumer's messages in hand are answered by the engine before it closes.
      await events.close();
      await engine.close();
      await readPath.close();
      await reads.close();
      await store.close();
    },
  };
}
