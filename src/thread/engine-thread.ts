import { Worker } from 'node:worker_threads';
import type { Config } from '../config.js';
import { type Command, domainError } from '../domain/index.js';
import { type EngineMetrics, noEngineMetrics } from '../engine/engine-metrics.js';
import { type Answer, type CommandExecutor, type EngineStats, emptyStats } from '../engine/executor.js';
import type { MetricsSnapshot, MetricsSource } from '../metrics/process-registry.js';
import { StartupError } from '../startup-error.js';
import type { FromWorker, ToWorker, WorkerStart } from './messages.js';

/** The worker's entry: the compiled worker beside it, or from the sources the TypeScript, through tsx. */
const workerEntry = new URL('../compose/engine-worker.boot.mjs', import.meta.url);

/**
 * The write path on a thread of its own. The engine, its store connections and its write
 * strategy live in a worker; this side forwards commands and resolves their answers. The
 * thread that serves HTTP therefore never waits for a batch's statements, its commit or its
 * sync, and the two run on two cores.
 *
 * Commands sent in one event-loop turn travel in one message, and the worker answers a turn's
 * worth of answers in one message: the engine batches them anyway.
 */
export class EngineThread implements CommandExecutor, MetricsSource {
  stats: EngineStats = emptyStats();
  private readonly worker: Worker;
  /** Commands sent and not yet answered, by sequence number. */
  private readonly waiting = new Map<
    number,
    { readonly commandId: string; readonly type: string; readonly resolve: (a: Answer) => void }
  >();
  /** Where this side counts the commands it answers itself: UNAVAILABLE once the thread is gone. */
  private readonly metrics: EngineMetrics;
  private readonly controls = new Map<number, () => void>();
  private readonly scrapes = new Map<number, (metrics: MetricsSnapshot | undefined) => void>();
  private outgoing: { seqs: number[]; commands: Command[] } | undefined;
  private nextSeq = 0;
  /** Why the thread stopped, once it has: every command is then answered UNAVAILABLE. */
  private failure: string | undefined;

  /** The thread's heap limits in MiB, as V8 applies them (the young generation is configured). */
  get heapLimits(): Worker['resourceLimits'] {
    return this.worker.resourceLimits;
  }

  private constructor(worker: Worker, metrics: EngineMetrics) {
    this.worker = worker;
    this.metrics = metrics;
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (error) => this.fail(`the engine thread failed: ${error.message}`));
    worker.on('exit', (code) => this.fail(`the engine thread exited (code ${code})`));
  }

  /**
   * Starts the worker; resolves once its engine is built, rejects with the reason it could not be.
   * `metrics` counts the commands this side answers itself (the thread's engine counts the rest).
   */
  static start(
    config: Config,
    clock: SharedArrayBuffer | undefined,
    metrics: EngineMetrics = noEngineMetrics,
  ): Promise<EngineThread> {
    const workerData: WorkerStart = { config, clock };
    const youngMb = config.engineYoungGenerationMb;
    const resourceLimits = youngMb === 0 ? {} : { maxYoungGenerationSizeMb: youngMb };
    const worker = new Worker(workerEntry, { workerData, resourceLimits });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the engine thread exited (code ${code}) before it started`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (message: FromWorker) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (message.kind === 'ready') resolve(new EngineThread(worker, metrics));
        else {
          const reason = message.kind === 'failed' ? message.message : `unexpected first message ${message.kind}`;
          void worker.terminate();
          const code = message.kind === 'failed' ? message.code : undefined;
          reject(code === undefined ? new Error(reason) : new StartupError(code, reason));
        }
      });
    });
  }

  /** Why the thread stopped, or undefined while it runs. */
  get stopped(): string | undefined {
    return this.failure;
  }

  execute(command: Command): Promise<Answer> {
    if (this.failure !== undefined) {
      this.metrics.answered(command.type, 'UNAVAILABLE');
      return Promise.resolve(unavailable(command.id, this.failure));
    }
    return new Promise((resolve) => {
      const seq = this.nextSeq++;
      this.waiting.set(seq, { commandId: command.id, type: command.type, resolve });
      if (this.outgoing === undefined) {
        this.outgoing = { seqs: [], commands: [] };
        setImmediate(() => this.flush());
      }
      this.outgoing.seqs.push(seq);
      this.outgoing.commands.push(command);
    });
  }

  drain(): Promise<void> {
    return this.control('drain');
  }

  async close(): Promise<void> {
    await this.control('close');
    this.failure ??= 'the engine thread is closed';
    await this.worker.terminate();
  }

  /**
   * The engine's metrics, from its thread's registry: asked at each scrape, answered between
   * two of the thread's batches (collecting reads counters; it touches no store).
   */
  snapshot(): Promise<MetricsSnapshot | undefined> {
    if (this.failure !== undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const seq = this.nextSeq++;
      this.scrapes.set(seq, resolve);
      this.post({ kind: 'metrics', seq });
    });
  }

  private control(kind: 'drain' | 'close'): Promise<void> {
    if (this.failure !== undefined) return Promise.resolve();
    this.flush();
    return new Promise((resolve) => {
      const seq = this.nextSeq++;
      this.controls.set(seq, resolve);
      this.post({ kind, seq });
    });
  }

  private flush(): void {
    const outgoing = this.outgoing;
    this.outgoing = undefined;
    if (outgoing !== undefined) this.post({ kind: 'execute', ...outgoing });
  }

  private post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  private receive(message: FromWorker): void {
    switch (message.kind) {
      case 'answers':
        this.stats = message.stats;
        message.seqs.forEach((seq, index) => {
          const waiting = this.waiting.get(seq);
          this.waiting.delete(seq);
          waiting?.resolve(message.answers[index] as Answer);
        });
        return;
      case 'done':
        this.stats = message.stats;
        this.controls.get(message.seq)?.();
        this.controls.delete(message.seq);
        return;
      case 'metrics':
        this.scrapes.get(message.seq)?.(message.metrics);
        this.scrapes.delete(message.seq);
        return;
      case 'failed':
        this.fail(message.message);
        return;
      case 'ready':
        return;
    }
  }

  /**
   * The thread is gone: what it had not answered may or may not have committed, so each of
   * those commands is answered UNAVAILABLE, which a client resolves by resending the same id.
   */
  private fail(reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    this.outgoing = undefined;
    for (const { commandId, type, resolve } of this.waiting.values()) {
      this.metrics.answered(type, 'UNAVAILABLE');
      resolve(unavailable(commandId, reason));
    }
    this.waiting.clear();
    for (const resolve of this.controls.values()) resolve();
    this.controls.clear();
    for (const resolve of this.scrapes.values()) resolve(undefined);
    this.scrapes.clear();
  }
}

function unavailable(commandId: string, reason: string): Answer {
  return {
    outcome: { ok: false, commandId, error: domainError('UNAVAILABLE', `${reason}; resend the same id`) },
    replayed: false,
  };
}
