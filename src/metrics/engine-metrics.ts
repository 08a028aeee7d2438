import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { commandTypes, errorCodes } from '../domain/index.js';
import type { EngineMetrics } from '../engine/engine-metrics.js';
import type { EngineStats } from '../engine/executor.js';
import { type ConflictKind, conflictKinds } from '../store/port.js';

// The write path's metrics, recorded where the engine runs: in the engine thread's own registry
// (merged into the process's at each scrape, see process-registry.ts) or in the process's.

/** Commands per batch: powers of two up to past the largest batch (SKULD_BATCH_SIZE_MAX's bound). */
export const batchSizeBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
/** Store transaction time in seconds: from a SQLite commit (sub-millisecond) to a stalled server. */
export const transactionSecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const knownTypes: ReadonlySet<string> = new Set(commandTypes);
const knownOutcomes: ReadonlySet<string> = new Set(['ok', ...errorCodes]);

/** What the engine's metrics read when scraped: its queue and its counters. */
export interface EngineView {
  readonly queueDepth: number;
  readonly stats: EngineStats;
}

export class PromEngineMetrics implements EngineMetrics {
  private readonly commands: Counter<'type' | 'outcome'>;
  /** Each (type, outcome) child, bound once: labels() hashes its values at every call. */
  private readonly children = new Map<string, Counter.Internal>();
  private readonly batchSize: Histogram;
  private readonly batchSeconds: Histogram;
  private readonly conflicts: Counter<'code'>;
  private readonly retries: Counter;

  /** `engine` is asked at each scrape; undefined until the engine exists. */
  constructor(registry: Registry, engine: () => EngineView | undefined) {
    const registers = [registry];
    this.commands = new Counter({
      name: 'skuld_commands_total',
      help: 'Commands answered by the engine, by type and outcome (ok, or the stable error code)',
      labelNames: ['type', 'outcome'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'skuld_engine_batch_size',
      help: 'Commands per batch answered',
      buckets: batchSizeBuckets,
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'skuld_engine_batch_duration_seconds',
      help: 'Store transaction time of a batch (each attempt, committed or not)',
      buckets: transactionSecondsBuckets,
      registers,
    });
    this.conflicts = new Counter({
      name: 'skuld_store_conflicts_total',
      help: 'Store transactions of the write path lost to a concurrent writer, by kind',
      labelNames: ['code'],
      registers,
    });
    // Every kind is exposed from the start: "no deadlock" reads as 0, not as a missing series.
    for (const kind of conflictKinds) this.conflicts.labels(kind).inc(0);
    this.retries = new Counter({
      name: 'skuld_store_retries_total',
      help: 'Batches run again after a store conflict',
      registers,
    });
    engineStatsMetrics(registry, engine);
  }

  answered(type: string, outcome: string): void {
    const key = `${type}\u0000${outcome}`;
    let child = this.children.get(key);
    if (child === undefined) {
      const typeLabel = knownTypes.has(type) ? type : 'unknown';
      child = this.commands.labels(typeLabel, knownOutcomes.has(outcome) ? outcome : 'INTERNAL');
      // Only known pairs are remembered: a flood of made-up types cannot grow the map.
      if (typeLabel === type) this.children.set(key, child);
    }
    child.inc();
  }

  batch(size: number): void {
    this.batchSize.observe(size);
  }

  transaction(seconds: number): void {
    this.batchSeconds.observe(seconds);
  }

  conflict(kind: ConflictKind | undefined): void {
    this.conflicts.labels(kind ?? 'other').inc();
  }

  retry(): void {
    this.retries.inc();
  }
}

/**
 * The engine's own counters (EngineStats) and its queue, read when scraped: a counter's value is
 * set from the stats it has counted since the start, so nothing is counted twice.
 */
function engineStatsMetrics(registry: Registry, engine: () => EngineView | undefined): void {
  const registers = [registry];
  new Gauge({
    name: 'skuld_engine_queue_depth',
    help: 'Commands waiting for a batch',
    registers,
    collect() {
      this.set(engine()?.queueDepth ?? 0);
    },
  });
  new Gauge({
    name: 'skuld_engine_largest_batch',
    help: 'The most commands one batch has held since the start',
    registers,
    collect() {
      this.set(engine()?.stats.largestBatch ?? 0);
    },
  });
  const fromStats = (name: string, help: string, read: (stats: EngineStats) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        const stats = engine()?.stats;
        this.reset();
        if (stats !== undefined) this.inc(read(stats));
      },
    });
  fromStats(
    'skuld_engine_splits_total',
    'Batches split because the store refused one of their commands',
    (stats) => stats.splits,
  );
  fromStats(
    'skuld_engine_isolated_total',
    'Commands refused alone by the store (STORE_REJECTED) after their batch was split',
    (stats) => stats.isolated,
  );
  fromStats(
    'skuld_engine_overloaded_total',
    'Commands refused OVERLOADED because the queue was full',
    (stats) => stats.overloaded,
  );
}
