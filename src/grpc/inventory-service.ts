import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonObject, MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import type { ApiRuntime, ClientCommandType } from '../api/commands.js';
import { commandScopes } from '../auth/scopes.js';
import {
  type Command,
  type DomainError,
  domainError,
  emptyLevel,
  isValidCode,
  isValidId,
  type Level,
  type Reservation,
  viewLevel,
} from '../domain/index.js';
import type { Answer } from '../engine/executor.js';
import { stockAtPosition, stockAtTime } from '../events/read-side/point-in-time.js';
import {
  dailyKey,
  listCrossings,
  listDailyMovements,
  listLowStock,
  listMovements,
  listReservations,
  listStockSummary,
} from '../events/read-side/read-queries.js';
import { importCountSheet } from '../events/reconciliation/count-import.js';
import { type CountSheet, CountSheetError, readCsvSheet, readJsonSheet } from '../events/reconciliation/count-sheet.js';
import { reportsListedMax } from '../events/reconciliation/reports.js';
import type { ReportSummary } from '../store/port.js';
import {
  type CountSheetLine,
  type ExecuteCommandsRequest,
  type ExecuteCommandsResponseSchema,
  type InventoryService,
  StockClock,
} from './gen/skuld/inventory/v1/inventory_service_pb.js';
import { ReservationStatus } from './gen/skuld/inventory/v1/types_pb.js';
import { forbidden, type GrpcAuth, principalOf, rateLimited } from './grpc-access.js';
import { detailsOf, grpcStatus, invalidField, toConnectError } from './grpc-errors.js';
import {
  type CommandRequest,
  commandOf,
  eventMessage,
  itemMessage,
  levelMessage,
  numberOf,
  reservationMessage,
  toCommand,
  valueMembers,
} from './messages.js';

// The inventory service: each command goes to the write path as its HTTP route would send it
// (the principal as actor), each read to the same read ports. A command handed to the engine is
// decided whole whatever becomes of the call: a call cancelled or past its deadline after that
// point leaves the command done or refused, never in part, and its id tells which on a resend.

/** Most commands of one stream in the engine at once; the stream is read no further until one is answered. */
export const streamCommandsInFlightMax = 1024;
/** Events WatchEvents reads from the ledger at once. */
const watchPageEventsMax = 1000;
/** How long WatchEvents waits, once caught up with the ledger, before it looks again. */
const watchPollMs = 50;
/** Page sizes of the reads, as the HTTP API's `limit`. */
const pageLimitDefault = 100;
const pageLimitMax = 1000;

function refuse(error: DomainError): never {
  throw toConnectError(error);
}

/** The read models the read-model reads wait for. */
type ModelName = Parameters<ApiRuntime['readSide']['waitFor']>[1][number];

/**
 * Read your writes on the read side: waits, a bounded time, until the models reflect
 * `minPosition`; READ_MODEL_BEHIND when they do not.
 */
async function readModelsAt(runtime: ApiRuntime, minPosition: bigint | undefined, models: ModelName[]): Promise<void> {
  const position = positionOf('minPosition', minPosition);
  if (position === undefined || position === 0 || (await runtime.readSide.waitFor(position, models))) return;
  const message = `the read models have not reached position ${position} yet; retry after 1 s`;
  refuse(domainError('READ_MODEL_BEHIND', message, { minPosition: position, models, retryAfterS: 1 }));
}

/** A row of numbers as the contract's int64 members (strings stay strings). */
function bigints<T extends object>(row: T): { [K in keyof T]: T[K] extends number ? bigint : T[K] } {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => [key, typeof value === 'number' ? BigInt(value) : value]),
  ) as { [K in keyof T]: T[K] extends number ? bigint : T[K] };
}

const statusNames: Readonly<Record<ReservationStatus, Reservation['status'] | undefined>> = {
  [ReservationStatus.UNSPECIFIED]: undefined,
  [ReservationStatus.PENDING]: 'pending',
  [ReservationStatus.COMMITTED]: 'committed',
  [ReservationStatus.RELEASED]: 'released',
  [ReservationStatus.EXPIRED]: 'expired',
};

/** Reports a page lists when the request names no limit, as over HTTP. */
const reportsListDefault = 20;

