import { Worker } from 'node:worker_threads';
import type { Config } from '../config.js';
import type { Crossing } from '../events/read-side/projection.js';
import type { Log } from '../log.js';

// The projector on a thread of its own, seen from the thread that started it.

export type ProjectorToWorker = { readonly kind: 'stop' };

export type ProjectorFromWorker =
  | { readonly kind: 'ready' }
  | { readonly kind: 'stopped' }
  /** A page's low-stock crossings, once it has committed. */
  | { readonly kind: 'crossings'; readonly crossings: readonly Crossing[] };

const workerEntry = new URL('./projector-worker.boot.mjs', import.meta.url);

export class ProjectorThread {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  private constructor(worker: Worker, onCrossings: (crossings: readonly Crossing[]) => void, log: Log) {
    this.worker = worker;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: ProjectorFromWorker) => {
      if (message.kind === 'crossings') onCrossings(message.crossings);
    });
    // The read models stop moving; every query still answers, and says how far behind it is.
    worker.on('error', (error) =>
      log.error({ err: error }, 'the projector thread stopped; the read models fall behind'),
    );
  }

  /** Starts the thread; resolves once its projector runs. */
  static start(
    config: Config,
    onCrossings: (crossings: readonly Crossing[]) => void,
    log: Log,
  ): Promise<ProjectorThread> {
    const worker = new Worker(workerEntry, { workerData: { config } });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) =>
        reject(new Error(`the projector thread exited (code ${code}) before it started`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (message: ProjectorFromWorker) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (message.kind === 'ready') resolve(new ProjectorThread(worker, onCrossings, log));
        else reject(new Error(`the projector thread said ${message.kind} before it started`));
      });
    });
  }

  /** Lets the page under way commit, closes the thread's connections, and ends it. */
  async stop(): Promise<void> {
    this.worker.on('message', (message: ProjectorFromWorker) => {
      if (message.kind === 'stopped') void this.worker.terminate();
    });
    this.worker.postMessage({ kind: 'stop' } satisfies ProjectorToWorker);
    await this.exited;
  }
}
