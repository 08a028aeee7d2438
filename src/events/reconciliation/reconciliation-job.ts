import { Cron } from 'croner';
import type { Log } from '../../log.js';
import type { ReconciliationReport, Store } from '../../store/port.js';
import { verify } from '../../verify/verify.js';
import { saveReport, verifySummary } from './reports.js';

// The scheduled reconciliation: verify rebuilds every level from the ledger and compares, and
// its report is recorded. One instance of a cluster runs it at a time: each tick asks the lease
// first (held to just before the next tick, renewed by its holder at every tick), and croner's
// `protect` skips a tick while the last run is still going in this process. A run that outlasts
// the period may meet another instance's next run: verify only reads, so the cost is load.

/** Runs verify now and records its report. */
export async function recordVerifyRun(
  store: Pick<Store, 'reports'> & Parameters<typeof verify>[0],
  actor: string,
  now: number,
): Promise<ReconciliationReport> {
  const result = await verify(store);
  return saveReport(store.reports, {
    kind: 'verify',
    createdAt: now,
    actor,
    findings: result.mismatchCount,
    summary: verifySummary(result),
    body: result,
  });
}

/** The cluster-wide lease on the job, as held by this instance. */
export interface JobLease {
  /** Takes or renews the lease until `until`; true when this instance holds it. */
  acquire(now: number, until: number): Promise<boolean>;
  release(): Promise<void>;
}

export interface ReconciliationJobOptions {
  /** An interval in ms (digits only) or a cron expression. */
  readonly schedule: string;
  readonly lease: JobLease;
  readonly run: () => Promise<void>;
  readonly log: Log;
  readonly clock?: () => number;
}

/**
 * A lease runs out this long before the next tick, so that when its holder has died the
 * instances asking at that tick find it free; the holder renews it at every tick it is alive.
 */
export const leaseMarginMs = 1000;

export interface ReconciliationJobStats {
  runs: number;
  /** Ticks left to the instance that holds the lease. */
  notLeader: number;
  /** Ticks skipped because the last run had not finished. */
  overlaps: number;
  /** Runs that failed; each is logged, and the next tick tries again. */
  failures: number;
}

export type TickResult = 'ran' | 'not-leader' | 'failed';

export class ReconciliationJob {
  private readonly options: ReconciliationJobOptions;
  private cron: Cron | undefined;
  private running: Promise<TickResult> | undefined;
  readonly stats: ReconciliationJobStats = { runs: 0, notLeader: 0, overlaps: 0, failures: 0 };

  constructor(options: ReconciliationJobOptions) {
    this.options = options;
  }

  start(): void {
    if (this.cron !== undefined) return;
    const { schedule } = this.options;
    const common = {
      protect: () => {
        this.stats.overlaps += 1;
      },
      unref: true,
    };
    // croner's protect holds off the next tick until this promise settles.
    const tick = async (): Promise<void> => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
      });
      await this.running;
    };
    // croner's interval is in whole seconds, on a pattern that fires every second.
    this.cron = /^[0-9]+$/.test(schedule)
      ? new Cron('* * * * * *', { ...common, interval: Math.max(1, Math.round(Number(schedule) / 1000)) }, tick)
      : new Cron(schedule, common, tick);
  }

  /** Stops the schedule, waits for a run in progress and gives the lease up for another instance. */
  async stop(): Promise<void> {
    if (this.cron === undefined) return;
    this.cron.stop();
    this.cron = undefined;
    await this.running;
    await this.options.lease.release().catch((error: unknown) => {
      this.options.log.error({ err: error }, 'the reconciliation lease could not be released; it expires by itself');
    });
  }

  /** Until when a lease taken now lasts: to just before the next tick. */
  private leaseUntil(now: number): number {
    const { schedule } = this.options;
    const next = /^[0-9]+$/.test(schedule) ? now + Number(schedule) : (this.cron?.nextRun()?.getTime() ?? now);
    return Math.max(now + leaseMarginMs, next - leaseMarginMs);
  }

  /** One scheduled run: only with the lease; a failure is counted and logged, never thrown. */
  async tick(): Promise<TickResult> {
    const { log } = this.options;
    try {
      const now = (this.options.clock ?? Date.now)();
      if (!(await this.options.lease.acquire(now, this.leaseUntil(now)))) {
        this.stats.notLeader += 1;
        return 'not-leader';
      }
      await this.options.run();
      this.stats.runs += 1;
      return 'ran';
    } catch (error) {
      this.stats.failures += 1;
      log.error({ err: error, failures: this.stats.failures }, 'the scheduled reconciliation failed');
      return 'failed';
    }
  }
}
