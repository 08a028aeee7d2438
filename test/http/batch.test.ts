import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../support/dialects.js';
import { type Api, expectProblem, get, line, post, startApi, stockedItem, unchangedBy, unique } from './harness.js';

const batchCommandsMax = 6;

describe.each(testDialects())('HTTP batch on %s', (dialect) => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi(dialect, { SKULD_HTTP_BATCH_COMMANDS_MAX: String(batchCommandsMax) });
  });
  afterAll(async () => api?.close());

  it('answers each command separately, in order', async () => {
    const sku = await stockedItem(api.app, { WH1: 5 });
    const order = unique('order');
    const response = await post(api.app, '/v1/batch', {
      commands: [
        { type: 'ReceiveStock', id: unique('rcv'), sku, location: 'WH1', quantity: 5 },
        { type: 'ReserveStock', id: order, lines: [line(sku, 'WH1', 8)] },
        { type: 'ReserveStock', id: unique('order'), lines: [line(sku, 'WH1', 8)] },
        { type: 'CommitReservation', id: unique('commit'), reservationId: order, lines: [line(sku, 'WH1', 6)] },
        { type: 'ReceiveStock', id: unique('rcv'), sku: unique('NOPE'), location: 'WH1', quantity: 1 },
        { type: 'ReceiveStock', id: unique('rcv'), sku, location: 'WH1', quantity: 0 },
      ],
    });
    expect(response.statusCode).toBe(200);
    const { results } = response.json();
    expect(results).toHaveLength(6);
    expect(results[0].levels[0]).toMatchObject({ onHand: 10, available: 10 });
    expect(results[1]).toMatchObject({ id: order, status: 'pending', lines: [{ quantity: 8 }] });
    expect(results[2].problem).toMatchObject({
      status: 409,
      code: 'INSUFFICIENT_STOCK',
      instance: '/v1/batch#/commands/2',
    });
    expect(results[3]).toMatchObject({ id: order, status: 'committed', lines: [{ quantity: 8, committed: 6 }] });
    expect(results[4].problem).toMatchObject({ status: 404, code: 'UNKNOWN_ITEM' });
    expect(results[5].problem).toMatchObject({ status: 400, code: 'INVALID_QUANTITY', field: 'quantity' });
    expect(results[5].problem.requestId).toBe(response.headers['x-request-id']);
    expect((await get(api.app, `/v1/items/${sku}/stock`)).json().totals).toEqual({
      onHand: 4,
      reserved: 0,
      available: 4,
      incoming: 0,
      projected: 4,
    });
  });

  it('validates each command as its route does and never accepts ExpireReservation', async () => {
    const sku = await stockedItem(api.app, { WH1: 5 });
    const order = unique('order');
    await post(api.app, '/v1/reservations', { id: order, lines: [line(sku, 'WH1', 1)] });
    api.clock.advance(24 * 60 * 60_000);
    const response = await unchangedBy(api, [sku], () =>
      post(api.app, '/v1/batch', {
        commands: [
          { type: 'ExpireReservation', id: `sys:expire:${order}`, reservationId: order },
          { type: 'ReceiveStock', id: unique('rcv'), sku, location: 'WH1', quantity: 1, extra: true },
          { type: 'ReleaseReservation', id: unique('rel'), reservationId: 'bad id' },
          { id: unique('rcv'), sku, location: 'WH1', quantity: 1 },
          { type: 'ReceiveStock', id: 'sys:x', sku, location: 'WH1', quantity: 1 },
        ],
      }),
    );
    const codes = response.json().results.map((result: { problem: { code: string } }) => result.problem.code);
    expect(codes).toEqual(['VALIDATION_FAILED', 'VALIDATION_FAILED', 'INVALID_ID', 'VALIDATION_FAILED', 'INVALID_ID']);
  });

  it('replays repeated commands and shares the idempotency of single routes', async () => {
    const sku = await stockedItem(api.app, { WH1: 5 });
    const receipt = { id: unique('rcv'), sku, location: 'WH1', quantity: 2 };
    const single = await post(api.app, '/v1/receipts', receipt);
    const response = await unchangedBy(api, [sku], () =>
      post(api.app, '/v1/batch', {
        commands: [
          { type: 'ReceiveStock', ...receipt },
          { type: 'ReceiveStock', ...receipt, quantity: 3 },
        ],
      }),
    );
    const [replayed, conflict] = response.json().results;
    expect(replayed).toEqual(single.json());
    expect(conflict.problem).toMatchObject({ status: 422, code: 'IDEMPOTENCY_CONFLICT' });
  });

  it(`answers 413 BATCH_TOO_LARGE above ${batchCommandsMax} commands, changing nothing`, async () => {
    const sku = await stockedItem(api.app, { WH1: 5 });
    const commands = Array.from({ length: batchCommandsMax + 1 }, () => ({
      type: 'ReceiveStock',
      id: unique('rcv'),
      sku,
      location: 'WH1',
      quantity: 1,
    }));
    const response = await unchangedBy(api, [sku], () => post(api.app, '/v1/batch', { commands }));
    expectProblem(response, 413, 'BATCH_TOO_LARGE');
    const empty = await post(api.app, '/v1/batch', { commands: [] });
    expect([empty.statusCode, empty.json()]).toEqual([200, { results: [] }]);
    expectProblem(await post(api.app, '/v1/batch', { commands: {} }), 400, 'VALIDATION_FAILED');
  });
});
