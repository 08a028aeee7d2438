import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type JobLease,
  ReconciliationJob,
  recordVerifyRun,
} from '../../src/events/reconciliation/reconciliation-job.js';
import type { Log } from '../../src/log.js';
import type { Store } from '../../src/store/port.js';
import { eventually } from '../support/eventually.js';
import { expectAccepted, openTestEngine } from '../support/test-engine.js';

// The scheduled reconciliation: verify's report recorded, by one instance at a time through the
// store's lease, and a failed run counted and logged, never thrown.

function leaseOf(store: Store, holder: string): JobLease {
  return {
    acquire: (now, until) => store.leases.acquire('reconciliation', holder, now, until),
    release: () => store.leases.release('reconciliation', holder),
  };
}

function recordingLog(): Log & { errors: string[] } {
  const errors: string[] = [];
  return { errors, error: (_context, message) => errors.push(message), warn() {}, info() {}, debug() {} };
}

describe('the scheduled reconciliation', () => {
  let env: Awaited<ReturnType<typeof openTestEngine>>;

  beforeEach(async () => {
    env = await openTestEngine('sqlite');
    expectAccepted(await env.engine.execute({ type: 'RegisterItem', id: 'reg-a', sku: 'SKU-A' }));
    expectAccepted(
      await env.engine.execute({ type: 'ReceiveStock', id: 'rcv-a', sku: 'SKU-A', location: 'WH1', quantity: 10 }),
    );
  });

  afterEach(async () => {
    await env.cleanup();
  });

  const jobOf = (holder: string, log: Log = recordingLog(), schedule = '60000') =>
    new ReconciliationJob({
      schedule,
      lease: leaseOf(env.store, holder),
      run: async () => {
        await recordVerifyRun(env.store, 'reconciliation', Date.now());
      },
      log,
    });

  it('runs in one instance at a time: the lease holder renews it, another takes over once it is given up', async () => {
    const a = jobOf('instance-a');
    const b = jobOf('instance-b');
    expect(await a.tick()).toBe('ran');
    expect(await b.tick()).toBe('not-leader');
    expect(await a.tick()).toBe('ran');
    a.start();
    await a.stop();
    expect(await b.tick()).toBe('ran');
    expect(await a.tick()).toBe('not-leader');

    const reports = await env.store.reports.listReports(undefined, 10);
    expect(reports.map((report) => [report.kind, report.findings])).toEqual([
      ['verify', 0],
      ['verify', 0],
      ['verify', 0],
    ]);
  });

  it('records the mismatches verify finds', async () => {
    await env.db.exec("UPDATE levels SET on_hand = on_hand + 1 WHERE sku = 'SKU-A'");
    const report = await recordVerifyRun(env.store, 'reconciliation', Date.now());
    expect(report.findings).toBeGreaterThan(0);
    expect(report.summary).toMatch(/mismatches/);
    expect((await env.store.reports.getReport(report.id))?.body).toMatchObject({ ok: false });
  });

  it('counts and logs a failed run, and keeps its schedule', async () => {
    const log = recordingLog();
    const job = new ReconciliationJob({
      schedule: '60000',
      lease: leaseOf(env.store, 'instance-a'),
      run: async () => {
        throw new Error('the store is out of reach');
      },
      log,
    });
    expect(await job.tick()).toBe('failed');
    expect(job.stats).toMatchObject({ runs: 0, failures: 1 });
    expect(log.errors).toEqual(['the scheduled reconciliation failed']);
  });

  it('runs on its schedule', async () => {
    const job = jobOf('instance-a', recordingLog(), '1000');
    job.start();
    try {
      await eventually('a scheduled run', () => job.stats.runs >= 1, 5000);
    } finally {
      await job.stop();
    }
    expect((await env.store.reports.listReports(undefined, 10)).length).toBeGreaterThanOrEqual(1);
  });
});
