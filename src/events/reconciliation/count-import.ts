import type { CountStock, LedgerEvent } from '../../domain/index.js';
import type { CommandExecutor } from '../../engine/executor.js';
import type { ReconciliationReport, ReportStore, StoreReads } from '../../store/port.js';
import type { CountLine, CountSheet, SheetLineError } from './count-sheet.js';
import { saveReport } from './reports.js';

// A count sheet's import: each good line becomes a CountStock whose id is derived from the sheet
// and the line (`count:<sheet>:<line>`), so importing the same sheet again changes nothing and
// says so. Every count that differed from on hand is a StockCounted event with a non-zero delta
// already; the report gathers them, expected against counted, with the lines refused.

/** Most discrepancies and refused lines a report lists (it counts them all). */
export const reportLinesListedMax = 1000;
/** Commands of a sheet sent to the engine at once: the engine batches them. */
const linesInFlightMax = 1000;
/** Ledger events read per query when the answers' events are looked up. */
const ledgerPageMax = 1000;

export interface Discrepancy {
  readonly line: number;
  readonly sku: string;
  readonly location: string;
  /** On hand when the count was applied. */
  readonly expected: number;
  readonly counted: number;
  readonly delta: number;
  /** The StockCounted event that recorded it. */
  readonly position: number;
  /** True when an earlier import of the same sheet applied it. */
  readonly alreadyApplied: boolean;
}

export interface CountSheetReport {
  readonly sheet: string;
  readonly lines: number;
  readonly applied: number;
  readonly alreadyApplied: number;
  readonly unchanged: number;
  readonly discrepancyCount: number;
  readonly discrepancies: readonly Discrepancy[];
  readonly refusedCount: number;
  readonly refused: readonly SheetLineError[];
}

export function countCommandId(sheet: string, line: number): string {
  return `count:${sheet}:${line}`;
}

function countCommand(sheet: string, line: CountLine, actor: string): CountStock {
  return {
    type: 'CountStock',
    id: countCommandId(sheet, line.line),
    actor,
    sku: line.sku,
    location: line.location,
    counted: line.counted,
    reason: line.reason ?? `count sheet ${sheet} line ${line.line}`,
    ...(line.occurredAt !== undefined && { occurredAt: line.occurredAt }),
  };
}

interface Applied {
  readonly line: CountLine;
  readonly position: number;
  readonly replayed: boolean;
}

export interface CountImportParts {
  readonly executor: CommandExecutor;
  readonly store: Pick<StoreReads, 'readLedger'> & { readonly reports: ReportStore };
}

/** Imports a sheet's good lines, then records and returns its report. */
export async function importCountSheet(
  parts: CountImportParts,
  sheet: CountSheet,
  actor: string,
  now: number,
): Promise<{ report: ReconciliationReport; sheetReport: CountSheetReport }> {
  const applied: Applied[] = [];
  const refused: SheetLineError[] = [...sheet.errors];
  for (let start = 0; start < sheet.lines.length; start += linesInFlightMax) {
    const chunk = sheet.lines.slice(start, start + linesInFlightMax);
    const answers = await Promise.all(chunk.map((line) => parts.executor.execute(countCommand(sheet.id, line, actor))));
    answers.forEach(({ outcome, replayed }, index) => {
      const line = chunk[index] as CountLine;
      if (outcome.ok) applied.push({ line, position: outcome.position, replayed });
      else refused.push({ line: line.line, code: outcome.error.code, message: outcome.error.message });
    });
  }
  const events = await eventsAt(
    parts.store,
    applied.map((a) => a.position),
  );
  const sheetReport = summarize(sheet, applied, refused, events);
  const findings = sheetReport.discrepancyCount + sheetReport.refusedCount;
  const summary =
    `count sheet ${sheet.id}: ${sheetReport.lines} lines, ${sheetReport.applied} applied, ` +
    `${sheetReport.alreadyApplied} already applied, ${sheetReport.discrepancyCount} discrepancies, ${sheetReport.refusedCount} refused`;
  const report = await saveReport(parts.store.reports, {
    kind: 'count-sheet',
    createdAt: now,
    actor,
    findings,
    summary,
    body: sheetReport,
  });
  return { report, sheetReport };
}

function summarize(
  sheet: CountSheet,
  applied: readonly Applied[],
  refused: SheetLineError[],
  events: ReadonlyMap<number, LedgerEvent>,
): CountSheetReport {
  const discrepancies: Discrepancy[] = [];
  let unchanged = 0;
  for (const { line, position, replayed } of applied) {
    const event = events.get(position);
    const delta = event?.onHandDelta ?? 0;
    if (delta === 0) {
      unchanged += 1;
      continue;
    }
    const expected = (event?.onHandAfter ?? line.counted) - delta;
    discrepancies.push({
      line: line.line,
      sku: line.sku,
      location: line.location,
      expected,
      counted: line.counted,
      delta,
      position,
      alreadyApplied: replayed,
    });
  }
  refused.sort((a, b) => a.line - b.line);
  discrepancies.sort((a, b) => a.line - b.line);
  const fresh = applied.filter((a) => !a.replayed).length;
  return {
    sheet: sheet.id,
    lines: sheet.lines.length + sheet.errors.length,
    applied: fresh,
    alreadyApplied: applied.length - fresh,
    unchanged,
    discrepancyCount: discrepancies.length,
    discrepancies: discrepancies.slice(0, reportLinesListedMax),
    refusedCount: refused.length,
    refused: refused.slice(0, reportLinesListedMax),
  };
}

/**
 * The ledger events at these positions. A sheet's counts go through the engine together, so
 * their positions cluster: each query reads from a wanted position up to the last wanted one
 * within a page, never the stretches between clusters.
 */
async function eventsAt(
  store: Pick<StoreReads, 'readLedger'>,
  positions: readonly number[],
): Promise<Map<number, LedgerEvent>> {
  const wanted = [...new Set(positions)].filter((p) => p > 0).sort((a, b) => a - b);
  const found = new Map<number, LedgerEvent>();
  let index = 0;
  while (index < wanted.length) {
    const first = wanted[index] as number;
    let last = first;
    while (index + 1 < wanted.length && (wanted[index + 1] as number) < first + ledgerPageMax)
      last = wanted[++index] as number;
    index += 1;
    for (const event of await store.readLedger(first - 1, last - first + 1)) found.set(event.position, event);
  }
  return found;
}
