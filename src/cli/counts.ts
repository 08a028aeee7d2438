import { readFileSync } from 'node:fs';
import type { Runtime } from '../compose/runtime.js';
import { importCountSheet } from '../events/reconciliation/count-import.js';
import { CountSheetError, readCsvSheet } from '../events/reconciliation/count-sheet.js';
import { recordVerifyRun } from '../events/reconciliation/reconciliation-job.js';
import { formatSheetReport, formatStoredReport, reportsListedMax } from '../events/reconciliation/reports.js';
import { StartupError } from '../startup-error.js';
import { cliActor } from './keys.js';

// `skuld counts import FILE.csv [--sheet ID]` applies a physical count sheet; `skuld
// reconciliation list | show <id> | run` reads the reports (sheets and verify runs) and runs the
// scheduled reconciliation now.

export const countsUsage = `Usage:
  skuld counts import FILE.csv [--sheet ID]

The CSV has a header row; columns sku, location, counted, and optionally reason and occurredAt
(epoch ms or ISO 8601). Each line is a CountStock with the id count:<sheet>:<line>; the sheet id
defaults to a hash of the file, so importing the same file again changes nothing. Bad lines are
reported and change nothing; the others apply. The report is recorded (skuld reconciliation).`;

export const reconciliationUsage = `Usage:
  skuld reconciliation list         the latest reports: count sheets and verify runs
  skuld reconciliation show <id>    one report in full
  skuld reconciliation run          verify now, and record the report (what SKULD_RECONCILE_SCHEDULE runs)`;

export type CountsAction =
  | { readonly kind: 'import'; readonly file: string; readonly sheet: string | undefined }
  | { readonly kind: 'list' }
  | { readonly kind: 'show'; readonly id: string }
  | { readonly kind: 'run' };

const invalid = (message: string, usage: string) => new StartupError('CONFIG_INVALID', `${message}\n\n${usage}`);

/** Splits the action's own arguments from the settings' flags. */
function split(args: readonly string[], own: readonly string[]) {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  const rest: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (!arg.startsWith('--')) positional.push(arg);
    else if (own.includes(arg)) flags.set(arg, args[++index] ?? '');
    else {
      rest.push(arg);
      if (!arg.includes('=')) rest.push(args[++index] ?? '');
    }
  }
  return { positional, flags, rest };
}

export function parseCountsArgs(args: readonly string[]): { action: CountsAction; rest: string[] } {
  const [verb, ...tail] = args;
  const { positional, flags, rest } = split(tail, ['--sheet']);
  if (verb !== 'import' || positional.length !== 1) throw invalid('skuld counts import takes one file', countsUsage);
  return { action: { kind: 'import', file: positional[0] as string, sheet: flags.get('--sheet') }, rest };
}

export function parseReconciliationArgs(args: readonly string[]): { action: CountsAction; rest: string[] } {
  const [verb, ...tail] = args;
  const { positional, rest } = split(tail, []);
  if (verb === 'list' && positional.length === 0) return { action: { kind: 'list' }, rest };
  if (verb === 'run' && positional.length === 0) return { action: { kind: 'run' }, rest };
  if (verb === 'show' && positional.length === 1)
    return { action: { kind: 'show', id: positional[0] as string }, rest };
  throw invalid(`unknown or incomplete reconciliation action "${args.join(' ')}"`, reconciliationUsage);
}

export async function runCounts(runtime: Runtime, action: CountsAction): Promise<number> {
  const { store } = runtime;
  switch (action.kind) {
    case 'import': {
      const sheet = readSheetFile(action.file, action.sheet);
      const { report, sheetReport } = await importCountSheet(
        { executor: runtime.engine, store },
        sheet,
        cliActor(),
        Date.now(),
      );
      console.log(formatSheetReport(sheetReport));
      console.log(`recorded as report ${report.id}`);
      return sheetReport.refusedCount === 0 ? 0 : 1;
    }
    case 'list': {
      for (const report of await store.reports.listReports(undefined, reportsListedMax)) {
        console.log(
          `${report.id}  ${new Date(report.createdAt).toISOString()}  ${report.actor.padEnd(20)} ${report.summary}`,
        );
      }
      return 0;
    }
    case 'show': {
      const report = await store.reports.getReport(action.id);
      if (report === undefined) {
        console.error(`skuld: no report ${action.id} (skuld reconciliation list)`);
        return 1;
      }
      console.log(formatStoredReport(report));
      return 0;
    }
    case 'run': {
      const report = await recordVerifyRun(store, cliActor(), Date.now());
      console.log(formatStoredReport(report));
      return report.findings === 0 ? 0 : 1;
    }
  }
}

function readSheetFile(file: string, sheet: string | undefined) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new StartupError('CONFIG_INVALID', `cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return readCsvSheet(text, sheet);
  } catch (error) {
    if (error instanceof CountSheetError) throw new StartupError('CONFIG_INVALID', `${file}: ${error.message}`);
    throw error;
  }
}
