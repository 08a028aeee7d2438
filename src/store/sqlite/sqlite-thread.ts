import { Worker } from 'node:worker_threads';
import type { Log } from '../../log.js';

/**
 * A thread of the SQLite store's own, with a connection of its own, doing work off the write
 * path at an interval (checkpoints, the item history). Its entry is plain JavaScript, so it
 * loads without the TypeScript loader. The protocol: the thread reports failures as
 * `{ kind: 'error', message }`; asked `{ kind: 'stop' }`, it finishes the work under way,
 * closes its connections and answers `{ kind: 'stopped' }`.
 */
export class SqliteThread {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  /** Failures the thread's work met (a busy database, a failing disk), each logged. */
  errors = 0;

  /** `name` says which thread in the log: 'checkpointer', 'item history'. */
  constructor(entry: URL, workerData: object, name: string, log: Log) {
    this.worker = new Worker(entry, { workerData });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (message: { kind: string; message?: string }) => {
      if (message.kind !== 'error') return;
      this.errors += 1;
      log.warn(
        { thread: name, cause: message.message, errors: this.errors },
        'a SQLite thread failed a pass; it tries again',
      );
    });
    // Each such thread's work has a backstop on the write path or the read path: a thread that
    // dies leaves nothing unanswered.
    this.worker.on('error', (error) => {
      this.errors += 1;
      log.error({ thread: name, err: error }, 'a SQLite thread stopped; its work falls back on the writer and readers');
    });
    this.worker.unref();
  }

  /** Lets the work under way finish, closes the thread's connections, and ends the thread. */
  async stop(): Promise<void> {
    this.worker.on('message', (message: { kind: string }) => {
      if (message.kind === 'stopped') void this.worker.terminate();
    });
    // Held by the thread only while it stops: a closing process waits for its connections to close.
    this.worker.ref();
    this.worker.postMessage({ kind: 'stop' });
    await this.exited;
  }
}
