import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, bearer, expectProblem, get, keyFor, post, startApi, stockedItem } from './harness.js';

// Count sheets over HTTP, as CSV or JSON lines, and the reconciliation reports they leave: the
// same sheet sent twice changes stock once; who may import and who may read is the table's.

describe('count sheets and reconciliation reports over HTTP', () => {
  let api: Api;
  let sku: string;

  beforeAll(async () => {
    api = await startApi('sqlite');
    sku = await stockedItem(api.app, { WH1: 10 });
  });
  afterAll(async () => api.close());

  const postCsv = (csv: string, query = '', headers: Record<string, string> = {}) =>
    api.app.inject({
      method: 'POST',
      url: `/v1/counts/sheets${query}`,
      headers: { 'content-type': 'text/csv', ...headers },
      payload: csv,
    });

  const onHand = async (location: string) => {
    const body = (await get(api.app, `/v1/items/${sku}/stock`)).json() as {
      levels: { location: string; onHand: number }[];
    };
    return body.levels.find((level) => level.location === location)?.onHand;
  };

  it('imports a CSV sheet, reports expected against counted and the refused line, and a resend changes nothing', async () => {
    const csv = `sku,location,counted,reason\n${sku},WH1,7,shelf recount\n${sku},WH1,x\n`;
    const first = await postCsv(csv, '?sheet=aisle-3');
    expect(first.statusCode).toBe(201);
    const report = first.json();
    expect(first.headers.location).toBe(`/v1/reconciliation/reports/${report.id}`);
    expect(report).toMatchObject({ kind: 'count-sheet', findings: 2, actor: 'key:test-admin' });
    expect(report.body).toMatchObject({
      sheet: 'aisle-3',
      applied: 1,
      discrepancies: [{ line: 2, expected: 10, counted: 7, delta: -3, alreadyApplied: false }],
      refused: [{ line: 3, code: 'INVALID_QUANTITY' }],
    });
    expect(await onHand('WH1')).toBe(7);

    const again = await postCsv(csv, '?sheet=aisle-3');
    expect(again.statusCode).toBe(201);
    expect(again.json().body).toMatchObject({ applied: 0, alreadyApplied: 1 });
    expect(await onHand('WH1')).toBe(7);
  });

  it('imports JSON lines', async () => {
    const response = await post(api.app, '/v1/counts/sheets', { lines: [{ sku, location: 'WH2', counted: 3 }] });
    expect(response.statusCode).toBe(201);
    expect(response.json().body.discrepancies).toMatchObject([{ line: 1, expected: 0, counted: 3 }]);
    expect(await onHand('WH2')).toBe(3);
  });

  it('refuses a sheet it cannot read, changing nothing', async () => {
    expectProblem(await postCsv(`sku,location\n${sku},WH1\n`), 400, 'VALIDATION_FAILED');
    expectProblem(await postCsv(`sku,location,counted\n`, '?sheet=not valid'), 400, 'VALIDATION_FAILED');
  });

  it('lists the reports newest first and serves each in full', async () => {
    const list = await get(api.app, '/v1/reconciliation/reports?limit=2');
    expect(list.statusCode).toBe(200);
    const { reports, next } = list.json();
    expect(reports).toHaveLength(2);
    expect(reports[0].createdAt).toBeGreaterThanOrEqual(reports[1].createdAt);
    const rest = (await get(api.app, `/v1/reconciliation/reports?before=${next}`)).json();
    expect(rest.reports).toHaveLength(1);
    expect(rest.next).toBeNull();
    const one = await get(api.app, `/v1/reconciliation/reports/${reports[0].id}`);
    expect(one.json()).toMatchObject({ id: reports[0].id, body: { sheet: expect.any(String) } });
    expectProblem(await get(api.app, '/v1/reconciliation/reports/r-none'), 404, 'NOT_FOUND');
  });

  it('lets a scanner import and an auditor read, and neither the other', async () => {
    const scanner = bearer(await keyFor(api, ['scanner']));
    const auditor = bearer(await keyFor(api, ['auditor']));
    const csv = `sku,location,counted\n${sku},WH3,1\n`;
    expect((await postCsv(csv, '', scanner)).statusCode).toBe(201);
    expectProblem(await postCsv(csv, '', auditor), 403, 'FORBIDDEN');
    const read = (headers: Record<string, string>) =>
      api.app.inject({ method: 'GET', url: '/v1/reconciliation/reports', headers });
    expect((await read(auditor)).statusCode).toBe(200);
    expectProblem(await read(scanner), 403, 'FORBIDDEN');
  });
});