/** A count sheet's line as the JSON sheet reader takes it (absent members left out). */
function sheetLine(line: CountSheetLine): Record<string, unknown> {
  const fields: Record<string, unknown> = { sku: line.sku, location: line.location, counted: Number(line.counted) };
  if (line.reason !== undefined) fields.reason = line.reason;
  if (line.occurredAt !== undefined) fields.occurredAt = Number(line.occurredAt);
  return fields;
}

/** A report, or a report's summary (no body), as the contract's message. */
function reportMessage(report: ReportSummary & { readonly body?: unknown }) {
  const { body } = report;
  return {
    id: report.id,
    kind: report.kind,
    createdAt: BigInt(report.createdAt),
    actor: report.actor,
    findings: BigInt(report.findings),
    summary: report.summary,
    body: body === undefined ? undefined : (JSON.parse(JSON.stringify(body)) as JsonObject),
  };
}

/** Sends a command unless the call is already over: a cancelled call's command is never started. */
function execute(runtime: ApiRuntime, context: HandlerContext, command: Command): Promise<Answer> {
  if (context.signal.aborted) throw ConnectError.from(context.signal.reason);
  return runtime.engine.execute(command);
}

/** A unary command's response: its value's members, its position and whether it was replayed. */
function answered(answer: Answer) {
  const { outcome } = answer;
  if (!outcome.ok) refuse(outcome.error);
  return { ...valueMembers(outcome.value), position: BigInt(outcome.position), replayed: answer.replayed };
}

function code(field: string, value: string): string {
  if (!isValidCode(value)) refuse(invalidField(field, 'is not a valid code'));
  return value;
}

function limitOf(limit: number | undefined): number {
  if (limit === undefined) return pageLimitDefault;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > pageLimitMax) {
    refuse(invalidField('limit', `must be an integer from 1 to ${pageLimitMax}`));
  }
  return limit;
}

function positionOf(field: string, value: bigint | undefined): number | undefined {
  const position = numberOf(value);
  if (position !== undefined && (!Number.isSafeInteger(position) || position < 0)) {
    refuse(invalidField(field, 'must be an integer from 0 to 2^53 - 1'));
  }
  return position;
}

function unknownItem(sku: string): DomainError {
  return domainError('UNKNOWN_ITEM', `item ${sku} is not registered`, { sku });
}

function totals(levels: readonly Level[]) {
  let onHand = 0n;
  let reserved = 0n;
  for (const level of levels) {
    onHand += BigInt(level.onHand);
    reserved += BigInt(level.reserved);
  }
  return { onHand, reserved, available: onHand - reserved };
}

type StreamAnswer = MessageInitShape<typeof ExecuteCommandsResponseSchema>;

/** One command of a stream: its scope, a token of the principal's budget, then the engine. */
async function streamAnswer(
  runtime: ApiRuntime,
  auth: GrpcAuth,
  context: HandlerContext,
  request: ExecuteCommandsRequest,
  sequence: number,
): Promise<StreamAnswer> {
  const principal = principalOf(context);
  const command = commandOf(request, principal.actor);
  const refused = (commandId: string, error: DomainError): StreamAnswer => ({
    sequence: BigInt(sequence),
    commandId,
    result: {
      case: 'error',
      value: { status: grpcStatus(error.code), detail: { ...error, details: detailsOf(error) } },
    },
  });
  if (command === undefined) return refused('', invalidField('command', 'is not set'));
  const scope = commandScopes[command.type as ClientCommandType];
  if (!principal.scopes.has(scope)) return refused(command.id, forbidden(scope));
  const limited = rateLimited(await auth.requests.take(principal.actor, 1));
  if (limited !== undefined) return refused(command.id, limited);
  const { outcome, replayed } = await execute(runtime, context, command);
  if (!outcome.ok) return { ...refused(command.id, outcome.error), replayed };
  const members = valueMembers(outcome.value);
  const value =
    'item' in members
      ? { case: 'item' as const, value: members.item }
      : 'reservation' in members
        ? { case: 'reservation' as const, value: members.reservation }
        : { case: 'levels' as const, value: members };
  return {
    sequence: BigInt(sequence),
    commandId: command.id,
    replayed,
    result: { case: 'ok', value: { value, position: BigInt(outcome.position) } },
  };
}

/**
 * Answers a stream's commands in the order they came, while reading on: up to
 * streamCommandsInFlightMax of them are in the engine at once, so they share its batches.
 */
