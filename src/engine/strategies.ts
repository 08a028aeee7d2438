import type { Log } from '../log.js';
import { StartupError } from '../startup-error.js';
import type { Store, StoreCapabilities } from '../store/port.js';
import { type BatchRunner, InProcessRunner } from './batch-runner.js';
import type { EngineOptions } from './engine.js';
import { RedlockRunner } from './redlock-runner.js';

// The write paths a deployment can choose. All decide with the same domain code, record the same
// ledger and idempotency records, and lock in the same global order; they differ in how many
// commands share a transaction and in what keeps two writers of one level apart.

export const strategies = ['batched', 'pessimistic', 'optimistic', 'redlock'] as const;
export type Strategy = (typeof strategies)[number];

/**
 * What each needs of the store. Per-order strategies compare ways of keeping concurrent writers
 * of one level apart: with a single writer (SQLite) there are none to keep apart, so only the
 * batched path means anything there.
 */
const strategyNeeds: Readonly<Record<Strategy, readonly (keyof StoreCapabilities)[]>> = {
  batched: [],
  pessimistic: ['rowLocks', 'concurrentWriters'],
  optimistic: ['concurrentWriters'],
  redlock: ['concurrentWriters'],
};

export function strategyApplies(strategy: Strategy, capabilities: StoreCapabilities): boolean {
  return strategyNeeds[strategy].every((need) => capabilities[need]);
}

/**
 * Batches in flight on the batched path. Where writers may run concurrently, a second batch is
 * sent while the first commits: its lock requests queue in the server, which goes from one commit
 * straight to the next batch while this process answers the first batch's callers and gathers
 * the next. Two in flight are exactly as safe as two processes (the same lock order, the ledger
 * head last). A single writer writes one transaction at a time.
 */
const batchedPipelineDepth = (capabilities: StoreCapabilities) => (capabilities.concurrentWriters ? 2 : 1);

export interface StrategySettings {
  /** Transactions in flight at once for the one-command-per-transaction paths. */
  readonly concurrency: number;
  readonly itemCacheMax: number;
  readonly redisUrl: string;
  readonly redlockTtlMs: number;
  /** Retries of a command whose compare-and-set missed (optimistic) or whose lock was busy. */
  readonly retryCountMax: number;
  /** Where the redlock path reports locks it could not release. */
  readonly log: Log;
}

export interface WritePath {
  readonly options: Partial<EngineOptions>;
  readonly runner: BatchRunner;
}

/** Throws STRATEGY_UNSUPPORTED when the strategy does not apply to the store (named `storeName`). */
export function checkStrategy(strategy: Strategy, capabilities: StoreCapabilities, storeName: string): void {
  const missing = strategyNeeds[strategy].filter((need) => !capabilities[need]);
  if (missing.length > 0) {
    throw new StartupError(
      'STRATEGY_UNSUPPORTED',
      `the ${strategy} strategy needs ${missing.map((need) => capabilityNames[need]).join(' and ')}, ` +
        `which ${storeName} does not have; ${storeName} runs the batched strategy`,
    );
  }
}

const capabilityNames: Readonly<Record<keyof StoreCapabilities, string>> = {
  rowLocks: 'row locks',
  concurrentWriters: 'concurrent writers',
};

/**
 * - batched: many commands per transaction, rows locked in global order (the default).
 * - pessimistic: one command per transaction, SELECT … FOR UPDATE on its levels in global order.
 * - optimistic: one command per transaction, no row locks; each level write compares and sets
 *   its version, and a miss is retried with jittered backoff up to retryCountMax.
 * - redlock: one command per transaction under Redis locks with a fencing token.
 */
export async function writePath(strategy: Strategy, store: Store, settings: StrategySettings): Promise<WritePath> {
  checkStrategy(strategy, store.capabilities, store.dialect);
  const single = { batchSizeMax: 1, pipelineDepthMax: settings.concurrency, batchRetryMax: settings.retryCountMax };
  switch (strategy) {
    case 'batched':
      return {
        options: { pipelineDepthMax: batchedPipelineDepth(store.capabilities) },
        runner: new InProcessRunner(store, settings.itemCacheMax),
      };
    case 'pessimistic':
      return { options: single, runner: new InProcessRunner(store, settings.itemCacheMax) };
    case 'optimistic':
      return { options: single, runner: new InProcessRunner(store, settings.itemCacheMax, { kind: 'version' }) };
    case 'redlock': {
      const inner = new InProcessRunner(store, settings.itemCacheMax, { kind: 'version' });
      const runner = await RedlockRunner.start(inner, store, {
        redisUrl: settings.redisUrl,
        lockTtlMs: settings.redlockTtlMs,
        acquireAttemptsMax: 50,
        log: settings.log,
      });
      return { options: single, runner };
    }
  }
}
