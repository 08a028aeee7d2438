import type { Command, CommandOutcome } from '../domain/index.js';

// What callers of the write path see: the executor, its answers and its counters. The engine
// (engine.ts) is one executor; the engine thread's proxy (src/thread/) is another.

export interface Answer {
  readonly outcome: CommandOutcome;
  /** True when the outcome is the stored first result of an earlier send of the same id. */
  readonly replayed: boolean;
}

export interface EngineStats {
  batches: number;
  commands: number;
  retries: number;
  largestBatch: number;
  /** Batches split because the store refused one of their commands. */
  splits: number;
  /** Commands refused alone by the store (STORE_REJECTED) after their batch was split. */
  isolated: number;
  /** Commands refused with OVERLOADED: the queue was full. */
  overloaded: number;
  /** Retryable store conflicts by database code (e.g. 40P01 deadlock, 23505 unique violation). */
  conflicts: Record<string, number>;
}

export function emptyStats(): EngineStats {
  return { batches: 0, commands: 0, retries: 0, largestBatch: 0, splits: 0, isolated: 0, overloaded: 0, conflicts: {} };
}

/**
 * What callers of the write path use: the engine in this thread, or the engine thread
 * (`src/thread/`) that runs one on a thread of its own.
 */
export interface CommandExecutor {
  /** Decides one command. Never throws for an operating error: the outcome carries it. */
  execute(command: Command): Promise<Answer>;
  /** The engine's counters (on another thread: as of its latest answer). */
  readonly stats: EngineStats;
  /** Resolves when every command sent so far has been answered. */
  drain(): Promise<void>;
  /** Answers every queued command, then stops. */
  close(): Promise<void>;
  /** Why the write path stopped taking commands (every command is then UNAVAILABLE); undefined while it runs. */
  readonly stopped: string | undefined;
}
