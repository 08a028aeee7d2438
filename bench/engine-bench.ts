import { loadConfig } from '../src/config.js';
import type { Answer } from '../src/engine/batch.js';
import { Engine, type EngineStats } from '../src/engine/engine.js';
import { createRuntime } from '../src/runtime.js';
import { type VerifyReport, verify } from '../src/verify/verify.js';
import { type StoreKind, withBenchDatabase } from './databases.js';
import { ordersPerRunMax, seededRandom, setupW1, w1Order } from './workload.js';

// One engine cell: a fresh database, W1 set up through the engine, then a closed loop of
// `inFlight` callers, each sending its next order as soon as the previous one is answered.

export type Mode = 'reserve' | 'reserve-commit';

export interface EngineCellSpec {
  readonly store: StoreKind;
  readonly mode: Mode;
  readonly inFlight: number;
  readonly durationMs: number;
  /** Unmeasured load first, through a throwaway engine: JIT, caches and files warm up. */
  readonly warmupMs: number;
  readonly seed: number;
  readonly postgresUrl: string;
}

export interface EngineSummary {
  readonly batches: number;
  readonly commands: number;
  readonly batchAverage: number;
  readonly largestBatch: number;
  readonly retries: number;
}

export interface VerifySummary {
  readonly ok: boolean;
  readonly levels: number;
  readonly events: number;
  readonly pendingReservations: number;
  readonly mismatchCount: number;
}

export interface EngineCellResult extends Omit<EngineCellSpec, 'postgresUrl'> {
  /** Orders answered: in reserve-commit, an order counts when its commit answers. */
  readonly orders: number;
  readonly elapsedMs: number;
  readonly ordersPerSecond: number;
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
  /** Failed answers by error code, warm-up included; W1 never runs out of stock, so any is a failure. */
  readonly errors: Readonly<Record<string, number>>;
  readonly engine: EngineSummary;
  /** Retryable store conflicts by database code, warm-up included (the engine retried them). */
  readonly conflicts: Readonly<Record<string, number>>;
  /** PostgreSQL deadlocks detected (40P01), warm-up included: sorted locks keep this at 0. */
  readonly deadlocks: number;
  readonly verify: VerifySummary;
}

export async function runEngineCell(spec: EngineCellSpec): Promise<EngineCellResult> {
  return withBenchDatabase(spec.store, spec.postgresUrl, async (database) => {
    const runtime = await createRuntime(loadConfig({ ...process.env, ...database.env }));
    try {
      await setupW1(runtime.store);
      const random = seededRandom(spec.seed);
      // The warm-up runs on an engine of its own: the measured engine counts measured orders only.
      const warmup = new Engine(runtime.store);
      const warm = await closedLoop(spec.inFlight, spec.warmupMs, orderRunner(warmup, spec.mode, random, 'w'));
      await warmup.drain();
      const { engine } = runtime;
      const loop = await closedLoop(spec.inFlight, spec.durationMs, orderRunner(engine, spec.mode, random, ''));
      await engine.drain();
      const conflicts = mergeCounts(countsOf(warmup.stats.conflicts), countsOf(engine.stats.conflicts));
      const { postgresUrl: _, ...cell } = spec;
      return {
        ...cell,
        ...latencySummary(loop),
        errors: Object.fromEntries(mergeCounts(warm.errors, loop.errors)),
        engine: summarizeEngine(engine.stats),
        conflicts: Object.fromEntries(conflicts),
        deadlocks: conflicts.get('40P01') ?? 0,
        verify: summarizeVerify(await verify(runtime.store)),
      };
    } finally {
      await runtime.close();
    }
  });
}

type OrderRun = (orderIndex: number) => Promise<string | undefined>;

/** Sends order `orderIndex` and answers its error code, or undefined when it succeeded. */
function orderRunner(engine: Engine, mode: Mode, random: () => number, idPrefix: string): OrderRun {
  const reserve: OrderRun = async (index) => failure(await engine.execute(w1Order(random, `${idPrefix}o${index}`)));
  if (mode === 'reserve') return reserve;
  return async (index) => {
    const held = await reserve(index);
    if (held !== undefined) return held;
    const reservationId = `${idPrefix}o${index}`;
    return failure(await engine.execute({ type: 'CommitReservation', id: `${idPrefix}c${index}`, reservationId }));
  };
}

function failure({ outcome }: Answer): string | undefined {
  return outcome.ok ? undefined : outcome.error.code;
}

interface LoopOutcome {
  /** Sorted ascending. */
  readonly latenciesMs: Float64Array;
  readonly errors: Map<string, number>;
  readonly elapsedMs: number;
}

/** Bounded twice: no caller starts an order after the deadline or past ordersPerRunMax. */
async function closedLoop(inFlight: number, durationMs: number, run: OrderRun): Promise<LoopOutcome> {
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  const startedAt = performance.now();
  const deadline = startedAt + durationMs;
  let sent = 0;
  const caller = async () => {
    while (sent < ordersPerRunMax && performance.now() < deadline) {
      const index = sent;
      sent += 1;
      const sentAt = performance.now();
      const code = await run(index);
      latencies.push(performance.now() - sentAt);
      if (code !== undefined) increment(errors, code);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, caller));
  return { latenciesMs: Float64Array.from(latencies).sort(), errors, elapsedMs: performance.now() - startedAt };
}

function latencySummary({ latenciesMs, elapsedMs }: LoopOutcome) {
  return {
    orders: latenciesMs.length,
    elapsedMs,
    ordersPerSecond: latenciesMs.length / (elapsedMs / 1000),
    latencyMsP50: percentile(latenciesMs, 0.5),
    latencyMsP99: percentile(latenciesMs, 0.99),
  };
}

/** Nearest-rank percentile of an ascending array; 0 when it is empty. */
function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number;
}

function increment(counts: Map<string, number>, key: string, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by);
}

const countsOf = (record: Readonly<Record<string, number>>) => new Map(Object.entries(record));

function mergeCounts(...maps: ReadonlyMap<string, number>[]): Map<string, number> {
  const merged = new Map<string, number>();
  for (const map of maps) for (const [key, count] of map) increment(merged, key, count);
  return merged;
}

export function summarizeEngine(stats: EngineStats): EngineSummary {
  const { batches, commands, largestBatch, retries } = stats;
  return { batches, commands, batchAverage: batches === 0 ? 0 : commands / batches, largestBatch, retries };
}

export function summarizeVerify(report: VerifyReport): VerifySummary {
  const { ok, levels, events, pendingReservations, mismatchCount } = report;
  return { ok, levels, events, pendingReservations, mismatchCount };
}
