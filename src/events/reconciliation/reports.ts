import { randomBytes } from 'node:crypto';
import type { ReconciliationReport, ReportKind, ReportStore } from '../../store/port.js';
import { formatReport, type VerifyReport } from '../../verify/verify.js';
import type { CountSheetReport } from './count-import.js';

// Reports of reconciliation: what a count sheet's import found, what a verify run found. Each is
// stored whole (a table of its own in every store) and listed by the CLI and the HTTP API.

/** Most reports one listing returns. */
export const reportsListedMax = 100;

/**
 * A report's id: its creation time, zero-padded so that ids sort as reports were made, and a
 * random tail so that two made in one millisecond differ.
 */
export function reportId(createdAt: number): string {
  return `r${String(createdAt).padStart(15, '0')}-${randomBytes(4).toString('hex')}`;
}

export async function saveReport(
  reports: ReportStore,
  fields: { kind: ReportKind; createdAt: number; actor: string; findings: number; summary: string; body: unknown },
): Promise<ReconciliationReport> {
  const report = { id: reportId(fields.createdAt), ...fields };
  await reports.saveReport(report);
  return report;
}

export function verifySummary(report: VerifyReport): string {
  return report.ok
    ? `verify: OK, ${report.levels} levels, ${report.events} events`
    : `verify: ${report.mismatchCount} mismatches in ${report.levels} levels, ${report.events} events`;
}

/** A stored report for people: its header, then what its kind found. */
export function formatStoredReport(report: ReconciliationReport): string {
  const header = `report ${report.id} (${report.kind}) made ${new Date(report.createdAt).toISOString()} by ${report.actor}`;
  const body =
    report.kind === 'verify'
      ? formatReport(report.body as VerifyReport)
      : formatSheetReport(report.body as CountSheetReport);
  return `${header}\n${body}`;
}

export function formatSheetReport(report: CountSheetReport): string {
  const lines = [
    `count sheet ${report.sheet}: ${report.lines} lines`,
    `  applied:          ${report.applied}`,
    `  already applied:  ${report.alreadyApplied} (an earlier import of the same sheet)`,
    `  unchanged:        ${report.unchanged} (counted what was on hand)`,
    `  discrepancies:    ${report.discrepancyCount}`,
    `  refused:          ${report.refusedCount}`,
  ];
  for (const d of report.discrepancies) {
    const sign = d.delta > 0 ? '+' : '';
    const earlier = d.alreadyApplied ? ' (applied earlier)' : '';
    lines.push(
      `  - line ${d.line} ${d.sku}@${d.location}: expected ${d.expected}, counted ${d.counted} (${sign}${d.delta}), position ${d.position}${earlier}`,
    );
  }
  for (const r of report.refused) lines.push(`  ! line ${r.line}: ${r.code}: ${r.message}`);
  return lines.join('\n');
}