async function* executeCommands(
  runtime: ApiRuntime,
  auth: GrpcAuth,
  requests: AsyncIterable<ExecuteCommandsRequest>,
  context: HandlerContext,
): AsyncGenerator<StreamAnswer> {
  const answers: Promise<StreamAnswer>[] = [];
  let wake: (() => void) | undefined;
  let room: (() => void) | undefined;
  let readDone = false;
  let readError: unknown;
  const reading = (async () => {
    let sequence = 0;
    for await (const request of requests) {
      while (answers.length >= streamCommandsInFlightMax) await new Promise<void>((resolve) => (room = resolve));
      const answer = streamAnswer(runtime, auth, context, request, sequence);
      // A call that ended leaves its answers unread: their failures are the call's, not the process's.
      answer.catch(() => undefined);
      answers.push(answer);
      sequence += 1;
      wake?.();
    }
  })();
  // The request side ended, or failed (the client went away): either way the answers go on to the end.
  reading.then(
    () => {
      readDone = true;
      wake?.();
    },
    (error: unknown) => {
      readError = error;
      readDone = true;
      wake?.();
    },
  );
  while (true) {
    const next = answers.shift();
    if (next === undefined) {
      if (readDone) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      continue;
    }
    room?.();
    room = undefined;
    yield await next;
  }
  if (readError !== undefined) throw readError;
}

/**
 * Every ledger event after `after`, then each one as it commits, until the call ends. When the
 * server closes, the stream ends with UNAVAILABLE: the client resumes after its last position,
 * here or on another instance.
 */
async function* watchEvents(runtime: ApiRuntime, from: number, context: HandlerContext, closing: AbortSignal) {
  const ended = AbortSignal.any([context.signal, closing]);
  let after = from;
  while (!ended.aborted) {
    const events = await runtime.store.readLedger(after, watchPageEventsMax);
    for (const event of events) {
      yield { event: eventMessage(event) };
      after = event.position;
    }
    if (events.length === watchPageEventsMax) continue;
    try {
      await sleep(watchPollMs, undefined, { signal: ended });
    } catch {
      // The call was cancelled or its deadline passed, or the server closes.
      break;
    }
  }
  if (closing.aborted && !context.signal.aborted) {
    throw new ConnectError(`the server is shutting down; resume after position ${after}`, Code.Unavailable);
  }
}

