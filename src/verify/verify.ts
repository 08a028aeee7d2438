import { itemStreamLocation, levelKey } from '../domain/index.js';
import type { LedgerBalance, LevelRef, Store } from '../store/port.js';

// `verify` rebuilds every level from the ledger alone and compares it with what is stored:
// on hand with the sum of ledger deltas, reserved with both the ledger and the pending
// reservations, incoming with the ledger, the chain of balances-after, gap-free positions,
// 0 <= reserved <= on hand and incoming >= 0.

export type MismatchKind =
  | 'on-hand-vs-ledger'
  | 'reserved-vs-ledger'
  | 'reserved-vs-pending'
  | 'incoming-vs-ledger'
  | 'negative-incoming'
  | 'balance-chain'
  | 'negative-on-hand'
  | 'reserved-out-of-range'
  | 'ledger-without-level'
  | 'ledger-gap'
  | 'stream-version'
  | 'version-vs-ledger';

export interface Mismatch {
  readonly kind: MismatchKind;
  readonly sku: string;
  readonly location: string;
  readonly expected: number;
  readonly actual: number;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly levels: number;
  readonly events: number;
  readonly head: number;
  readonly pendingReservations: number;
  readonly mismatchCount: number;
  /** The first mismatches found, at most `mismatchesListedMax`. */
  readonly mismatches: readonly Mismatch[];
}

export const mismatchesListedMax = 100;
/** Rows read per query: the ledger, levels and pending reservations are each read in pages. */
export const verifyPageSize = 5000;
const pageSize = verifyPageSize;

/** Where verify has got to, after each page it read. */
export interface VerifyProgress {
  readonly phase: 'ledger' | 'reservations' | 'levels';
  /** Rows of this phase read so far; for the ledger, the last position read. */
  readonly done: number;
  /** The ledger's head, for the ledger phase; undefined where the total is not known ahead. */
  readonly total: number | undefined;
}

/** What the ledger says of one level, folded event by event. */
export interface LedgerTotals {
  readonly sku: string;
  readonly location: string;
  onHand: number;
  reserved: number;
  incoming: number;
  events: number;
  /** Events whose balances-after disagree with the previous balances plus their deltas. */
  chainBreaks: number;
  /** Events whose stream version is not the previous one's plus one. */
  versionBreaks: number;
  onHandAfter: number;
  reservedAfter: number;
  incomingAfter: number;
}

/**
 * Folds the ledger, page by page in position order, into totals per level. Memory grows with the
 * number of levels, never with the number of events.
 */
export async function ledgerTotals(
  store: Store,
  head: number,
  onProgress: (progress: VerifyProgress) => void = () => undefined,
): Promise<Map<string, LedgerTotals>> {
  const totals = new Map<string, LedgerTotals>();
  let after = 0;
  while (after < head) {
    const page = await store.readBalances(after, Math.min(pageSize, head - after));
    if (page.length === 0) break;
    for (const event of page) foldEvent(totals, event);
    after = (page[page.length - 1] as LedgerBalance).position;
    onProgress({ phase: 'ledger', done: after, total: head });
  }
  return totals;
}

/**
 * Adds one event to its stream's totals. An item's own stream (ItemRegistered) is folded like a
 * level's, with zero deltas, and set apart by the caller: no level row answers to it.
 */
export function foldEvent(totals: Map<string, LedgerTotals>, event: LedgerBalance): void {
  const key = levelKey(event.sku, event.location);
  let total = totals.get(key);
  if (total === undefined) {
    total = {
      sku: event.sku,
      location: event.location,
      onHand: 0,
      reserved: 0,
      incoming: 0,
      events: 0,
      chainBreaks: 0,
      versionBreaks: 0,
      onHandAfter: 0,
      reservedAfter: 0,
      incomingAfter: 0,
    };
    totals.set(key, total);
  }
  if (event.streamVersion !== total.events + 1) total.versionBreaks += 1;
  total.onHand += event.onHandDelta;
  total.reserved += event.reservedDelta;
  total.incoming += event.incomingDelta;
  total.events += 1;
  if (
    event.onHandAfter !== total.onHandAfter + event.onHandDelta ||
    event.reservedAfter !== total.reservedAfter + event.reservedDelta ||
    event.incomingAfter !== total.incomingAfter + event.incomingDelta
  ) {
    total.chainBreaks += 1;
  }
  total.onHandAfter = event.onHandAfter;
  total.reservedAfter = event.reservedAfter;
  total.incomingAfter = event.incomingAfter;
}

