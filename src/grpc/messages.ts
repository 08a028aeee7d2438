import type { MessageInitShape } from '@bufbuild/protobuf';
import type { ClientCommandType } from '../api/commands.js';
import {
  type Command,
  type CommandValue,
  eventId,
  type Item,
  type LedgerEvent,
  type Level,
  type Reservation,
  type ReservationStatus as Status,
  type StockLine,
  viewLevel,
} from '../domain/index.js';
import type {
  AdjustStockRequest,
  CommitReservationRequest,
  CountStockRequest,
  ExecuteCommandsRequest,
  ExpectStockRequest,
  ReceiveStockRequest,
  RegisterItemRequest,
  ReleaseReservationRequest,
  ReserveStockRequest,
  ReturnStockRequest,
  TransferStockRequest,
} from './gen/skuld/inventory/v1/inventory_service_pb.js';
import {
  type ItemSchema,
  type LedgerEventSchema,
  type LevelSchema,
  type ReservationSchema,
  ReservationStatus,
  type StockLine as StockLineMessage,
} from './gen/skuld/inventory/v1/types_pb.js';

// The contract's messages and the domain's values, both ways. int64 members are bigints on the
// wire side and numbers in the domain: a value past 2^53 becomes an unsafe number, which the
// domain's checks refuse like any other out-of-range value, so nothing is rounded silently.

