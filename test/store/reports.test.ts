import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconciliationReport, Store } from '../../src/store/port.js';
import { openTestStore, testDialects } from '../support/dialects.js';

// The reconciliation reports' table, on every store: a report is read back whole, and listed
// newest first in pages.

for (const dialect of testDialects()) {
  describe(`reconciliation reports on ${dialect}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      ({ store, cleanup } = await openTestStore(dialect));
    });

    afterAll(async () => {
      await cleanup();
    });

    const report = (n: number): ReconciliationReport => ({
      id: `r${String(1_700_000_000_000 + n).padStart(15, '0')}-0000000${n}`,
      kind: n % 2 === 0 ? 'verify' : 'count-sheet',
      createdAt: 1_700_000_000_000 + n,
      actor: 'cli:tester',
      findings: n,
      summary: `report ${n} — ünïcödé`,
      body: { lines: n, discrepancies: [{ sku: 'SKU-1', expected: 3, counted: n }] },
    });

    it('reads a report back whole and lists them newest first, page by page', async () => {
      for (const n of [1, 2, 3, 4, 5]) await store.reports.saveReport(report(n));
      expect(await store.reports.getReport(report(3).id)).toEqual(report(3));
      expect(await store.reports.getReport('r-none')).toBeUndefined();

      const first = await store.reports.listReports(undefined, 2);
      expect(first.map((r) => r.findings)).toEqual([5, 4]);
      const { body: _body, ...summary } = report(5);
      expect(first[0]).toEqual(summary);
      const next = await store.reports.listReports(first[1]?.id, 10);
      expect(next.map((r) => r.findings)).toEqual([3, 2, 1]);
    });
  });
}
