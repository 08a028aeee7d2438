import { create } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ExecuteCommandsRequest,
  ExecuteCommandsRequestSchema,
  type ExecuteCommandsResponse,
  StockClock,
} from '../../src/grpc/gen/skuld/inventory/v1/inventory_service_pb.js';
import { ReservationStatus } from '../../src/grpc/gen/skuld/inventory/v1/types_pb.js';
import { verify } from '../../src/verify/verify.js';
import { testDialects } from '../support/dialects.js';
import { as, type GrpcApi, refusal, startGrpc, unique } from './harness.js';

// The inventory service through a gRPC client over HTTP/2: every RPC's success, the status and
// stable code of every refusal a call can meet, idempotent repeats, the stream of many commands,
// WatchEvents resumed after a position, deadlines and cancellation. The core runs on SQLite and
// PostgreSQL; MySQL shares the store contract and the engine, which gRPC does not touch.

const dialects = testDialects().filter((dialect) => dialect !== 'mysql');
const east = 'WH-EAST';
const west = 'WH-WEST';

describe.each(dialects)('gRPC inventory service on %s', (dialect) => {
  let api: GrpcApi;
  let opts: ReturnType<typeof as>;

  beforeAll(async () => {
    // A budget that 20,000 commands in a few seconds stay within: the limits are access.test.ts's.
    api = await startGrpc(dialect, { SKULD_RATE_LIMIT_PER_SECOND: '1000000', SKULD_RATE_LIMIT_BURST: '1000000' });
    opts = as(api.adminKey);
  });
  afterAll(async () => api?.close());

  async function stocked(quantity: number, location = east): Promise<string> {
    const sku = unique('SKU');
    await api.client.registerItem({ id: unique('reg'), sku }, opts);
    await api.client.receiveStock({ id: unique('rcv'), sku, location, quantity: BigInt(quantity) }, opts);
    return sku;
  }

  it('answers every command with its value and ledger position', async () => {
    const { client } = api;
    const sku = unique('SKU');
    const registered = await client.registerItem({ id: unique('reg'), sku, name: 'Lamp', lowStockThreshold: 3n }, opts);
    expect(registered.item).toMatchObject({ sku, name: 'Lamp', allowBackorder: false, lowStockThreshold: 3n });
    expect(registered.position).toBeGreaterThan(0n);
    expect(registered.replayed).toBe(false);

    const received = await client.receiveStock({ id: unique('rcv'), sku, location: east, quantity: 10n }, opts);
    expect(received.levels).toMatchObject([{ sku, location: east, onHand: 10n, reserved: 0n, available: 10n }]);
    expect(received.position).toBe(registered.position + 1n);

    const orderId = unique('order');
    const reserved = await client.reserveStock(
      { id: orderId, lines: [{ sku, location: east, quantity: 4n }], ttlMs: 60_000n, reference: 'o-1' },
      opts,
    );
    expect(reserved.reservation).toMatchObject({ id: orderId, status: ReservationStatus.PENDING });
    expect(reserved.reservation?.lines).toMatchObject([{ sku, location: east, quantity: 4n }]);
    expect(reserved.reservation?.lines[0]?.committed).toBeUndefined();

    const committed = await client.commitReservation(
      { id: unique('pay'), reservationId: orderId, lines: [{ sku, location: east, quantity: 3n }] },
      opts,
    );
    expect(committed.reservation).toMatchObject({ status: ReservationStatus.COMMITTED });
    expect(committed.reservation?.lines[0]?.committed).toBe(3n);

    const held = unique('order');
    await client.reserveStock({ id: held, lines: [{ sku, location: east, quantity: 2n }] }, opts);
    const released = await client.releaseReservation(
      { id: unique('rel'), reservationId: held, reason: 'cancelled' },
      opts,
    );
    expect(released.reservation?.status).toBe(ReservationStatus.RELEASED);

    const returned = await client.returnStock({ id: unique('ret'), sku, location: east, quantity: 1n }, opts);
    expect(returned.levels[0]?.onHand).toBe(8n);
    const adjusted = await client.adjustStock(
      { id: unique('adj'), sku, location: east, delta: -2n, reason: 'broken' },
      opts,
    );
    expect(adjusted.levels[0]?.onHand).toBe(6n);
    const counted = await client.countStock({ id: unique('cnt'), sku, location: east, counted: 5n }, opts);
    expect(counted.levels[0]?.onHand).toBe(5n);
    const moved = await client.transferStock({ id: unique('mov'), sku, from: east, to: west, quantity: 2n }, opts);
    expect(moved.levels.map((level) => [level.location, level.onHand])).toEqual([
      [east, 3n],
      [west, 2n],
    ]);
    expect((await verify(api.runtime.store)).ok).toBe(true);
  });

  it('answers a repeated command id with the first result, and another payload with IDEMPOTENCY_CONFLICT', async () => {
    const sku = await stocked(5);
    const command = { id: unique('rcv'), sku, location: east, quantity: 2n };
    const first = await api.client.receiveStock(command, opts);
    const again = await api.client.receiveStock(command, opts);
    expect(again).toMatchObject({ position: first.position, replayed: true, levels: first.levels });
    const conflict = await refusal(api.client.receiveStock({ ...command, quantity: 3n }, opts));
    expect(conflict).toMatchObject({ status: Code.AlreadyExists, code: 'IDEMPOTENCY_CONFLICT' });
    const stock = await api.client.getItemStock({ sku }, opts);
    expect(stock.totals?.onHand).toBe(7n);
  });

  it('serves every read', async () => {
    const { client } = api;
    const sku = await stocked(9);
    await client.receiveStock({ id: unique('rcv'), sku, location: west, quantity: 1n }, opts);
    const orderId = unique('order');
    const { position } = await client.reserveStock(
      { id: orderId, lines: [{ sku, location: east, quantity: 4n }] },
      opts,
    );

    expect((await client.getItem({ sku }, opts)).item?.sku).toBe(sku);
    const first = await client.listItems({ limit: 1 }, opts);
    expect(first.items).toHaveLength(1);
    const second = await client.listItems({ after: first.next as string, limit: 1 }, opts);
    expect((second.items[0]?.sku ?? '') > (first.next as string)).toBe(true);
    expect((await client.getReservation({ id: orderId }, opts)).reservation?.status).toBe(ReservationStatus.PENDING);

    const stock = await client.getItemStock({ sku, minPosition: position }, opts);
    expect(stock.totals).toMatchObject({ onHand: 10n, reserved: 4n, available: 6n });
    expect(stock.levels.map((level) => level.location)).toEqual([east, west]);
    expect((await client.getLevel({ sku, location: east }, opts)).level).toMatchObject({ reserved: 4n, available: 5n });
    expect((await client.getLevel({ sku, location: 'WH-NONE' }, opts)).level).toMatchObject({
      onHand: 0n,
      version: 0n,
    });
    const atWest = await client.listLocationStock({ location: west, limit: 1000 }, opts);
    expect(atWest.levels.some((level) => level.sku === sku)).toBe(true);
    expect(atWest.next).toBeUndefined();

    const page = await client.readLedger({ after: position - 2n, limit: 2 }, opts);
    expect(page.events.map((event) => event.position)).toEqual([position - 1n, position]);
    expect(page.next).toBe(position);
    const reserve = page.events[1];
    expect(reserve).toMatchObject({ type: 'StockReserved', sku, location: east, reservationId: orderId });
    expect(reserve?.actor).toBe('key:grpc-admin');
    expect(reserve?.id).toBe(`${sku}@${east}#2`);
    const history = await client.getItemHistory({ sku }, opts);
    expect(history.events.map((event) => event.type)).toEqual([
      'ItemRegistered',
      'StockReceived',
      'StockReceived',
      'StockReserved',
    ]);
    expect(history.events[0]?.attributes).toMatchObject({ name: '', allowBackorder: false });
  });

  it('refuses with the status of the code, the code in the details and the trailer, and changes nothing', async () => {
    const { client, clock } = api;
    const sku = await stocked(5);
    const pending = unique('order');
    await client.reserveStock({ id: pending, lines: [{ sku, location: east, quantity: 3n }], ttlMs: 1000n }, opts);
    const done = unique('order');
    await client.reserveStock({ id: done, lines: [{ sku, location: east, quantity: 1n }] }, opts);
    await client.commitReservation({ id: unique('pay'), reservationId: done }, opts);
    const gone = unique('order');
    await client.reserveStock({ id: gone, lines: [{ sku, location: east, quantity: 1n }] }, opts);
    await client.releaseReservation({ id: unique('rel'), reservationId: gone }, opts);
    const head = await api.runtime.store.headPosition();
    const line = (quantity: bigint) => [{ sku, location: east, quantity }];
    const cases: [string, () => Promise<unknown>, Code][] = [
      ['VALIDATION_FAILED', () => client.listItems({ limit: 5000 }, opts), Code.InvalidArgument],
      ['VALIDATION_FAILED', () => client.getItem({ sku: 'no such code!' }, opts), Code.InvalidArgument],
      ['INVALID_ID', () => client.registerItem({ id: '', sku: unique('SKU') }, opts), Code.InvalidArgument],
      ['INVALID_ID', () => client.registerItem({ id: 'sys:mine', sku: unique('SKU') }, opts), Code.InvalidArgument],
      ['INVALID_CODE', () => client.registerItem({ id: unique('reg'), sku: 'bad sku' }, opts), Code.InvalidArgument],
      [
        'INVALID_QUANTITY',
        () => client.receiveStock({ id: unique('r'), sku, location: east, quantity: 0n }, opts),
        Code.InvalidArgument,
      ],
      [
        'INVALID_QUANTITY',
        () => client.receiveStock({ id: unique('r'), sku, location: east, quantity: 2n ** 62n }, opts),
        Code.InvalidArgument,
      ],
      [
        'INVALID_TTL',
        () => client.reserveStock({ id: unique('o'), lines: line(1n), ttlMs: 0n }, opts),
        Code.InvalidArgument,
      ],
      ['INVALID_LINES', () => client.reserveStock({ id: unique('o'), lines: [] }, opts), Code.InvalidArgument],
      [
        'INVALID_TEXT',
        () => client.adjustStock({ id: unique('a'), sku, location: east, delta: 1n, reason: '' }, opts),
        Code.InvalidArgument,
      ],
      ['UNKNOWN_ITEM', () => client.getItemStock({ sku: unique('SKU') }, opts), Code.NotFound],
      [
        'UNKNOWN_ITEM',
        () => client.receiveStock({ id: unique('r'), sku: unique('SKU'), location: east, quantity: 1n }, opts),
        Code.NotFound,
      ],
      ['ITEM_ALREADY_EXISTS', () => client.registerItem({ id: unique('reg'), sku }, opts), Code.AlreadyExists],
      [
        'INSUFFICIENT_STOCK',
        () => client.reserveStock({ id: unique('o'), lines: line(99n) }, opts),
        Code.FailedPrecondition,
      ],
      [
        'COUNT_BELOW_RESERVED',
        () => client.countStock({ id: unique('c'), sku, location: east, counted: 0n }, opts),
        Code.FailedPrecondition,
      ],
      [
        'SAME_LOCATION',
        () => client.transferStock({ id: unique('t'), sku, from: east, to: east, quantity: 1n }, opts),
        Code.InvalidArgument,
      ],
      ['RESERVATION_NOT_FOUND', () => client.getReservation({ id: unique('none') }, opts), Code.NotFound],
      [
        'RESERVATION_NOT_FOUND',
        () => client.releaseReservation({ id: unique('rel'), reservationId: unique('none') }, opts),
        Code.NotFound,
      ],
      [
        'RESERVATION_ALREADY_COMMITTED',
        () => client.releaseReservation({ id: unique('rel'), reservationId: done }, opts),
        Code.FailedPrecondition,
      ],
      [
        'RESERVATION_ALREADY_RELEASED',
        () => client.commitReservation({ id: unique('pay'), reservationId: gone }, opts),
        Code.FailedPrecondition,
      ],
      [
        'COMMIT_EXCEEDS_RESERVATION',
        () => client.commitReservation({ id: unique('pay'), reservationId: pending, lines: line(4n) }, opts),
        Code.FailedPrecondition,
      ],
    ];
    for (const [code, call, status] of cases) {
      const refused = await refusal(call());
      expect(refused, code).toMatchObject({ status, code, trailer: code });
    }
    clock.advance(1500);
    const expired = await refusal(client.commitReservation({ id: unique('pay'), reservationId: pending }, opts));
    expect(expired).toMatchObject({ status: Code.FailedPrecondition, code: 'RESERVATION_EXPIRED' });
    const short = await refusal(client.reserveStock({ id: unique('o'), lines: line(99n) }, opts));
    expect(short.details).toMatchObject({ lines: [{ sku, location: east, requested: 99 }] });
    // Refusals write no event; the domain's (not the input checks') are recorded as first results.
    expect(await api.runtime.store.headPosition()).toBe(head);
  });

  it('imports a count sheet once however often it is sent, and serves its report', async () => {
    const sku = await stocked(10);
    const csv = `sku,location,counted,reason\n${sku},${east},8,shelf count\n${sku},bad code!,1,\n`;
    const sheet = { sheetId: unique('sheet'), sheet: { case: 'csv' as const, value: csv } };
    const { report } = await api.client.importCountSheet(sheet, opts);
    expect(report).toMatchObject({ kind: 'count-sheet', findings: 2n, actor: 'key:grpc-admin' });
    expect(report?.body).toMatchObject({ applied: 1 });
    const again = await api.client.importCountSheet(sheet, opts);
    expect(again.report?.body).toMatchObject({ applied: 0, alreadyApplied: 1 });
    expect((await api.client.getLevel({ sku, location: east }, opts)).level?.onHand).toBe(8n);
    const listed = await api.client.listReconciliationReports({ limit: 2 }, opts);
    expect(listed.reports.map((row) => row.id)).toEqual([again.report?.id, report?.id]);
    expect(listed.reports[0]?.body).toBeUndefined();
    const read = await api.client.getReconciliationReport({ id: report?.id as string }, opts);
    expect(read.report?.body).toEqual(report?.body);
    const missing = await refusal(api.client.getReconciliationReport({ id: unique('none') }, opts));
    expect(missing).toMatchObject({ status: Code.NotFound, code: 'NOT_FOUND' });
  });

  it('carries 10,000 commands on one stream and answers each, in order', async () => {
    const sku = await stocked(1_000_000);
    const count = 10_000;
    async function* commands(): AsyncGenerator<ExecuteCommandsRequest> {
      for (let index = 0; index < count; index += 1) {
        const lines = [{ sku, location: east, quantity: 1n }];
        // Every 100th is refused on its own: one short line among the others.
        const quantity = index % 100 === 99 ? 10_000_000n : 1n;
        yield create(ExecuteCommandsRequestSchema, {
          command: {
            case: 'reserveStock',
            value: { id: `stream-${sku}-${index}`, lines: [{ ...lines[0], quantity }] },
          },
        });
      }
    }
    const answers: ExecuteCommandsResponse[] = [];
    for await (const answer of api.client.executeCommands(commands(), opts)) answers.push(answer);
    expect(answers).toHaveLength(count);
    expect(answers.map((answer) => Number(answer.sequence))).toEqual([...Array(count).keys()]);
    const refused = answers.filter((answer) => answer.result.case === 'error');
    expect(refused).toHaveLength(count / 100);
    for (const answer of refused) {
      expect(answer.result.value).toMatchObject({
        status: Code.FailedPrecondition,
        detail: { code: 'INSUFFICIENT_STOCK' },
      });
    }
    const stock = await api.client.getItemStock({ sku }, opts);
    expect(stock.totals?.reserved).toBe(BigInt(count - count / 100));
    // Sent again, every command answers its first result.
    const again: ExecuteCommandsResponse[] = [];
    for await (const answer of api.client.executeCommands(commands(), opts)) again.push(answer);
    expect(again.every((answer) => answer.replayed)).toBe(true);
    expect((await verify(api.runtime.store)).ok).toBe(true);
  });

  it('leaves each command of a cancelled stream done or not at all; resent, each is answered once', async () => {
    const sku = await stocked(100_000);
    const count = 3000;
    function* ids() {
      for (let index = 0; index < count; index += 1) yield `cancel-${sku}-${index}`;
    }
    async function* commands(): AsyncGenerator<ExecuteCommandsRequest> {
      for (const id of ids()) {
        const value = { id, lines: [{ sku, location: east, quantity: 1n }] };
        yield create(ExecuteCommandsRequestSchema, { command: { case: 'reserveStock', value } });
      }
    }
    const stop = new AbortController();
    let received = 0;
    const ended = await (async () => {
      for await (const _ of api.client.executeCommands(commands(), as(api.adminKey, { signal: stop.signal }))) {
        received += 1;
        if (received === 100) stop.abort();
      }
    })().then(
      () => 'completed',
      (error: unknown) => (error as { code?: Code }).code,
    );
    expect(ended).toBe(Code.Canceled);
    const answers: ExecuteCommandsResponse[] = [];
    for await (const answer of api.client.executeCommands(commands(), opts)) answers.push(answer);
    expect(answers.every((answer) => answer.result.case === 'ok')).toBe(true);
    const replayed = answers.filter((answer) => answer.replayed).length;
    expect(replayed).toBeGreaterThanOrEqual(100);
    expect((await api.client.getItemStock({ sku }, opts)).totals?.reserved).toBe(BigInt(count));
    expect((await verify(api.runtime.store)).ok).toBe(true);
  });

  it('answers a stream command that carries no command, and goes on', async () => {
    const sku = unique('SKU');
    async function* commands(): AsyncGenerator<ExecuteCommandsRequest> {
      yield create(ExecuteCommandsRequestSchema, {});
      yield create(ExecuteCommandsRequestSchema, {
        command: { case: 'registerItem', value: { id: unique('reg'), sku } },
      });
    }
    const answers: ExecuteCommandsResponse[] = [];
    for await (const answer of api.client.executeCommands(commands(), opts)) answers.push(answer);
    expect(answers.map((answer) => answer.result.case)).toEqual(['error', 'ok']);
    expect(answers[0]?.result.value).toMatchObject({
      status: Code.InvalidArgument,
      detail: { code: 'VALIDATION_FAILED' },
    });
  });

  it('tails the ledger with WatchEvents and resumes after a position without gap or duplicate', async () => {
    const sku = await stocked(100);
    const from = await api.runtime.store.headPosition();
    const seen: bigint[] = [];
    const first = new AbortController();
    const watching = (async () => {
      const call = api.client.watchEvents({ after: BigInt(from) }, as(api.adminKey, { signal: first.signal }));
      for await (const { event } of call) {
        seen.push(event?.position as bigint);
        // Cancels the call (leaving the loop alone would not tell the server).
        if (seen.length === 5) first.abort();
        if (first.signal.aborted) break;
      }
    })();
    for (let index = 0; index < 12; index += 1) {
      await api.client.receiveStock({ id: unique('rcv'), sku, location: east, quantity: 1n }, opts);
    }
    await watching;
    expect(seen).toEqual([1n, 2n, 3n, 4n, 5n].map((n) => BigInt(from) + n));
    const resumed: bigint[] = [];
    const second = new AbortController();
    const call = api.client.watchEvents({ after: seen.at(-1) as bigint }, as(api.adminKey, { signal: second.signal }));
    for await (const { event } of call) {
      resumed.push(event?.position as bigint);
      if (resumed.length === 7) second.abort();
      if (second.signal.aborted) break;
    }
    expect([...seen, ...resumed]).toEqual([...Array(12).keys()].map((n) => BigInt(from + n + 1)));
  });

  it('ends a call at its deadline; the command is done whole or not at all, and a resend with its id is safe', async () => {
    const sku = await stocked(50);
    const before = await api.client.getItemStock({ sku }, opts);
    const results: string[] = [];
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const id = unique('order');
      const command = { id, lines: [{ sku, location: east, quantity: 1n }] };
      const outcome = await api.client.reserveStock(command, as(api.adminKey, { timeoutMs: 1 })).then(
        () => 'done',
        (error: unknown) => `${(error as { code?: Code }).code}`,
      );
      results.push(outcome);
      if (outcome !== 'done') expect(outcome).toBe(String(Code.DeadlineExceeded));
      const resent = await api.client.reserveStock(command, opts);
      expect(resent.reservation?.lines[0]?.quantity).toBe(1n);
    }
    expect(results.some((result) => result !== 'done')).toBe(true);
    const after = await api.client.getItemStock({ sku }, opts);
    expect(after.totals?.reserved).toBe((before.totals?.reserved ?? 0n) + 20n);
    expect((await verify(api.runtime.store)).ok).toBe(true);
  });

  it('ends a cancelled call; its command is done whole or not at all, and a resend with its id is safe', async () => {
    const sku = await stocked(50);
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const controller = new AbortController();
      const command = { id: unique('order'), lines: [{ sku, location: east, quantity: 2n }] };
      const call = api.client.reserveStock(command, as(api.adminKey, { signal: controller.signal }));
      if (attempt % 2 === 0) controller.abort();
      else setImmediate(() => controller.abort());
      const outcome = await call.then(
        () => 'done',
        (error: unknown) => (error as { code?: Code }).code,
      );
      expect(['done', Code.Canceled]).toContain(outcome);
      const resent = await api.client.reserveStock(command, opts);
      expect(resent.reservation?.status).toBe(ReservationStatus.PENDING);
    }
    expect((await api.client.getItemStock({ sku }, opts)).totals?.reserved).toBe(20n);
    expect((await verify(api.runtime.store)).ok).toBe(true);
  });
});

