import { type Command, type DecideContext, domainError, validateCommand } from '../domain/index.js';
import { type Log, silentLog } from '../log.js';
import { type Store, StoreError } from '../store/port.js';
import type { PendingCommand } from './batch.js';
import { type BatchRunner, InProcessRunner } from './batch-runner.js';
import { type EngineMetrics, noEngineMetrics } from './engine-metrics.js';
import { type Answer, type CommandExecutor, type EngineStats, emptyStats } from './executor.js';
import { fingerprint } from './fingerprint.js';

export interface EngineOptions {
  /** Most commands decided in one transaction. */
  readonly batchSizeMax: number;
  /** How long an idle engine waits for more commands before it starts a batch; 0: next tick. */
  readonly batchWaitMs: number;
  /** Most commands waiting for a batch; beyond it the engine answers OVERLOADED. */
  readonly queueDepthMax: number;
  /**
   * Most batches in flight at once. The batched path runs one on SQLite and two on a database
   * server (see strategies.ts); the one-command-per-transaction strategies run as many as the
   * pool has connections for.
   */
  readonly pipelineDepthMax: number;
  /** Most items the engine keeps in memory (items are immutable, so never stale). */
  readonly itemCacheMax: number;
  /** Backoff before retry n: a random wait up to min(retryBackoffMsMax, retryBackoffMsBase·2ⁿ). */
  readonly retryBackoffMsBase: number;
  readonly retryBackoffMsMax: number;
  /** Times a batch is re-run after a retryable store conflict before its commands fail. */
  readonly batchRetryMax: number;
  readonly reservationTtlMsDefault: number;
  readonly reservationTtlMsMax: number;
  /** The engine's clock: decides expiry and stamps events. */
  readonly clock: () => number;
  /** Where refusals by the store and other failures are reported; each batch at debug. */
  readonly log: Log;
  /** Where commands, batches, transactions and conflicts are counted. */
  readonly metrics: EngineMetrics;
}

export const engineDefaults: EngineOptions = {
  batchSizeMax: 2048,
  batchWaitMs: 0,
  queueDepthMax: 100_000,
  pipelineDepthMax: 1,
  itemCacheMax: 100_000,
  retryBackoffMsBase: 1,
  retryBackoffMsMax: 50,
  batchRetryMax: 8,
  reservationTtlMsDefault: 15 * 60_000,
  reservationTtlMsMax: 24 * 60 * 60_000,
  clock: Date.now,
  log: silentLog,
  metrics: noEngineMetrics,
};

/**
 * Most transactions one batch may spend isolating the commands the store refuses: a single bad
 * command in a batch of 2,048 costs 2·log₂(2048) = 22; a store that refuses everything would
 * cost twice the batch.
 */
export const isolationAttemptsMax = 64;

interface Waiting extends PendingCommand {
  readonly resolve: (answer: Answer) => void;
}

/**
 * The sequencer. Commands from any number of callers queue here; one batch at a time is
 * decided and written in a single transaction, and every caller is answered after commit.
 * A hot level therefore changes once per batch, not once per order.
 */
export class Engine implements CommandExecutor {
  readonly stats: EngineStats = emptyStats();
  /** An engine in this thread stops only with the process; a store it cannot reach fails each batch. */
  readonly stopped = undefined;
  private readonly options: EngineOptions;
  private readonly runner: BatchRunner;
  private readonly log: Log;
  private readonly metrics: EngineMetrics;
  private queue: Waiting[] = [];
  private scheduled = false;
  private inFlight = 0;
  private idle: (() => void)[] = [];
  /** OVERLOADED answers since the last batch finished, logged with it. */
  private overloadedSinceLog = 0;

  /** Runs each batch through `runner`: one transaction, held as the write strategy says. */
  constructor(runner: BatchRunner, options: Partial<EngineOptions> = {}) {
    this.options = { ...engineDefaults, ...options };
    this.runner = runner;
    this.log = this.options.log;
    this.metrics = this.options.metrics;
  }