/** An optional int64 as a number; absent stays absent. */
export function numberOf(value: bigint | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

function optionalBig(value: number | null | undefined): bigint | undefined {
  return value === null || value === undefined ? undefined : BigInt(value);
}

function lines(messages: readonly StockLineMessage[]): StockLine[] {
  return messages.map((line) => ({ sku: line.sku, location: line.location, quantity: Number(line.quantity) }));
}

/** Each command from its request message, without its id and actor; int64 members as numbers. */
const commandBodies = {
  RegisterItem: (m: RegisterItemRequest) => ({
    type: 'RegisterItem' as const,
    sku: m.sku,
    name: m.name,
    allowBackorder: m.allowBackorder,
    lowStockThreshold: numberOf(m.lowStockThreshold),
  }),
  ReceiveStock: (m: ReceiveStockRequest) => ({
    type: 'ReceiveStock' as const,
    sku: m.sku,
    location: m.location,
    quantity: Number(m.quantity),
    reference: m.reference,
    occurredAt: numberOf(m.occurredAt),
    fromIncoming: numberOf(m.fromIncoming),
  }),
  ReserveStock: (m: ReserveStockRequest) => ({
    type: 'ReserveStock' as const,
    lines: lines(m.lines),
    ttlMs: numberOf(m.ttlMs),
    reference: m.reference,
  }),
  // No lines: every reserved unit is committed.
  CommitReservation: (m: CommitReservationRequest) => ({
    type: 'CommitReservation' as const,
    reservationId: m.reservationId,
    lines: m.lines.length === 0 ? undefined : lines(m.lines),
  }),
  ReleaseReservation: (m: ReleaseReservationRequest) => ({
    type: 'ReleaseReservation' as const,
    reservationId: m.reservationId,
    reason: m.reason,
  }),
  ReturnStock: (m: ReturnStockRequest) => ({
    type: 'ReturnStock' as const,
    sku: m.sku,
    location: m.location,
    quantity: Number(m.quantity),
    reason: m.reason,
    reference: m.reference,
    occurredAt: numberOf(m.occurredAt),
  }),
  AdjustStock: (m: AdjustStockRequest) => ({
    type: 'AdjustStock' as const,
    sku: m.sku,
    location: m.location,
    delta: Number(m.delta),
    reason: m.reason,
    occurredAt: numberOf(m.occurredAt),
  }),
  CountStock: (m: CountStockRequest) => ({
    type: 'CountStock' as const,
    sku: m.sku,
    location: m.location,
    counted: Number(m.counted),
    reason: m.reason,
    occurredAt: numberOf(m.occurredAt),
  }),
  TransferStock: (m: TransferStockRequest) => ({
    type: 'TransferStock' as const,
    sku: m.sku,
    from: m.from,
    to: m.to,
    quantity: Number(m.quantity),
    reference: m.reference,
  }),
  ExpectStock: (m: ExpectStockRequest) => ({
    type: 'ExpectStock' as const,
    sku: m.sku,
    location: m.location,
    delta: Number(m.delta),
    reason: m.reason,
    reference: m.reference,
  }),
} satisfies Record<ClientCommandType, (message: never) => Omit<Command, 'id' | 'actor'>>;

export type CommandRequest<T extends ClientCommandType> = Parameters<(typeof commandBodies)[T]>[0];

/**
 * A command from its request message, as the principal's. Members the message leaves at their
 * default (an empty code, a zero quantity) go to the domain as they are, and its checks refuse
 * them as the HTTP API's would.
 */
export function toCommand<T extends ClientCommandType>(type: T, message: CommandRequest<T>, actor: string): Command {
  const body = (commandBodies[type] as (m: CommandRequest<T>) => Omit<Command, 'id' | 'actor'>)(message);
  return { ...body, id: message.id, actor } as Command;
}

/** The command type of each case of a stream's request. */
const streamCases = {
  registerItem: 'RegisterItem',
  receiveStock: 'ReceiveStock',
  reserveStock: 'ReserveStock',
  commitReservation: 'CommitReservation',
  releaseReservation: 'ReleaseReservation',
  returnStock: 'ReturnStock',
  adjustStock: 'AdjustStock',
  countStock: 'CountStock',
  transferStock: 'TransferStock',
  expectStock: 'ExpectStock',
} as const satisfies Record<NonNullable<ExecuteCommandsRequest['command']['case']>, ClientCommandType>;

/** The command one of a stream's requests carries, as the principal's; undefined when it carries none. */
export function commandOf(request: ExecuteCommandsRequest, actor: string): Command | undefined {
  const { command } = request;
  if (command.case === undefined) return undefined;
  return toCommand(streamCases[command.case], command.value as never, actor);
}

export function itemMessage(item: Item): MessageInitShape<typeof ItemSchema> {
  return {
    sku: item.sku,
    name: item.name,
    allowBackorder: item.allowBackorder,
    lowStockThreshold: optionalBig(item.lowStockThreshold),
    createdAt: BigInt(item.createdAt),
  };
}

export function levelMessage(level: Level): MessageInitShape<typeof LevelSchema> {
  const view = 'available' in level ? (level as ReturnType<typeof viewLevel>) : viewLevel(level);
  return {
    sku: view.sku,
    location: view.location,
    onHand: BigInt(view.onHand),
    reserved: BigInt(view.reserved),
    available: BigInt(view.available),
    version: BigInt(view.version),
    incoming: BigInt(view.incoming),
    projected: BigInt(view.projected),
  };
}

const statuses: Readonly<Record<Status, ReservationStatus>> = {
  pending: ReservationStatus.PENDING,
  committed: ReservationStatus.COMMITTED,
  released: ReservationStatus.RELEASED,
  expired: ReservationStatus.EXPIRED,
};

export function reservationMessage(reservation: Reservation): MessageInitShape<typeof ReservationSchema> {
  return {
    id: reservation.id,
    status: statuses[reservation.status],
    lines: reservation.lines.map((line) => ({
      sku: line.sku,
      location: line.location,
      quantity: BigInt(line.quantity),
      committed: optionalBig(line.committed),
    })),
    createdAt: BigInt(reservation.createdAt),
    expiresAt: BigInt(reservation.expiresAt),
    resolvedAt: optionalBig(reservation.resolvedAt),
  };
}

export function eventMessage(event: LedgerEvent): MessageInitShape<typeof LedgerEventSchema> {
  const { attributes } = event;
  return {
    id: eventId(event),
    position: BigInt(event.position),
    type: event.type,
    sku: event.sku,
    location: event.location,
    streamVersion: BigInt(event.streamVersion),
    onHandDelta: BigInt(event.onHandDelta),
    reservedDelta: BigInt(event.reservedDelta),
    onHandAfter: BigInt(event.onHandAfter),
    reservedAfter: BigInt(event.reservedAfter),
    incomingDelta: BigInt(event.incomingDelta),
    incomingAfter: BigInt(event.incomingAfter),
    quantity: BigInt(event.quantity),
    commandId: event.commandId,
    reservationId: event.reservationId ?? undefined,
    expiresAt: optionalBig(event.expiresAt),
    peerLocation: event.peerLocation ?? undefined,
    reason: event.reason ?? undefined,
    reference: event.reference ?? undefined,
    actor: event.actor,
    occurredAt: BigInt(event.occurredAt),
    recordedAt: BigInt(event.recordedAt),
    attributes:
      attributes === null
        ? undefined
        : {
            name: attributes.name,
            allowBackorder: attributes.allowBackorder,
            lowStockThreshold: optionalBig(attributes.lowStockThreshold),
          },
  };
}

/** A command's value as the members of its response: `item`, `reservation` or `levels`. */
export function valueMembers(value: CommandValue) {
  switch (value.kind) {
    case 'item':
      return { item: itemMessage(value.item) };
    case 'reservation':
      return { reservation: reservationMessage(value.reservation) };
    case 'levels':
      return { levels: value.levels.map(levelMessage) };
  }
}