describe('gRPC read-model reads', () => {
  let api: GrpcApi;
  let opts: ReturnType<typeof as>;

  beforeAll(async () => {
    api = await startGrpc('sqlite', { SKULD_PROJECTOR: 'on', SKULD_READ_WAIT_MS_MAX: '200' });
    opts = as(api.adminKey);
  });
  afterAll(async () => api?.close());

  it('answers from the read models once they reflect the position asked for', async () => {
    const { client } = api;
    const sku = unique('SKU');
    await client.registerItem({ id: unique('reg'), sku, lowStockThreshold: 5n }, opts);
    await client.receiveStock({ id: unique('rcv'), sku, location: east, quantity: 6n }, opts);
    const order = unique('order');
    const { position } = await client.reserveStock(
      { id: order, lines: [{ sku, location: east, quantity: 2n }], reference: `ref-${order}` },
      opts,
    );
    const listed = await client.listReservations({ reference: `ref-${order}`, minPosition: position }, opts);
    expect(listed.reservations.map((row) => [row.reservation?.id, row.reservation?.status, row.reference])).toEqual([
      [order, ReservationStatus.PENDING, `ref-${order}`],
    ]);
    const pending = await client.listReservations(
      { status: ReservationStatus.PENDING, sku, minPosition: position },
      opts,
    );
    expect(pending.reservations).toHaveLength(1);
    const summary = await client.listStockSummary({ sku, minPosition: position }, opts);
    expect(summary.items).toMatchObject([{ sku, onHand: 6n, reserved: 2n, available: 4n, locations: 1n }]);
    const low = await client.listLowStock({ minPosition: position }, opts);
    expect(low.items.find((item) => item.sku === sku)).toMatchObject({ threshold: 5n, available: 4n });
    const crossings = await client.listLowStockCrossings({ sku, minPosition: position }, opts);
    // Registered below its threshold, above once received, below again once reserved.
    expect(crossings.crossings.map((crossing) => crossing.direction)).toEqual(['below', 'above', 'below']);
    const movements = await client.listItemMovements({ sku, type: 'StockReserved', minPosition: position }, opts);
    expect(movements.events.map((event) => [event.type, event.reservationId])).toEqual([['StockReserved', order]]);
    const daily = await client.listDailyMovements({ sku, minPosition: position }, opts);
    expect(daily.rows).toMatchObject([{ sku, location: east, events: 2n, onHandIn: 6n, reservedIn: 2n }]);
    const before = await client.getPastItemStock({ sku, asOf: { case: 'position', value: position - 1n } }, opts);
    expect(before).toMatchObject({ position: position - 1n, totals: { onHand: 6n, reserved: 0n, available: 6n } });
    const now = await client.getPastItemStock(
      { sku, asOf: { case: 'at', value: BigInt(api.clock.read()) }, clock: StockClock.RECORDED },
      opts,
    );
    expect(now.levels).toMatchObject([{ location: east, onHand: 6n, reserved: 2n, available: 4n }]);
    const neither = await refusal(client.getPastItemStock({ sku }, opts));
    expect(neither).toMatchObject({ status: Code.InvalidArgument, code: 'VALIDATION_FAILED' });
    const projections = await client.getProjections({}, opts);
    expect(projections.projecting).toBe(true);
    expect(projections.models.every((model) => model.position >= position)).toBe(true);
  });

  it('lists the instances sharing the store, as GET /v1/instances does', async () => {
    const now = api.clock.read();
    const beat = { httpUrl: 'http://10.0.0.7:3000', startedAt: now - 60_000, lastSeenAt: now };
    await api.runtime.store.instances.beat({ id: unique('vm-a'), grpcUrl: 'http://10.0.0.7:50051', ...beat });
    await api.runtime.store.instances.beat({ id: unique('vm-b'), grpcUrl: null, ...beat, lastSeenAt: now - 3_600_000 });
    const listed = await api.client.listInstances({}, opts);
    const expected = await api.runtime.instances.list();
    expect(listed.instances.length).toBeGreaterThanOrEqual(2);
    expect(
      listed.instances.map((instance) => ({
        id: instance.id,
        httpUrl: instance.httpUrl,
        grpcUrl: instance.grpcUrl ?? null,
        startedAt: Number(instance.startedAt),
        lastSeenAt: Number(instance.lastSeenAt),
        healthy: instance.healthy,
      })),
    ).toEqual(expected);
    expect(listed.instances.map((instance) => instance.healthy)).toContain(false);
  });

  it('refuses with UNAVAILABLE (READ_MODEL_BEHIND) when the models do not reach the position in time', async () => {
    const head = await api.runtime.store.headPosition();
    const refused = await refusal(api.client.listStockSummary({ minPosition: BigInt(head + 1000) }, opts));
    expect(refused).toMatchObject({ status: Code.Unavailable, code: 'READ_MODEL_BEHIND' });
  });
});
