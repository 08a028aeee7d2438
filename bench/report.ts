import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EngineCellResult, VerifySummary } from './engine-bench.js';
import type { HttpBenchResult } from './http-bench.js';
import type { RouteResult } from './http-load.js';
import { percentOfCore } from './measure.js';
import type { ReadCell } from './read-bench.js';
import type { StormResult } from './storm.js';

// Tables are Markdown with padded cells: readable in a terminal, pasteable into the docs.

interface Column<T> {
  readonly title: string;
  readonly value: (row: T) => string;
  /** Numbers align right; text aligns left. */
  readonly text?: boolean;
}

export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row)));
  const widths = columns.map((column, index) =>
    Math.max(3, column.title.length, ...cells.map((row) => (row[index] as string).length)),
  );
  const pad = (value: string, index: number) => {
    const width = widths[index] as number;
    return columns[index]?.text === true ? value.padEnd(width) : value.padStart(width);
  };
  const line = (values: readonly string[]) => `| ${values.map(pad).join(' | ')} |`;
  const rule = widths.map((width, index) =>
    columns[index]?.text === true ? `${'-'.repeat(width)}` : `${'-'.repeat(width - 1)}:`,
  );
  return [line(columns.map((column) => column.title)), `| ${rule.join(' | ')} |`, ...cells.map(line)].join('\n');
}

const integer = (value: number) => Math.round(value).toLocaleString('en-US');
const decimal = (value: number, digits = 1) => value.toFixed(digits);
/** A figure some runs do not measure. */
const optional = (value: number | undefined, digits = 1) => (value === undefined ? 'n/a' : decimal(value, digits));

function counts(record: Readonly<Record<string, number>>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? '0' : entries.map(([key, count]) => `${key} ${integer(count)}`).join(', ');
}

function verified(summary: VerifySummary): string {
  if (!summary.ok) return `FAILED (${integer(summary.mismatchCount)} mismatches)`;
  return `ok (${integer(summary.levels)} levels, ${integer(summary.events)} events)`;
}

const engineColumns: readonly Column<EngineCellResult>[] = [
  { title: 'store', value: (r) => r.store, text: true },
  { title: 'mode', value: (r) => r.mode, text: true },
  { title: 'in flight', value: (r) => integer(r.inFlight) },
  { title: 'orders/s', value: (r) => integer(r.ordersPerSecond) },
  { title: 'p50 ms', value: (r) => decimal(r.latencyMsP50) },
  { title: 'p99 ms', value: (r) => decimal(r.latencyMsP99) },
  { title: 'errors', value: (r) => counts(r.errors), text: true },
  { title: 'batches', value: (r) => integer(r.engine.batches) },
  { title: 'avg batch', value: (r) => integer(r.engine.batchAverage) },
  { title: 'max batch', value: (r) => integer(r.engine.largestBatch) },
  { title: 'retries', value: (r) => integer(r.engine.retries) },
  { title: 'deadlocks', value: (r) => integer(r.deadlocks) },
  { title: 'verify', value: (r) => verified(r.verify), text: true },
];

export function engineTable(cells: readonly EngineCellResult[]): string {
  return formatTable(cells, engineColumns);
}

const percent = (value: number | undefined) => (value === undefined ? 'n/a' : `${Math.round(value)}%`);

/** Rejections other than INSUFFICIENT_STOCK are flagged: the workloads never sell out. */
function rejections(record: Readonly<Record<string, number>>): string {
  const entries = Object.entries(record);
  if (entries.length === 0) return '0';
  return entries
    .map(([code, count]) =>
      code === 'INSUFFICIENT_STOCK' ? `${code} ${integer(count)}` : `**${code} ${integer(count)}**`,
    )
    .join(', ');
}

function holds(cell: EngineCellResult): string {
  const { oversoldUnits, mismatchedLevels } = cell.holds;
  if (oversoldUnits === 0 && mismatchedLevels === 0) return '0';
  return `**${integer(oversoldUnits)}** (${integer(mismatchedLevels)} levels off)`;
}

