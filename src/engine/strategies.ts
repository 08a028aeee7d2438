import type { Log } from '../log.js';
import { StartupError } from '../startup-error.js';
import type { Dialect, Store } from '../store/port.js';
import { type BatchRunner, InProcessRunner } from './batch-runner.js';
import type { EngineOptions } from './engine.js';
import { RedlockRunner } from './redlock-runner.js';

// The write paths a deployment can choose. All decide with the same domain code, record the same
// ledger and idempotency records, and lock in the same global order; they differ in how many
// commands share a transaction and in what keeps two writers of one level apart.

export const strategies = ['batched', 'pessimistic', 'optimistic', 'redlock'] as const;
export type Strategy = (typeof strategies)[number];

/**
 * Where each applies. SQLite has a single writer: there are no row locks to take or to avoid,
 * so only the batched path means anything there.
 */
export const strategyDialects: Readonly<Record<Strategy, readonly Dialect[]>> = {
  batched: ['sqlite', 'postgres', 'mysql'],
  pessimistic: ['postgres', 'mysql'],
  optimistic: ['postgres', 'mysql'],
  redlock: ['postgres', 'mysql'],
};

/**
 * Batches in flight on the batched path. On a database server a second batch is sent while the
 * first commits: its lock requests queue in the server, which goes from one commit straight to
 * the next batch while this process answers the first batch's callers and gathers the next.
 * Two in flight are exactly as safe as two processes (the same lock order, the ledger head last).
 * SQLite writes through one connection, one transaction at a time.
 */
const batchedPipelineDepth: Readonly<Record<Dialect, number>> = { sqlite: 1, postgres: 2, mysql: 2 };

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

/** Throws STRATEGY_UNSUPPORTED when the strategy does not apply to the store. */
export function checkStrategy(strategy: Strategy, dialect: Dialect): void {
  const allowed = strategyDialects[strategy];
  if (!allowed.includes(dialect)) {
    throw new StartupError(
      'STRATEGY_UNSUPPORTED',
      `the ${strategy} strategy does not apply to ${dialect} (it applies to ${allowed.join(', ')}); ` +
        `${dialect} runs the batched strategy`,
    );
  }
}

/**
 * - batched: many commands per transaction, rows locked in global order (the default).
 * - pessimistic: one command per transaction, SELECT … FOR UPDATE on its levels in global order.
 * - optimistic: one command per transaction, no row locks; each level write compares and sets
 *   its version, and a miss is retried with jittered backoff up to retryCountMax.
 * - redlock: one command per transaction under Redis locks with a fencing token.
 */
export async function writePath(strategy: Strategy, store: Store, settings: StrategySettings): Promise<WritePath> {
  checkStrategy(strategy, store.dialect);
  const single = { batchSizeMax: 1, pipelineDepthMax: settings.concurrency, batchRetryMax: settings.retryCountMax };
  switch (strategy) {
    case 'batched':
      return {
        options: { pipelineDepthMax: batchedPipelineDepth[store.dialect] },
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
