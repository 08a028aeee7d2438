import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importCountSheet } from '../../src/events/reconciliation/count-import.js';
import { contentSheetId, readCsvSheet } from '../../src/events/reconciliation/count-sheet.js';
import { testDialects } from '../support/dialects.js';
import { expectAccepted, expectConsistent, openTestEngine } from '../support/test-engine.js';

// A physical count sheet imported into a real store: its good lines become counts, its bad
// lines are reported and change nothing, every difference from on hand is a StockCounted event
// in the report, and importing the same sheet again changes nothing.

const sheetText = [
  'sku,location,counted,reason',
  'SKU-A,WH1,8,shelf recount',
  'SKU-B,WH1,5',
  'SKU-A,WH2,4,"found, behind the rack"',
  'SKU-C,WH1,3',
  'bad sku!,WH1,1',
  'SKU-B,WH1,1',
  'SKU-A,WH1,x',
  '',
].join('\r\n');

describe('reading a count sheet', () => {
  it('numbers lines as the file does, takes quoted commas, and reports each bad line', () => {
    const sheet = readCsvSheet(sheetText);
    expect(sheet.id).toBe(contentSheetId(sheetText));
    expect(sheet.lines.map((line) => [line.line, line.sku, line.location, line.counted, line.reason])).toEqual([
      [2, 'SKU-A', 'WH1', 8, 'shelf recount'],
      [3, 'SKU-B', 'WH1', 5, undefined],
      [4, 'SKU-A', 'WH2', 4, 'found, behind the rack'],
      [5, 'SKU-C', 'WH1', 3, undefined],
      [7, 'SKU-B', 'WH1', 1, undefined],
    ]);
    expect(sheet.errors.map((error) => [error.line, error.code])).toEqual([
      [6, 'INVALID_CODE'],
      [8, 'INVALID_QUANTITY'],
    ]);
  });

  it('refuses a sheet without its columns, or with one it does not know', () => {
    expect(() => readCsvSheet('sku,location\nA,B\n')).toThrow(/missing column counted/);
    expect(() => readCsvSheet('sku,location,counted,qty\nA,B,1,2\n')).toThrow(/unknown column qty/);
    expect(() => readCsvSheet('')).toThrow(/empty/);
  });
});

for (const dialect of testDialects()) {
  describe(`importing a count sheet on ${dialect}`, () => {
    let env: Awaited<ReturnType<typeof openTestEngine>>;

    beforeEach(async () => {
      env = await openTestEngine(dialect);
      const { engine } = env;
      for (const sku of ['SKU-A', 'SKU-B'])
        expectAccepted(await engine.execute({ type: 'RegisterItem', id: `reg-${sku}`, sku }));
      expectAccepted(
        await engine.execute({ type: 'ReceiveStock', id: 'rcv-a', sku: 'SKU-A', location: 'WH1', quantity: 10 }),
      );
      expectAccepted(
        await engine.execute({ type: 'ReceiveStock', id: 'rcv-b', sku: 'SKU-B', location: 'WH1', quantity: 5 }),
      );
      expectAccepted(
        await engine.execute({
          type: 'ReserveStock',
          id: 'order-1',
          lines: [{ sku: 'SKU-B', location: 'WH1', quantity: 2 }],
        }),
      );
    });

    afterEach(async () => {
      await env.cleanup();
    });

    const onHand = async (sku: string, location: string) =>
      (await env.store.itemLevels(sku)).find((level) => level.location === location)?.onHand;

    it('applies the good lines, reports every discrepancy and refusal, and a second import changes nothing', async () => {
      const parts = { executor: env.engine, store: env.store };
      const sheet = readCsvSheet(sheetText);
      const first = await importCountSheet(parts, sheet, 'cli:counter', 1_700_000_000_000);

      expect(first.sheetReport).toMatchObject({
        sheet: sheet.id,
        lines: 7,
        applied: 3,
        alreadyApplied: 0,
        unchanged: 1,
        discrepancyCount: 2,
        refusedCount: 4,
      });
      expect(
        first.sheetReport.discrepancies.map((d) => [d.line, d.sku, d.location, d.expected, d.counted, d.delta]),
      ).toEqual([
        [2, 'SKU-A', 'WH1', 10, 8, -2],
        [4, 'SKU-A', 'WH2', 0, 4, 4],
      ]);
      expect(first.sheetReport.refused.map((r) => [r.line, r.code])).toEqual([
        [5, 'UNKNOWN_ITEM'],
        [6, 'INVALID_CODE'],
        [7, 'COUNT_BELOW_RESERVED'],
        [8, 'INVALID_QUANTITY'],
      ]);
      expect([await onHand('SKU-A', 'WH1'), await onHand('SKU-A', 'WH2'), await onHand('SKU-B', 'WH1')]).toEqual([
        8, 4, 5,
      ]);
      const counted = (await env.store.readLedger(0, 100)).filter((event) => event.type === 'StockCounted');
      expect(counted.map((event) => [event.commandId, event.onHandDelta, event.reason, event.actor])).toEqual([
        [`count:${sheet.id}:2`, -2, 'shelf recount', 'cli:counter'],
        [`count:${sheet.id}:3`, 0, `count sheet ${sheet.id} line 3`, 'cli:counter'],
        [`count:${sheet.id}:4`, 4, 'found, behind the rack', 'cli:counter'],
      ]);
      const head = await env.store.headPosition();

      const second = await importCountSheet(parts, readCsvSheet(sheetText), 'cli:counter', 1_700_000_000_001);
      expect(second.sheetReport).toMatchObject({
        applied: 0,
        alreadyApplied: 3,
        unchanged: 1,
        discrepancyCount: 2,
        refusedCount: 4,
      });
      expect(second.sheetReport.discrepancies.every((d) => d.alreadyApplied)).toBe(true);
      expect(await env.store.headPosition()).toBe(head);
      expect([await onHand('SKU-A', 'WH1'), await onHand('SKU-A', 'WH2'), await onHand('SKU-B', 'WH1')]).toEqual([
        8, 4, 5,
      ]);

      // Both imports are recorded, newest first, each read back whole.
      const listed = await env.store.reports.listReports(undefined, 10);
      expect(listed.map((r) => r.id)).toEqual([second.report.id, first.report.id]);
      expect(listed[1]).toMatchObject({ kind: 'count-sheet', actor: 'cli:counter', findings: 6 });
      expect((await env.store.reports.getReport(first.report.id))?.body).toEqual(first.sheetReport);
      await expectConsistent(env.store);
    });
  });
}