const matrixColumns: readonly Column<EngineCellResult>[] = [
  { title: 'workload', value: (r) => r.workload, text: true },
  { title: 'store', value: (r) => r.store, text: true },
  { title: 'strategy', value: (r) => r.strategy, text: true },
  { title: 'in flight', value: (r) => integer(r.inFlight) },
  { title: 'orders/s', value: (r) => integer(r.ordersPerSecond) },
  { title: 'p50 ms', value: (r) => decimal(r.latencyMsP50) },
  { title: 'p99 ms', value: (r) => decimal(r.latencyMsP99) },
  { title: 'deadlocks', value: (r) => integer(r.deadlocks) },
  { title: 'lock timeouts', value: (r) => integer(r.lockTimeouts) },
  { title: 'retries', value: (r) => integer(r.engine.retries) },
  { title: 'rejected', value: (r) => rejections(r.errors), text: true },
  { title: 'oversold', value: holds, text: true },
  {
    title: 'verify',
    value: (r) => (r.verify.ok ? 'ok' : `**FAILED** (${integer(r.verify.mismatchCount)})`),
    text: true,
  },
  { title: 'Skuld CPU', value: (r) => percent(percentOfCore(r.cpu.skuldUs, r.cpu.seconds)) },
  {
    title: 'DB CPU',
    value: (r) => percent(r.cpu.databaseUs === undefined ? undefined : percentOfCore(r.cpu.databaseUs, r.cpu.seconds)),
  },
];

/** One row per cell of the matrix; anything that must not happen is in bold. */
export function matrixTable(cells: readonly EngineCellResult[]): string {
  return formatTable(cells, matrixColumns);
}

const stormColumns: readonly Column<StormResult>[] = [
  { title: 'store', value: (r) => r.store, text: true },
  { title: 'lines', value: (r) => r.lineOrder, text: true },
  { title: 'connections', value: (r) => integer(r.connections) },
  { title: 'orders/s', value: (r) => integer(r.ordersPerSecond) },
  { title: 'p50 ms', value: (r) => decimal(r.latencyMsP50) },
  { title: 'p99 ms', value: (r) => decimal(r.latencyMsP99) },
  { title: 'committed', value: (r) => integer(r.orders) },
  { title: 'failed', value: (r) => integer(r.failedOrders) },
  { title: 'retries', value: (r) => integer(r.retries) },
  { title: 'deadlocks', value: (r) => integer(r.deadlocks) },
  { title: 'lock timeouts', value: (r) => integer(r.lockTimeouts) },
  { title: 'all failures', value: (r) => counts(r.failures), text: true },
  { title: 'consistent', value: (r) => (r.consistent ? 'yes' : '**NO**'), text: true },
];

export function stormTable(results: readonly StormResult[]): string {
  return formatTable(results, stormColumns);
}

const routeColumns: readonly Column<RouteResult>[] = [
  { title: 'route', value: (r) => r.route, text: true },
  { title: 'connections', value: (r) => integer(r.connections) },
  { title: 'requests', value: (r) => integer(r.requests) },
  { title: 'requests/s', value: (r) => integer(r.requestsPerSecond) },
  { title: 'p50 ms', value: (r) => decimal(r.latencyMsP50) },
  { title: 'p99 ms', value: (r) => decimal(r.latencyMsP99) },
  { title: 'non-2xx', value: (r) => integer(r.non2xx) },
  { title: 'status codes', value: (r) => counts(r.statusCodes), text: true },
  { title: 'socket errors', value: (r) => integer(r.errors) },
  { title: 'server µs/req', value: (r) => optional(r.cpuUsPerRequest?.server) },
  { title: 'DB µs/req', value: (r) => optional(r.cpuUsPerRequest?.database) },
  { title: 'load µs/req', value: (r) => optional(r.cpuUsPerRequest?.loadGenerator) },
];

