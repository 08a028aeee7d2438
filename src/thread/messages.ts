import type { Config } from '../config.js';
import type { Command } from '../domain/index.js';
import type { Answer, EngineStats } from '../engine/executor.js';
import type { MetricsSnapshot } from '../metrics/process-registry.js';
import type { StartupErrorCode } from '../startup-error.js';

// What the engine thread and the thread that started it say to each other. Commands and answers
// travel in lists, one message per event-loop turn on each side, not one per command.

export interface WorkerStart {
  readonly config: Config;
  /** The time source: a SharedClock's buffer; absent: the system clock. */
  readonly clock: SharedArrayBuffer | undefined;
}

export type ToWorker =
  | { readonly kind: 'execute'; readonly seqs: readonly number[]; readonly commands: readonly Command[] }
  /** Answer when everything sent before it is answered (`close`: then stop the engine and the store). */
  | { readonly kind: 'drain' | 'close'; readonly seq: number }
  /** Send the thread's metrics (a scrape of /metrics on the thread that serves it). */
  | { readonly kind: 'metrics'; readonly seq: number };

export type FromWorker =
  | { readonly kind: 'ready' }
  /** The engine could not start (code: a StartupError's) or the thread stopped. */
  | { readonly kind: 'failed'; readonly message: string; readonly code?: StartupErrorCode }
  | {
      readonly kind: 'answers';
      readonly seqs: readonly number[];
      readonly answers: readonly Answer[];
      readonly stats: EngineStats;
    }
  | { readonly kind: 'done'; readonly seq: number; readonly stats: EngineStats }
  | { readonly kind: 'metrics'; readonly seq: number; readonly metrics: MetricsSnapshot };
