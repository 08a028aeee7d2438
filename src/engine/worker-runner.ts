import { Worker } from 'node:worker_threads';
import type { Config } from '../config.js';
import type { DecideContext } from '../domain/index.js';
import { StoreError, type StoreErrorKind } from '../store/port.js';
import type { Answer, PendingCommand } from './batch.js';
import type { BatchRunner } from './batch-runner.js';

/** What the main thread asks the writer thread, and what it answers. */
export type WorkerRequest =
  | { readonly kind: 'batch'; readonly id: number; readonly batch: PendingCommand[]; readonly context: DecideContext }
  | { readonly kind: 'close' };

export type WorkerReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'answers'; readonly id: number; readonly answers: Answer[] }
  | {
      readonly kind: 'failed';
      readonly id: number;
      readonly error: { errorKind: StoreErrorKind; code: string | undefined; message: string };
    }
  | { readonly kind: 'closed' };

interface Pending {
  readonly resolve: (answers: Answer[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Runs batches on a writer thread that owns its own store connection. The main thread keeps
 * HTTP, validation and fingerprints; the thread does the transaction, including the disk sync
 * that a synchronous driver (better-sqlite3) would otherwise wait for on the event loop.
 */
export class WorkerRunner implements BatchRunner {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: Error | undefined;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (reply: WorkerReply) => this.receive(reply));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`the writer thread exited with code ${code}`)));
  }

  /** Starts the thread on the store `config` names; the store must already be migrated. */
  static async start(config: Config, itemCacheMax: number): Promise<WorkerRunner> {
    // From the TypeScript sources the thread first registers the loader this thread runs with.
    const source = import.meta.url.endsWith('.ts');
    const entry = new URL(`./batch-worker.${source ? 'ts' : 'js'}`, import.meta.url).href;
    const script = source ? new URL('./batch-worker-loader.mjs', import.meta.url) : new URL(entry);
    const worker = new Worker(script, { workerData: { config, itemCacheMax, entry } });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (reply: WorkerReply) => {
        if (reply.kind !== 'ready') return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        resolve();
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    return new WorkerRunner(worker);
  }

  run(batch: readonly PendingCommand[], context: DecideContext): Promise<Answer[]> {
    if (this.failure !== undefined) {
      return Promise.reject(new StoreError('unavailable', this.failure.message, { cause: this.failure }));
    }
    const id = this.nextId++;
    // Only data crosses the thread boundary: the callers' resolvers stay here.
    const request: WorkerRequest = {
      kind: 'batch',
      id,
      batch: batch.map(({ command, fingerprint }) => ({ command, fingerprint })),
      context,
    };
    return new Promise<Answer[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    if (this.failure !== undefined) return;
    const closed = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ kind: 'close' } satisfies WorkerRequest);
    await closed;
  }

  private receive(reply: WorkerReply): void {
    if (reply.kind !== 'answers' && reply.kind !== 'failed') return;
    const pending = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (reply.kind === 'answers') pending?.resolve(reply.answers);
    else pending?.reject(new StoreError(reply.error.errorKind, reply.error.message, { code: reply.error.code }));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const { reject } of this.pending.values())
      reject(new StoreError('unavailable', error.message, { cause: error }));
    this.pending.clear();
  }
}