export function httpReport(result: HttpBenchResult): string {
  const { engine } = result;
  const routes = [result.healthz, result.reservations, result.ceiling, result.besideReads, result.reads];
  return [
    formatTable(routes, routeColumns),
    '',
    `reservations/healthz requests/s: ${decimal(result.ratio, 2)} (target >= 0.5; store ${result.store}, ` +
      `engine thread ${result.engineThread}); with no engine behind the route: ${decimal(result.ceilingRatio, 2)}`,
    `CPU time per request, healthz over reservation (server, database and load generator): ${optional(result.cpuRatio, 2)}`,
    `engine: ${integer(engine.batches)} batches, average ${integer(engine.batchAverage)}, ` +
      `largest ${integer(engine.largestBatch)}, retries ${integer(engine.retries)}`,
    `verify: ${verified(result.verify)}`,
  ].join('\n');
}

const readColumns: readonly Column<ReadCell>[] = [
  { title: 'read path', value: (c) => c.setup, text: true },
  { title: 'reads/s', value: (c) => integer(c.reads.requestsPerSecond) },
  { title: 'read p50 ms', value: (c) => decimal(c.reads.latencyMsP50) },
  { title: 'read p99 ms', value: (c) => decimal(c.reads.latencyMsP99) },
  { title: 'L1 hits', value: (c) => share(c.l1HitRatio) },
  { title: 'L2 hits', value: (c) => share(c.l2HitRatio) },
  { title: 'store reads/s', value: (c) => integer(c.storeReadsPerSecond) },
  {
    title: 'in flight peak',
    value: (c) =>
      c.storeReadsInFlightPeak === undefined ? '-' : `${c.storeReadsInFlightPeak}/${c.storeConcurrencyMax}`,
  },
  { title: 'reservations/s', value: (c) => integer(c.reservations.requestsPerSecond) },
  { title: 'reservation p99 ms', value: (c) => decimal(c.reservations.latencyMsP99) },
  { title: 'non-2xx', value: (c) => `${integer(c.reads.non2xx)} / ${integer(c.reservations.non2xx)}` },
];

const share = (ratio: number | undefined) => (ratio === undefined ? '-' : `${(ratio * 100).toFixed(1)}%`);

/** The read bench's table, and the targets computed from it. */
export function readReport(cells: readonly ReadCell[]): string {
  const find = (setup: ReadCell['setup']) => cells.find((c) => c.setup === setup);
  const none = find('no cache');
  const both = find('L1+L2');
  const down = find('L1+L2, Redis down');
  const lines = [formatTable(cells, readColumns), ''];
  if (none !== undefined && both !== undefined) {
    const speedup = both.reads.requestsPerSecond / Math.max(1, none.reads.requestsPerSecond);
    const fewer = 1 - both.storeReadsPerSecond / Math.max(1, none.storeReadsPerSecond);
    lines.push(
      `L1+L2 over no cache: ${decimal(speedup, 2)}x reads/s (target >= 5), ${share(fewer)} fewer store reads (target >= 95%)`,
    );
    const reservations = both.reservations.requestsPerSecond / Math.max(1, none.reservations.requestsPerSecond);
    lines.push(`reservations/s beside the reads, L1+L2 over no cache: ${decimal(reservations, 2)} (target >= 1)`);
  }
  if (down !== undefined && both !== undefined) {
    const kept = down.reads.requestsPerSecond / Math.max(1, both.reads.requestsPerSecond);
    lines.push(
      `Redis down over L1+L2: ${share(kept)} of the reads/s (target >= 80%); store reads in flight at most ` +
        `${down.storeReadsInFlightPeak ?? '-'} (limit ${down.storeConcurrencyMax})`,
    );
  }
  return lines.join('\n');
}

export function writeJson(file: string, data: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
}