/** `closing` aborts when the server closes: WatchEvents streams end then. */
export function inventoryService(
  runtime: ApiRuntime,
  auth: GrpcAuth,
  closing: AbortSignal,
): ServiceImpl<typeof InventoryService> {
  const { store, stock } = runtime;
  const unary =
    <T extends ClientCommandType>(type: T) =>
    async (request: CommandRequest<T>, context: HandlerContext) =>
      answered(await execute(runtime, context, toCommand(type, request, principalOf(context).actor)));
  return {
    registerItem: unary('RegisterItem'),
    receiveStock: unary('ReceiveStock'),
    reserveStock: unary('ReserveStock'),
    commitReservation: unary('CommitReservation'),
    releaseReservation: unary('ReleaseReservation'),
    returnStock: unary('ReturnStock'),
    adjustStock: unary('AdjustStock'),
    countStock: unary('CountStock'),
    transferStock: unary('TransferStock'),
    executeCommands: (requests, context) => executeCommands(runtime, auth, requests, context),

    async getItem({ sku }) {
      const item = await store.getItem(code('sku', sku));
      return { item: itemMessage(item ?? refuse(unknownItem(sku))) };
    },
    async listItems({ after, limit }) {
      const size = limitOf(limit);
      const items = await store.listItems(after === undefined ? undefined : code('after', after), size);
      return { items: items.map(itemMessage), next: items.length < size ? undefined : items.at(-1)?.sku };
    },
    async getReservation({ id }) {
      if (!isValidId(id)) refuse(invalidField('id', 'is not a valid id'));
      const reservation = await store.getReservation(id);
      if (reservation === undefined) {
        refuse(domainError('RESERVATION_NOT_FOUND', `reservation ${id} does not exist`, { reservationId: id }));
      }
      return { reservation: reservationMessage(reservation) };
    },
    async getItemStock(request) {
      const sku = code('sku', request.sku);
      const { item, levels } = await stock.itemStock(sku, positionOf('minPosition', request.minPosition));
      if (item === undefined) refuse(unknownItem(sku));
      return { sku, levels: levels.map(levelMessage), totals: totals(levels) };
    },
    async getLevel(request) {
      const sku = code('sku', request.sku);
      const location = code('location', request.location);
      const { item, levels } = await stock.itemStock(sku, positionOf('minPosition', request.minPosition));
      if (item === undefined) refuse(unknownItem(sku));
      const level = levels.find((row) => row.location === location) ?? emptyLevel(sku, location);
      return { level: levelMessage(viewLevel(level)) };
    },
    async listLocationStock(request) {
      const location = code('location', request.location);
      const size = limitOf(request.limit);
      const after = request.after === undefined ? undefined : code('after', request.after);
      const rows = await stock.locationStock(location, after, size, positionOf('minPosition', request.minPosition));
      return { location, levels: rows.map(levelMessage), next: rows.length < size ? undefined : rows.at(-1)?.sku };
    },
    async readLedger(request) {
      const after = positionOf('after', request.after) ?? 0;
      const events = await store.readLedger(after, limitOf(request.limit));
      return { events: events.map(eventMessage), next: BigInt(events.at(-1)?.position ?? after) };
    },
    async getItemHistory(request) {
      const sku = code('sku', request.sku);
      const after = positionOf('after', request.after) ?? 0;
      const events = await store.itemHistory(sku, after, limitOf(request.limit));
      // Only an empty page can hide an unknown SKU; ask for the item then, not on every page.
      if (events.length === 0 && (await store.getItem(sku)) === undefined) refuse(unknownItem(sku));
      return { events: events.map(eventMessage), next: BigInt(events.at(-1)?.position ?? after) };
    },
    async listReservations(request) {
      await readModelsAt(runtime, request.minPosition, ['reservations']);
      const size = limitOf(request.limit);
      const filter = {
        status: request.status === ReservationStatus.UNSPECIFIED ? undefined : statusNames[request.status],
        sku: request.sku === undefined ? undefined : code('sku', request.sku),
        reference: request.reference,
        expiresBefore: positionOf('expiresBefore', request.expiresBefore),
      };
      const rows = await listReservations(runtime.readSide.db, filter, positionOf('after', request.after) ?? 0, size);
      return {
        reservations: rows.map((row) => ({
          reservation: reservationMessage({ ...row, status: row.status as Reservation['status'] }),
          reference: row.reference ?? undefined,
          position: BigInt(row.position),
        })),
        next: rows.length < size ? undefined : BigInt(rows.at(-1)?.position ?? 0),
      };
    },
    async listStockSummary(request) {
      await readModelsAt(runtime, request.minPosition, ['stock-summary']);
      const size = limitOf(request.limit);
      const sku = request.sku === undefined ? undefined : code('sku', request.sku);
      const after = request.after === undefined ? undefined : code('after', request.after);
      const rows = await listStockSummary(runtime.readSide.db, sku, after, size);
      return { items: rows.map(bigints), next: rows.length < size ? undefined : rows.at(-1)?.sku };
    },
    async listLowStock(request) {
      await readModelsAt(runtime, request.minPosition, ['low-stock']);
      const size = limitOf(request.limit);
      const after = request.after === undefined ? undefined : code('after', request.after);
      const rows = await listLowStock(runtime.readSide.db, after, size);
      return { items: rows.map(bigints), next: rows.length < size ? undefined : rows.at(-1)?.sku };
    },
    async listLowStockCrossings(request) {
      await readModelsAt(runtime, request.minPosition, ['low-stock']);
      const size = limitOf(request.limit);
      const sku = request.sku === undefined ? undefined : code('sku', request.sku);
      const rows = await listCrossings(runtime.readSide.db, sku, positionOf('after', request.after) ?? 0, size);
      return {
        crossings: rows.map(bigints),
        next: rows.length < size ? undefined : BigInt(rows.at(-1)?.position ?? 0),
      };
    },
    async listItemMovements(request) {
      await readModelsAt(runtime, request.minPosition, ['movements']);
      const size = limitOf(request.limit);
      const sku = code('sku', request.sku);
      const after = positionOf('after', request.after) ?? 0;
      const filter = {
        sku,
        location: request.location === undefined ? undefined : code('location', request.location),
        type: request.type,
        from: positionOf('from', request.from),
        to: positionOf('to', request.to),
      };
      const events = await listMovements(runtime.readSide.db, filter, after, size);
      if (events.length === 0 && after === 0 && (await store.getItem(sku)) === undefined) refuse(unknownItem(sku));
      return {
        events: events.map(eventMessage),
        next: events.length < size ? undefined : BigInt(events.at(-1)?.position ?? 0),
      };
    },
    async listDailyMovements(request) {
      await readModelsAt(runtime, request.minPosition, ['daily-movements']);
      const size = limitOf(request.limit);
      if (request.date !== undefined && !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(request.date)) {
        refuse(invalidField('date', 'must be a UTC day, YYYY-MM-DD'));
      }
      const filter = {
        date: request.date,
        sku: request.sku === undefined ? undefined : code('sku', request.sku),
        location: request.location === undefined ? undefined : code('location', request.location),
      };
      const rows = await listDailyMovements(runtime.readSide.db, filter, request.after, size);
      const last = rows.at(-1);
      return { rows: rows.map(bigints), next: rows.length < size || last === undefined ? undefined : dailyKey(last) };
    },
    async getProjections() {
      const status = await runtime.readSide.status();
      return { head: BigInt(status.head), models: status.models.map(bigints), projecting: status.projecting };
    },
    async getPastItemStock(request) {
      const sku = code('sku', request.sku);
      const { asOf } = request;
      if (asOf.case === undefined) refuse(invalidField('as_of', 'must give `position` or `at`'));
      if (asOf.case === 'position' && request.clock !== StockClock.UNSPECIFIED) {
        refuse(invalidField('clock', 'goes with `at`'));
      }
      if ((await store.getItem(sku)) === undefined) refuse(unknownItem(sku));
      const asked = positionOf(asOf.case, asOf.value) ?? 0;
      const wanted = Math.max(
        asOf.case === 'position' ? asked : 0,
        positionOf('minPosition', request.minPosition) ?? 0,
      );
      await readModelsAt(runtime, BigInt(wanted), ['movements']);
      const { db } = runtime.readSide;
      const clock = request.clock === StockClock.RECORDED ? 'recorded' : 'occurred';
      const past =
        asOf.case === 'position' ? await stockAtPosition(db, sku, asked) : await stockAtTime(db, sku, asked, clock);
      return { sku, levels: past.levels.map(bigints), totals: bigints(past.totals), position: BigInt(past.position) };
    },
    async importCountSheet(request, context) {
      const sheetId = request.sheetId;
      const { sheet } = request;
      if (sheet.case === undefined) refuse(invalidField('sheet', 'must give `csv` or `lines`'));
      let read: CountSheet;
      try {
        read =
          sheet.case === 'csv'
            ? readCsvSheet(sheet.value, sheetId)
            : readJsonSheet(sheet.value.lines.map(sheetLine), sheetId);
      } catch (error) {
        if (!(error instanceof CountSheetError)) throw error;
        refuse(domainError('VALIDATION_FAILED', error.message));
      }
      const parts = { executor: runtime.engine, store };
      const { report } = await importCountSheet(parts, read, principalOf(context).actor, Date.now());
      return { report: reportMessage(report) };
    },
    async listReconciliationReports(request) {
      const size = request.limit ?? reportsListDefault;
      if (!Number.isSafeInteger(size) || size < 1 || size > reportsListedMax) {
        refuse(invalidField('limit', `must be an integer from 1 to ${reportsListedMax}`));
      }
      if (request.before !== undefined && !isValidId(request.before))
        refuse(invalidField('before', 'is not a valid id'));
      const reports = await store.reports.listReports(request.before, size);
      return { reports: reports.map(reportMessage), next: reports.length < size ? undefined : reports.at(-1)?.id };
    },
    async getReconciliationReport({ id }) {
      if (!isValidId(id)) refuse(invalidField('id', 'is not a valid id'));
      const report = await store.reports.getReport(id);
      if (report === undefined) refuse(domainError('NOT_FOUND', `report ${id} does not exist`, { id }));
      return { report: reportMessage(report) };
    },
    watchEvents: (request, context) => watchEvents(runtime, positionOf('after', request.after) ?? 0, context, closing),
  };
}
