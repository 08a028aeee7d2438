import type { Log } from '../../log.js';
import { SqliteThread } from './sqlite-thread.js';

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
export function startCheckpointer(options: CheckpointerOptions, log: Log): SqliteThread {
  return new SqliteThread(workerEntry, options, 'checkpointer', log);
}
