import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import type { ApiRuntime } from '../api/commands.js';
import { domainError, emptyLevel, isValidId, viewLevel } from '../domain/index.js';
import { followLedger, tailOptionsOf } from '../events/ledger-tail.js';
import { stockAtPosition, stockAtTime } from '../events/read-side/point-in-time.js';
import { type InventoryService, StockClock } from './gen/skuld/inventory/v1/inventory_service_pb.js';
import { invalidField, refuse } from './grpc-errors.js';
import { eventMessage, itemMessage, levelMessage, reservationMessage } from './messages.js';
import { bigints, code, limitOf, positionOf, readModelsAt, totals, unknownItem } from './read-requests.js';

// The reads of the store and the read cache (items, reservations, stock now and in the past, the
// ledger), each as its HTTP route answers it, and WatchEvents tailing the ledger.

/**
 * Every ledger event after `after`, then each one as it commits, until the call ends: on the
 * in-process relay's pages like the HTTP event stream (ledger-tail.ts), so watchers cost no store
 * reads of their own once caught up. When the server closes, the stream ends with UNAVAILABLE: the
 * client resumes after its last position, here or on another instance.
 */
async function* watchEvents(runtime: ApiRuntime, from: number, context: HandlerContext, closing: AbortSignal) {
  const ended = AbortSignal.any([context.signal, closing]);
  let after = from;
  for await (const page of followLedger(tailOptionsOf(runtime), from, ended)) {
    for (const event of page) {
      yield { event: eventMessage(event) };
      after = event.position;
    }
  }
  if (closing.aborted && !context.signal.aborted) {
    throw new ConnectError(`the server is shutting down; resume after position ${after}`, Code.Unavailable);
  }
}

type ReadRpc =
  | 'getItem'
  | 'listItems'
  | 'getReservation'
  | 'getItemStock'
  | 'getLevel'
  | 'listLocationStock'
  | 'readLedger'
  | 'getItemHistory'
  | 'getPastItemStock'
  | 'listInstances'
  | 'watchEvents';

/** `closing` aborts when the server closes: WatchEvents streams end then. */
export function readHandlers(
  runtime: ApiRuntime,
  closing: AbortSignal,
): Pick<ServiceImpl<typeof InventoryService>, ReadRpc> {
  const { store, stock } = runtime;
  return {
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
    async listInstances() {
      const instances = await runtime.instances.list();
      return {
        instances: instances.map((instance) => ({
          id: instance.id,
          httpUrl: instance.httpUrl,
          grpcUrl: instance.grpcUrl ?? undefined,
          startedAt: BigInt(instance.startedAt),
          lastSeenAt: BigInt(instance.lastSeenAt),
          healthy: instance.healthy,
        })),
      };
    },
    watchEvents: (request, context) => watchEvents(runtime, positionOf('after', request.after) ?? 0, context, closing),
  };
}