export async function verify(
  store: Store,
  onProgress: (progress: VerifyProgress) => void = () => undefined,
): Promise<VerifyReport> {
  const head = await store.headPosition();
  const totals = await ledgerTotals(store, head, onProgress);
  const { pending, count: pendingReservations } = await pendingByLevel(store, onProgress);
  const mismatches: Mismatch[] = [];
  let mismatchCount = 0;
  const report = (m: Mismatch) => {
    mismatchCount += 1;
    if (mismatches.length < mismatchesListedMax) mismatches.push(m);
  };
  let events = 0;
  for (const [key, total] of totals) {
    events += total.events;
    if (total.location !== itemStreamLocation) continue;
    // An item's stream holds its registration, once: version 1, and no level answers to it.
    totals.delete(key);
    if (total.events !== 1 || total.versionBreaks !== 0) {
      report({ kind: 'stream-version', sku: total.sku, location: '', expected: 1, actual: total.events });
    }
  }
  if (events !== head) report({ kind: 'ledger-gap', sku: '', location: '', expected: head, actual: events });

  const backorder = new Map<string, boolean>();
  let levels = 0;
  let after: LevelRef | undefined;
  for (;;) {
    const page = await store.scanLevels(after, pageSize);
    for (const level of page) {
      levels += 1;
      const key = levelKey(level.sku, level.location);
      const total = totals.get(key);
      totals.delete(key);
      const at = { sku: level.sku, location: level.location };
      const check = (kind: MismatchKind, expected: number, actual: number) => {
        if (expected !== actual) report({ kind, ...at, expected, actual });
      };
      check('on-hand-vs-ledger', total?.onHand ?? 0, level.onHand);
      check('reserved-vs-ledger', total?.reserved ?? 0, level.reserved);
      check('reserved-vs-pending', pending.get(key) ?? 0, level.reserved);
      check('incoming-vs-ledger', total?.incoming ?? 0, level.incoming);
      check('balance-chain', 0, total?.chainBreaks ?? 0);
      check('stream-version', 0, total?.versionBreaks ?? 0);
      check('version-vs-ledger', total?.events ?? 0, level.version);
      if (level.onHand < 0) report({ kind: 'negative-on-hand', ...at, expected: 0, actual: level.onHand });
      if (level.incoming < 0) report({ kind: 'negative-incoming', ...at, expected: 0, actual: level.incoming });
      if (
        level.reserved < 0 ||
        (level.reserved > level.onHand && !(await allowsBackorder(store, backorder, level.sku)))
      ) {
        report({ kind: 'reserved-out-of-range', ...at, expected: level.onHand, actual: level.reserved });
      }
    }
    onProgress({ phase: 'levels', done: levels, total: undefined });
    if (page.length < pageSize) break;
    after = page[page.length - 1];
  }
  for (const orphan of totals.values()) {
    report({
      kind: 'ledger-without-level',
      sku: orphan.sku,
      location: orphan.location,
      expected: 0,
      actual: orphan.events,
    });
  }
  return { ok: mismatchCount === 0, levels, events, head, pendingReservations, mismatchCount, mismatches };
}

async function pendingByLevel(
  store: Store,
  onProgress: (progress: VerifyProgress) => void,
): Promise<{ pending: Map<string, number>; count: number }> {
  const pending = new Map<string, number>();
  let count = 0;
  let after: string | undefined;
  for (;;) {
    const page = await store.scanPendingReservations(after, pageSize);
    for (const reservation of page) {
      count += 1;
      for (const line of reservation.lines) {
        const key = levelKey(line.sku, line.location);
        pending.set(key, (pending.get(key) ?? 0) + line.quantity);
      }
    }
    onProgress({ phase: 'reservations', done: count, total: undefined });
    if (page.length < pageSize) break;
    after = page[page.length - 1]?.id;
  }
  return { pending, count };
}

async function allowsBackorder(store: Store, cache: Map<string, boolean>, sku: string): Promise<boolean> {
  let allowed = cache.get(sku);
  if (allowed === undefined) {
    allowed = (await store.getItem(sku))?.allowBackorder ?? false;
    cache.set(sku, allowed);
  }
  return allowed;
}

export function formatReport(report: VerifyReport): string {
  const lines = [
    `verify: ${report.ok ? 'OK' : 'MISMATCH'}`,
    `  levels checked:        ${report.levels}`,
    `  ledger events:         ${report.events} (head position ${report.head})`,
    `  pending reservations:  ${report.pendingReservations}`,
    `  mismatches:            ${report.mismatchCount}`,
  ];
  for (const m of report.mismatches) {
    lines.push(`  - ${m.kind} ${m.sku}@${m.location}: expected ${m.expected}, found ${m.actual}`);
  }
  return lines.join('\n');
}
