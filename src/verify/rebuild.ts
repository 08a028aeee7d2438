import { itemStreamLocation, type LedgerEvent, type Level, levelKey } from '../domain/index.js';
import { type RebuildSwap, type Store, StoreError } from '../store/port.js';
import { foldEvent, type LedgerTotals, ledgerTotals, type VerifyProgress } from './verify.js';

// `rebuild` recomputes every level, its on hand and its pending total (reserved), from the
// ledger alone: it folds the ledger page by page (memory grows with the levels, never with the
// events), writes the result to the store's rebuild table while the service runs on, then swaps
// it in under locks that hold every writer off, folding in what was committed meanwhile.

export interface RebuildReport {
  readonly events: number;
  readonly levels: number;
  readonly swap: RebuildSwap;
  readonly elapsedMs: number;
}

export interface RebuildProgress {
  readonly phase: VerifyProgress['phase'] | 'write' | 'swap';
  readonly done: number;
  readonly total: number | undefined;
}

/** Rows written to the rebuild table per transaction. */
export const rebuildPageSize = 5_000;
/** Attempts at the swap: on MySQL a writer that created a row meanwhile can deadlock it, which InnoDB breaks. */
const swapAttemptsMax = 5;

/**
 * Rebuilds every level. `onProgress` hears of each page; one it returns a promise for is awaited
 * before the rebuild goes on (writes made meanwhile are what the swap folds in).
 */
export async function rebuild(
  store: Store,
  onProgress: (progress: RebuildProgress) => void | Promise<void> = () => undefined,
  clock: () => number = Date.now,
): Promise<RebuildReport> {
  const started = clock();
  const through = await store.headPosition();
  const totals = await ledgerTotals(store, through, (progress) => void onProgress(progress));
  await store.rebuild.clear();
  const levels = [...totals.values()].filter((total) => total.location !== itemStreamLocation);
  for (let from = 0; from < levels.length; from += rebuildPageSize) {
    await store.rebuild.add(levels.slice(from, from + rebuildPageSize).map(levelOf));
    await onProgress({ phase: 'write', done: Math.min(from + rebuildPageSize, levels.length), total: levels.length });
  }
  const swap = await swapped(store, through, totals, onProgress);
  return { events: swap.head, levels: levels.length, swap, elapsedMs: clock() - started };
}

async function swapped(
  store: Store,
  through: number,
  totals: Map<string, LedgerTotals>,
  onProgress: (progress: RebuildProgress) => void | Promise<void>,
): Promise<RebuildSwap> {
  for (let attempt = 1; ; attempt += 1) {
    // The fold of the tail is applied to a copy: a swap that fails and is retried folds it again.
    const folded = new Map<string, LedgerTotals>();
    const finish = (tail: readonly LedgerEvent[]): Level[] => {
      for (const event of tail) {
        const key = levelKey(event.sku, event.location);
        if (!folded.has(key)) {
          const before = totals.get(key);
          if (before !== undefined) folded.set(key, { ...before });
        }
        foldEvent(folded, event);
      }
      return [...folded.values()].filter((total) => total.location !== itemStreamLocation).map(levelOf);
    };
    try {
      const swap = await store.rebuild.swap(through, finish);
      await onProgress({ phase: 'swap', done: swap.tailEvents, total: undefined });
      return swap;
    } catch (error) {
      if (!(error instanceof StoreError && error.kind === 'conflict') || attempt >= swapAttemptsMax) throw error;
    }
  }
}

function levelOf(total: LedgerTotals): Level {
  return {
    sku: total.sku,
    location: total.location,
    onHand: total.onHand,
    reserved: total.reserved,
    incoming: total.incoming,
    version: total.events,
  };
}

export function formatRebuild(report: RebuildReport): string {
  const { swap } = report;
  const perSecond = report.elapsedMs === 0 ? report.events : Math.round((report.events * 1000) / report.elapsedMs);
  return [
    'rebuild: done',
    `  ledger events:         ${report.events} (head position ${swap.head}; ${swap.tailEvents} committed meanwhile)`,
    `  levels rebuilt:        ${report.levels}`,
    `  levels changed:        ${swap.updated} updated, ${swap.inserted} inserted, ${swap.deleted} deleted`,
    `  time:                  ${(report.elapsedMs / 1000).toFixed(1)} s (${perSecond.toLocaleString('en-US')} events/s)`,
  ].join('\n');
}
