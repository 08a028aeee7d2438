import type { LedgerEvent } from '../../domain/index.js';
import type { ReadTx, ReadValue } from './read-db.js';
import type { ReadModelName } from './read-models.js';

// What every model's projection is given: a page of ledger events past its checkpoint, in
// position order, and the transaction its checkpoint moves in.

/** A low-stock crossing: an item's available stock went below its threshold, or back to it. */
export interface Crossing {
  readonly position: number;
  readonly sku: string;
  readonly direction: 'below' | 'above';
  readonly available: number;
  readonly threshold: number;
  readonly recordedAt: number;
}

export interface ProjectionContext {
  /** A level's point-in-time snapshot is taken every this many of its events. */
  readonly snapshotIntervalEvents: number;
  /** The low-stock threshold of an item that names none (0: none). */
  readonly lowStockThresholdDefault: number;
  /** Crossings the page made, in position order, for the listeners once it has committed. */
  readonly crossings: Crossing[];
}

export type ModelProjection = (tx: ReadTx, events: readonly LedgerEvent[], context: ProjectionContext) => Promise<void>;

export type ModelProjections = Readonly<Record<ReadModelName, ModelProjection>>;

/** Most values in one `IN (…)` list. Lists are padded to it, so each query has one text (one prepared statement). */
const inListMax = 256;

/**
 * The rows of `select … WHERE column IN (values)`, in lists of inListMax: `sql` ends with
 * `IN`, the list is appended.
 */
export async function rowsIn<T>(tx: ReadTx, sql: string, values: readonly ReadValue[]): Promise<T[]> {
  const unique = [...new Set(values)];
  const list = `(${Array.from({ length: inListMax }, () => '?').join(', ')})`;
  const rows: T[] = [];
  for (let start = 0; start < unique.length; start += inListMax) {
    const chunk = unique.slice(start, start + inListMax);
    const padded = chunk.concat(Array.from({ length: inListMax - chunk.length }, () => chunk[0] as ReadValue));
    rows.push(...(await tx.rows<T>(`${sql} ${list}`, padded)));
  }
  return rows;
}

/** A map key of a level (codes never hold a NUL). */
export function levelKey(sku: string, location: string): string {
  return `${sku}\u0000${location}`;
}