  /** The batched write path on `store`, in this thread: rows locked in global order. */
  static on(store: Store, options: Partial<EngineOptions> = {}): Engine {
    return new Engine(new InProcessRunner(store, options.itemCacheMax ?? engineDefaults.itemCacheMax), options);
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  /** Decides one command. Never throws for an operating error: the outcome carries it. */
  execute(command: Command): Promise<Answer> {
    const invalid = validateCommand(command);
    if (invalid !== null) {
      this.metrics.answered(command.type, invalid.code);
      return Promise.resolve(rejected(command.id, invalid));
    }
    if (this.queue.length >= this.options.queueDepthMax) {
      this.stats.overloaded += 1;
      this.overloadedSinceLog += 1;
      this.metrics.answered(command.type, 'OVERLOADED');
      return Promise.resolve(
        rejected(command.id, domainError('OVERLOADED', 'the engine queue is full; retry with the same id')),
      );
    }
    return new Promise<Answer>((resolve) => {
      this.queue.push({ command, fingerprint: fingerprint(command), resolve });
      this.schedule();
    });
  }

  /** Answers every queued command, then stops the runner. */
  async close(): Promise<void> {
    await this.drain();
    await this.runner.close();
  }

  /** Resolves when every queued command has been answered. */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.pipelineDepthMax) return;
    this.scheduled = true;
    // Commands sent in the same tick (or within batchWaitMs) share a batch.
    const start = () => {
      this.scheduled = false;
      this.pump();
    };
    if (this.options.batchWaitMs > 0) setTimeout(start, this.options.batchWaitMs);
    else setImmediate(start);
  }

  private pump(): void {
    while (this.inFlight < this.options.pipelineDepthMax && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.batchSizeMax);
      this.inFlight += 1;
      const startedAt = performance.now();
      void this.runIsolating(batch).then((answers) => this.finish(batch, answers, startedAt));
    }
  }

  private finish(batch: readonly Waiting[], answers: readonly Answer[], startedAt: number): void {
    if (this.overloadedSinceLog > 0) {
      // One line per batch while the queue overflows, not one per refused command.
      const refused = this.overloadedSinceLog;
      this.overloadedSinceLog = 0;
      this.log.warn({ refused, queueDepthMax: this.options.queueDepthMax }, 'the engine queue was full: OVERLOADED');
    }
    this.inFlight -= 1;
    this.stats.batches += 1;
    this.stats.commands += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    let refused = 0;
    for (const [index, waiting] of batch.entries()) {
      const answer = answers[index] as Answer;
      const { outcome } = answer;
      if (!outcome.ok) refused += 1;
      this.metrics.answered(waiting.command.type, outcome.ok ? 'ok' : outcome.error.code);
      waiting.resolve(answer);
    }
    this.metrics.batch(batch.length);
    this.log.debug(
      {
        commands: batch.length,
        refused,
        batchMs: roundMs(performance.now() - startedAt),
        queueDepth: this.queue.length,
      },
      'batch answered',
    );
    if (this.queue.length > 0) this.schedule();
    else if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  /**
   * Runs a batch. A batch the store refuses for a reason that is neither a retryable conflict
   * nor the store being out of reach (a value it cannot hold, a constraint) is split in halves,
   * run in order, until the command it refuses stands alone: that command is refused, and every
   * other one is decided as if it had never come. Splitting is bounded: past
   * isolationAttemptsMax transactions the store is failing everything, not one command, and what
   * is left fails with the store's error.
   */
  private async runIsolating(
    batch: readonly Waiting[],
    budget = { attempts: isolationAttemptsMax },
  ): Promise<Answer[]> {
    const result = await this.runWithRetry(batch);
    if (result.ok) return result.answers;
    const { failure } = result;
    const refusedByStore = !(failure instanceof StoreError) || failure.kind === 'internal';
    if (!refusedByStore || budget.attempts <= 0) {
      const error = storeFailure(failure);
      this.log.warn(
        { commands: batch.length, code: error.code, err: failure },
        'a batch failed; nothing of it was written',
      );
      return batch.map(({ command }) => rejected(command.id, error));
    }
    if (batch.length === 1) {
      const { command } = batch[0] as Waiting;
      this.stats.isolated += 1;
      this.log.error({ commandId: command.id, type: command.type, err: failure }, 'the store refused a command');
      return [rejected(command.id, storeRejected(failure))];
    }
    this.stats.splits += 1;
    budget.attempts -= 2;
    const middle = Math.ceil(batch.length / 2);
    const head = await this.runIsolating(batch.slice(0, middle), budget);
    const tail = await this.runIsolating(batch.slice(middle), budget);
    return [...head, ...tail];
  }

  /** Runs a batch, again after each retryable conflict up to batchRetryMax; the last failure otherwise. */
  private async runWithRetry(
    batch: readonly Waiting[],
  ): Promise<{ ok: true; answers: Answer[] } | { ok: false; failure: unknown }> {
    for (let attempt = 0; ; attempt += 1) {
      const context = this.context();
      const startedAt = performance.now();
      try {
        const answers = await this.runner.run(batch, context);
        this.metrics.transaction((performance.now() - startedAt) / 1000);
        return { ok: true, answers };
      } catch (error) {
        this.metrics.transaction((performance.now() - startedAt) / 1000);
        const retryable = error instanceof StoreError && error.kind === 'conflict';
        if (retryable) {
          const code = error.code ?? 'unknown';
          this.stats.conflicts[code] = (this.stats.conflicts[code] ?? 0) + 1;
          this.metrics.conflict(error.conflict);
        }
        if (retryable && attempt < this.options.batchRetryMax) {
          this.stats.retries += 1;
          this.metrics.retry();
          await this.backoff(attempt);
          continue;
        }
        return { ok: false, failure: error };
      }
    }
  }

  /** Jittered exponential backoff, so that writers that collided do not collide again in step. */
  private backoff(attempt: number): Promise<void> {
    const ceilingMs = Math.min(this.options.retryBackoffMsMax, this.options.retryBackoffMsBase * 2 ** attempt);
    return new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
  }

  private context(): DecideContext {
    return {
      now: this.options.clock(),
      reservationTtlMsDefault: this.options.reservationTtlMsDefault,
      reservationTtlMsMax: this.options.reservationTtlMsMax,
    };
  }
}

const roundMs = (ms: number) => Math.round(ms * 10) / 10;

function rejected(commandId: string, error: ReturnType<typeof domainError>): Answer {
  return { outcome: { ok: false, commandId, error }, replayed: false };
}

/** A command refused alone: the store's refusal, or (any other error) a bug in the write path. */
function storeRejected(error: unknown) {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof StoreError)) return domainError('INTERNAL', `the command could not be decided: ${message}`);
  return domainError('STORE_REJECTED', `the store refused to write the command: ${message}`, { code: error.code });
}

function storeFailure(error: unknown) {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof StoreError) || error.kind === 'internal') {
    return domainError('INTERNAL', `the batch failed: ${message}`);
  }
  if (error.kind === 'conflict') {
    // Every attempt lost to a concurrent writer; none of them was committed.
    return domainError(
      'CONCURRENCY_CONFLICT',
      `gave up after repeated conflicts (${error.code ?? 'conflict'}): ${message}`,
      {
        conflict: error.code,
      },
    );
  }
  // The batch did not commit, or its commit was not confirmed: resending the same ids is safe,
  // a committed command replays its stored result.
  return domainError('UNAVAILABLE', `the store did not confirm the batch: ${message}`);
}
