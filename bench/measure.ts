import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

// What every bench loop measures: latencies, counts by code, and CPU time, of this process and
// of the database server's processes.

/** Nearest-rank percentile of an ascending array; 0 when it is empty. */
export function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] as number;
}

export interface LatencySummary {
  readonly orders: number;
  readonly elapsedMs: number;
  readonly ordersPerSecond: number;
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
}

/** Throughput and latency of the orders that completed in `elapsedMs`. */
export function summarizeLatencies(latencies: readonly number[], elapsedMs: number): LatencySummary {
  const sorted = Float64Array.from(latencies).sort();
  return {
    orders: sorted.length,
    elapsedMs,
    ordersPerSecond: sorted.length / (elapsedMs / 1000),
    latencyMsP50: percentile(sorted, 0.5),
    latencyMsP99: percentile(sorted, 0.99),
  };
}

export function increment(counts: Map<string, number>, key: string, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by);
}

export function mergeCounts(...maps: ReadonlyMap<string, number>[]): Map<string, number> {
  const merged = new Map<string, number>();
  for (const map of maps) for (const [key, count] of map) increment(merged, key, count);
  return merged;
}

/** Sum of the counts of the given codes. */
export function countOf(counts: ReadonlyMap<string, number>, codes: readonly string[]): number {
  return codes.reduce((sum, code) => sum + (counts.get(code) ?? 0), 0);
}

/** Database error codes, as the drivers report them (PostgreSQL SQLSTATE, MySQL errno). */
export const deadlockCodes = ['40P01', '1213'] as const;
export const lockTimeoutCodes = ['55P03', '1205'] as const;

/** Process names (`/proc/<pid>/comm`) of each database server; SQLite runs inside Skuld. */
export const serverProcessNames = {
  sqlite: [],
  postgres: ['postgres'],
  mysql: ['mariadbd', 'mysqld'],
} as const satisfies Record<string, readonly string[]>;

export interface CpuUse {
  /** CPU time of this process over the window, every thread, in µs. */
  readonly skuldUs: number;
  /** CPU time of every database server process, in µs; absent for SQLite. */
  readonly databaseUs: number | undefined;
  /** Length of the window. */
  readonly seconds: number;
}

/** CPU time over a window as a share of one core, in %. */
export function percentOfCore(us: number, seconds: number): number {
  return (us / 1e6 / seconds) * 100;
}

let clockTicksPerSecond: number | undefined;

/** `sysconf(_SC_CLK_TCK)`: the unit of the times in /proc/<pid>/stat. */
function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** utime + stime of every process with one of `names`, by pid, in clock ticks. */
function serverTicks(names: readonly string[]): Map<number, number> {
  const ticks = new Map<number, number>();
  if (names.length === 0) return ticks;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // the process exited while we looked
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    if (!names.includes(stat.slice(open + 1, close))) continue;
    // After the name: state is field 3, utime field 14 and stime field 15 of proc(5).
    const fields = stat.slice(close + 2).split(' ');
    ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
  }
  return ticks;
}

/** Starts a CPU window; the returned function ends it and reports the CPU time used in it. */
export function startCpuWindow(serverNames: readonly string[]): () => CpuUse {
  const startedAt = performance.now();
  const skuldBefore = process.cpuUsage();
  const serverBefore = serverTicks(serverNames);
  return () => {
    const seconds = (performance.now() - startedAt) / 1000;
    const skuld = process.cpuUsage(skuldBefore);
    let serverDelta = 0;
    // A process that started in the window counts whole; one that ended in it is lost (rare:
    // the pools hold their connections for the whole cell).
    for (const [pid, after] of serverTicks(serverNames)) serverDelta += after - (serverBefore.get(pid) ?? 0);
    return {
      skuldUs: skuld.user + skuld.system,
      databaseUs: serverNames.length === 0 ? undefined : (serverDelta / ticksPerSecond()) * 1e6,
      seconds,
    };
  };
}
