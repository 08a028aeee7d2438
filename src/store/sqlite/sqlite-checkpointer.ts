import { Worker } from 'node:worker_threads';

/** The thread's entry: plain JavaScript, so it loads without the TypeScript loader. */
const workerEntry = new URL('./sqlite-checkpoint-worker.mjs', import.meta.url);

export interface CheckpointerOptions {
  readonly path: string;
  readonly intervalMs: number;
  readonly busyTimeoutMs: number;
}

/**
 * WAL checkpoints off the write path. A checkpoint copies the pages of committed WAL frames back
 * into the database file; when the writer does it (SQLite's automatic checkpoint, run inside a
 * commit), that commit holds the single write lock for as long as the copy takes, and with it
 * every order of its batch and of the next. Run on a thread of its own, a PASSIVE checkpoint
 * waits for nobody and holds nobody up; the writer restarts the WAL from its beginning once it
 * has been copied whole. The writer keeps a distant automatic checkpoint as a backstop, should
 * this thread fall behind or stop.
 */
export class SqliteCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  /** The last error the checkpoints met, if any (a busy database, a failing disk). */
  lastError: string | undefined;

  constructor(options: CheckpointerOptions) {
    this.worker = new Worker(workerEntry, { workerData: options });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (message: { kind: string; message?: string }) => {
      if (message.kind === 'error') this.lastError = message.message;
    });
    // A checkpoint thread that dies leaves the backstop to the writer: nothing to answer for.
    this.worker.on('error', (error) => {
      this.lastError = error.message;
    });
    this.worker.unref();
  }

  /** Lets a checkpoint under way finish, closes the thread's connection, and ends the thread. */
  async stop(): Promise<void> {
    this.worker.on('message', (message: { kind: string }) => {
      if (message.kind === 'stopped') void this.worker.terminate();
    });
    // Held by the thread only while it stops: a closing process waits for its connection to close.
    this.worker.ref();
    this.worker.postMessage({ kind: 'stop' });
    await this.exited;
  }
}
