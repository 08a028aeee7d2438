import type { JsonObject } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import type { ApiRuntime } from '../api/commands.js';
import { domainError, isValidId, type Reservation } from '../domain/index.js';
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
import type { CountSheetLine, InventoryService } from './gen/skuld/inventory/v1/inventory_service_pb.js';
import { ReservationStatus } from './gen/skuld/inventory/v1/types_pb.js';
import { principalOf } from './grpc-access.js';
import { invalidField, refuse } from './grpc-errors.js';
import { eventMessage, reservationMessage } from './messages.js';
import { bigints, code, limitOf, positionOf, readModelsAt, unknownItem } from './read-requests.js';

// The reads of the read models (reservation lists, summaries, low stock, movements, the daily
// report, the projections' status), the count sheets and the reconciliation reports, each as
// its HTTP route answers it.

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

type ReadModelRpc =
  | 'listReservations'
  | 'listStockSummary'
  | 'listLowStock'
  | 'listLowStockCrossings'
  | 'listItemMovements'
  | 'listDailyMovements'
  | 'getProjections';

type ReconciliationRpc = 'importCountSheet' | 'listReconciliationReports' | 'getReconciliationReport';

export function readModelHandlers(runtime: ApiRuntime): Pick<ServiceImpl<typeof InventoryService>, ReadModelRpc> {
  const { store } = runtime;
  return {
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
  };
}

/** Count sheets (a CountStock per line, through the engine) and the reports they and verify runs leave. */
export function reconciliationHandlers(
  runtime: ApiRuntime,
): Pick<ServiceImpl<typeof InventoryService>, ReconciliationRpc> {
  const { store } = runtime;
  return {
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
  };
}
