import type { ConflictKind } from '../store/port.js';

/**
 * What the write path reports as it goes, for the process's metrics. An interface, so that the
 * engine needs no metrics library: the composition passes one that records into a Prometheus
 * registry (src/metrics/), on whichever thread the engine runs.
 */
export interface EngineMetrics {
  /**
   * A command was answered: `outcome` is `ok` or the domain error's stable code. `type` is as
   * the command came (a refused one may name no known type): a recorder keeps its labels bounded.
   */
  answered(type: string, outcome: string): void;
  /** A batch of `size` commands was answered. */
  batch(size: number): void;
  /** One store transaction of a batch ran (committed or not) for `seconds`. */
  transaction(seconds: number): void;
  /** A transaction lost to a concurrent writer; `undefined`: a retry the store asked for that is none of the kinds. */
  conflict(kind: ConflictKind | undefined): void;
  /** A batch is run again after a conflict. */
  retry(): void;
}

export const noEngineMetrics: EngineMetrics = {
  answered() {},
  batch() {},
  transaction() {},
  conflict() {},
  retry() {},
};
