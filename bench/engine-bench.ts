import { createRuntime, type Runtime } from '../src/compose/runtime.js';
import { type Config, loadConfig } from '../src/config.js';
import { levelKey, type StockLine } from '../src/domain/index.js';
import type { Answer, CommandExecutor, EngineStats } from '../src/engine/executor.js';
import type { Strategy } from '../src/engine/strategies.js';
import type { Store } from '../src/store/port.js';
import { type VerifyReport, verify } from '../src/verify/verify.js';
import { type ServerUrls, type StoreKind, withBenchDatabase } from './databases.js';
import {
  type CpuUse,
  countOf,
  deadlockCodes,
  increment,
  type LatencySummary,
  lockTimeoutCodes,
  mergeCounts,
  serverProcessNames,
  startCpuWindow,
  summarizeLatencies,
} from './measure.js';
import {
  ordersPerRunMax,
  reserveOrder,
  seededRandom,
  setupWorkload,
  type Workload,
  type WorkloadName,
  workloads,
} from './workload.js';

// One engine cell: a fresh database, the workload set up through the engine, then a closed loop
// of `inFlight` callers, each sending its next order as soon as the previous one is answered.

export type Mode = 'reserve' | 'reserve-commit';

export interface EngineCellSpec {
  readonly store: StoreKind;
  /** Write path, through SKULD_STRATEGY as a deployment would choose it. */
  readonly strategy: Strategy;
  readonly workload: WorkloadName;
  readonly mode: Mode;
  readonly inFlight: number;
  readonly durationMs: number;
  /** Unmeasured load first, through a runtime of its own: JIT, caches and files warm up. */
  readonly warmupMs: number;
  readonly seed: number;
  readonly urls: ServerUrls;
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

/** The levels against what the answers said: every unit a successful order was promised is held. */
export interface HoldsSummary {
  /** Units reserved beyond on hand, plus promised units not held, plus shipped units not deducted. */
  readonly oversoldUnits: number;
  /** Levels whose reserved or on-hand figure differs from the successful orders' sum. */
  readonly mismatchedLevels: number;
}

export interface EngineCellResult extends Omit<EngineCellSpec, 'urls'>, LatencySummary {
  /** Failed answers by error code, warm-up included; only INSUFFICIENT_STOCK is acceptable. */
  readonly errors: Readonly<Record<string, number>>;
  readonly engine: EngineSummary;
  /** Retryable store conflicts by code, warm-up included (the engine retried them). */
  readonly conflicts: Readonly<Record<string, number>>;
  /** Deadlocks the database detected (PostgreSQL 40P01, MySQL 1213), warm-up included. */
  readonly deadlocks: number;
  /** Lock waits that timed out (PostgreSQL 55P03, MySQL 1205), warm-up included. */
  readonly lockTimeouts: number;
  readonly holds: HoldsSummary;
  readonly cpu: CpuUse;
  readonly verify: VerifySummary;
  /** Wall time of each phase of the cell, drains included. */
  readonly phasesMs: PhaseTimes;
}

export interface PhaseTimes {
  readonly setup: number;
  readonly warmup: number;
  readonly measured: number;
  readonly checks: number;
}

/**
 * Callers of the warm-up. It warms code, caches and files, which takes no more than this; and
 * a per-order strategy answers a few hundred orders/s, so 1,024 callers would leave seconds of
 * queued orders to drain after its deadline.
 */
const warmupInFlightMax = 64;

/**
 * A cell measures the engine itself, in the thread of its callers, unless SKULD_ENGINE_THREAD
 * says otherwise; the HTTP bench measures the app as it is deployed, with its engine thread.
 */
export const cellEngineThread = process.env.SKULD_ENGINE_THREAD ?? 'off';

export async function runEngineCell(spec: EngineCellSpec): Promise<EngineCellResult> {
  const workload = workloads[spec.workload];
  return withBenchDatabase(spec.store, spec.urls, async (database) => {
    const config = loadConfig({
      ...process.env,
      ...database.env,
      SKULD_STRATEGY: spec.strategy,
      SKULD_ENGINE_THREAD: cellEngineThread,
      // A cell measures the write path alone: the read side's projector and the relays are
      // measured beside the engine's load by `--events`.
      SKULD_PROJECTOR: 'off',
      SKULD_RELAY: 'none',
    });
    const startedAt = performance.now();
    const runtime = await createRuntime(config);
    try {
      await setupWorkload(runtime.store, workload);
      const setupDoneAt = performance.now();
      const random = seededRandom(spec.seed);
      const tally = new Tally();
      // The warm-up runs on a runtime of its own (same strategy): the measured engine counts
      // measured orders only.
      const warm = await withRuntime(config, async ({ engine }) => {
        const callers = Math.min(spec.inFlight, warmupInFlightMax);
        const run = await closedLoop(callers, spec.warmupMs, orderRunner(engine, spec, tally, random, 'w'));
        return { run, conflicts: new Map(Object.entries(engine.stats.conflicts)) };
      });
      const { engine } = runtime;
      const warmupDoneAt = performance.now();
      const endCpuWindow = startCpuWindow(serverProcessNames[spec.store]);
      const loop = await closedLoop(spec.inFlight, spec.durationMs, orderRunner(engine, spec, tally, random, ''));
      await engine.drain();
      const cpu = endCpuWindow();
      const measuredAt = performance.now();
      const conflicts = mergeCounts(warm.conflicts, new Map(Object.entries(engine.stats.conflicts)));
      const holds = await checkHolds(runtime.store, tally, workload);
      const verified = summarizeVerify(await verify(runtime.store));
      const { urls: _, ...cell } = spec;
      return {
        ...cell,
        ...summarizeLatencies(loop.latencies, loop.elapsedMs),
        errors: Object.fromEntries(mergeCounts(warm.run.errors, loop.errors)),
        engine: summarizeEngine(engine.stats),
        conflicts: Object.fromEntries(conflicts),
        deadlocks: countOf(conflicts, deadlockCodes),
        lockTimeouts: countOf(conflicts, lockTimeoutCodes),
        holds,
        cpu,
        verify: verified,
        phasesMs: {
          setup: setupDoneAt - startedAt,
          warmup: warmupDoneAt - setupDoneAt,
          measured: measuredAt - warmupDoneAt,
          checks: performance.now() - measuredAt,
        },
      };
    } finally {
      await runtime.close();
    }
  });
}

async function withRuntime<T>(config: Config, work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await createRuntime(config);
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

const keyOf = (level: Pick<StockLine, 'sku' | 'location'>) => levelKey(level.sku, level.location);

/** What the answers promised, per level: units held by pending reservations, units shipped. */
class Tally {
  private readonly held = new Map<string, number>();
  private readonly shipped = new Map<string, number>();

  reserved(lines: readonly StockLine[]): void {
    for (const line of lines) increment(this.held, keyOf(line), line.quantity);
  }

  committed(lines: readonly StockLine[]): void {
    for (const line of lines) {
      increment(this.held, keyOf(line), -line.quantity);
      increment(this.shipped, keyOf(line), line.quantity);
    }
  }

  heldAt(key: string): number {
    return this.held.get(key) ?? 0;
  }

  shippedAt(key: string): number {
    return this.shipped.get(key) ?? 0;
  }
}

const levelPageSize = 10_000;

/** Compares every level with the tally; stock was received once per item, nothing else moved it. */
async function checkHolds(store: Store, tally: Tally, workload: Workload): Promise<HoldsSummary> {
  let oversoldUnits = 0;
  let mismatchedLevels = 0;
  let after: Parameters<Store['scanLevels']>[0];
  for (let page = 0; page * levelPageSize <= workload.itemCount; page += 1) {
    const levels = await store.scanLevels(after, levelPageSize);
    for (const level of levels) {
      const key = keyOf(level);
      const held = tally.heldAt(key);
      const onHandExpected = workload.stockPerItem - tally.shippedAt(key);
      oversoldUnits +=
        Math.max(0, level.reserved - level.onHand) +
        Math.max(0, held - level.reserved) +
        Math.max(0, level.onHand - onHandExpected);
      if (level.reserved !== held || level.onHand !== onHandExpected) mismatchedLevels += 1;
    }
    if (levels.length < levelPageSize) break;
    after = levels[levels.length - 1];
  }
  return { oversoldUnits, mismatchedLevels };
}

export type OrderRun = (orderIndex: number) => Promise<string | undefined>;

/** Sends order `orderIndex` and answers its error code, or undefined when it succeeded. */
function orderRunner(
  engine: CommandExecutor,
  spec: EngineCellSpec,
  tally: Tally,
  random: () => number,
  idPrefix: string,
): OrderRun {
  const workload = workloads[spec.workload];
  return async (index) => {
    const order = reserveOrder(workload, random, `${idPrefix}o${index}`);
    const held = failure(await engine.execute(order));
    if (held !== undefined) return held;
    tally.reserved(order.lines);
    if (spec.mode === 'reserve') return undefined;
    const commit = { type: 'CommitReservation', id: `${idPrefix}c${index}`, reservationId: order.id } as const;
    const shipped = failure(await engine.execute(commit));
    if (shipped === undefined) tally.committed(order.lines);
    return shipped;
  };
}

function failure({ outcome }: Answer): string | undefined {
  return outcome.ok ? undefined : outcome.error.code;
}

export interface LoopOutcome {
  readonly latencies: number[];
  readonly errors: Map<string, number>;
  readonly elapsedMs: number;
}

/** Bounded twice: no caller starts an order after the deadline or past ordersPerRunMax. */
export async function closedLoop(inFlight: number, durationMs: number, run: OrderRun): Promise<LoopOutcome> {
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
  return { latencies, errors, elapsedMs: performance.now() - startedAt };
}

export function summarizeEngine(stats: EngineStats): EngineSummary {
  const { batches, commands, largestBatch, retries } = stats;
  return { batches, commands, batchAverage: batches === 0 ? 0 : commands / batches, largestBatch, retries };
}

export function summarizeVerify(report: VerifyReport): VerifySummary {
  const { ok, levels, events, pendingReservations, mismatchCount } = report;
  return { ok, levels, events, pendingReservations, mismatchCount };
}
