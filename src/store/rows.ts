import type {
  CommandRecord,
  CommandType,
  EventType,
  Item,
  ItemAttributes,
  LedgerEvent,
  Level,
  Reservation,
  ReservationLine,
  ReservationStatus,
  StoredOutcome,
} from '../domain/index.js';
import { type LedgerBalance, StoreError, type WriteSet } from './port.js';

// Row shapes shared by every SQL dialect: column names are snake_case, times are epoch
// milliseconds in 64-bit integers, structured values are JSON. Each adapter hands raw rows here.

export interface ItemRow {
  sku: string;
  name: string;
  allow_backorder: boolean | number;
  created_at: number;
  low_stock_threshold: number | string | null;
}

export interface LevelRow {
  sku: string;
  location: string;
  on_hand: number;
  reserved: number;
  incoming: number;
  version: number;
}

export interface ReservationRow {
  id: string;
  status: string;
  lines: string | ReservationLine[];
  created_at: number;
  expires_at: number;
  resolved_at: number | null;
}

export interface CommandRow {
  id: string;
  type: string;
  fingerprint: string;
  outcome: string | StoredOutcome;
  recorded_at: number;
}

export interface LedgerRow {
  position: number;
  type: string;
  sku: string;
  location: string;
  on_hand_delta: number;
  reserved_delta: number;
  on_hand_after: number;
  reserved_after: number;
  quantity: number;
  command_id: string;
  reservation_id: string | null;
  expires_at: number | null;
  peer_location: string | null;
  reason: string | null;
  reference: string | null;
  actor: string;
  occurred_at: number;
  recorded_at: number;
  stream_version: number;
  /** JSON of the ItemAttributes, on ItemRegistered only. */
  attributes: string | null;
  incoming_delta: number;
  incoming_after: number;
}

const parsed = <T>(value: string | T): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

export function itemFromRow(row: ItemRow): Item {
  return {
    sku: row.sku,
    name: row.name,
    allowBackorder: Boolean(row.allow_backorder),
    lowStockThreshold: row.low_stock_threshold === null ? null : Number(row.low_stock_threshold),
    createdAt: Number(row.created_at),
  };
}

export function itemToRow(item: Item): ItemRow {
  return {
    sku: item.sku,
    name: item.name,
    allow_backorder: item.allowBackorder,
    created_at: item.createdAt,
    low_stock_threshold: item.lowStockThreshold,
  };
}

export function levelFromRow(row: LevelRow): Level {
  return {
    sku: row.sku,
    location: row.location,
    onHand: Number(row.on_hand),
    reserved: Number(row.reserved),
    incoming: Number(row.incoming),
    version: Number(row.version),
  };
}

export function levelToRow(level: Level): LevelRow {
  return {
    sku: level.sku,
    location: level.location,
    on_hand: level.onHand,
    reserved: level.reserved,
    incoming: level.incoming,
    version: level.version,
  };
}

export function reservationFromRow(row: ReservationRow): Reservation {
  return {
    id: row.id,
    status: row.status as ReservationStatus,
    lines: parsed(row.lines),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    resolvedAt: row.resolved_at === null ? null : Number(row.resolved_at),
  };
}

export function reservationToRow(reservation: Reservation): ReservationRow {
  return {
    id: reservation.id,
    status: reservation.status,
    lines: reservation.lines as ReservationLine[],
    created_at: reservation.createdAt,
    expires_at: reservation.expiresAt,
    resolved_at: reservation.resolvedAt,
  };
}

export function commandFromRow(row: CommandRow): CommandRecord {
  return {
    id: row.id,
    type: row.type as CommandType,
    fingerprint: row.fingerprint,
    outcome: parsed(row.outcome),
    recordedAt: Number(row.recorded_at),
  };
}

export function commandToRow(record: CommandRecord): CommandRow {
  return {
    id: record.id,
    type: record.type,
    fingerprint: record.fingerprint,
    outcome: record.outcome,
    recorded_at: record.recordedAt,
  };
}

export function eventFromRow(row: LedgerRow): LedgerEvent {
  return {
    position: Number(row.position),
    type: row.type as EventType,
    sku: row.sku,
    location: row.location,
    streamVersion: Number(row.stream_version),
    onHandDelta: Number(row.on_hand_delta),
    reservedDelta: Number(row.reserved_delta),
    incomingDelta: Number(row.incoming_delta),
    onHandAfter: Number(row.on_hand_after),
    reservedAfter: Number(row.reserved_after),
    incomingAfter: Number(row.incoming_after),
    quantity: Number(row.quantity),
    commandId: row.command_id,
    reservationId: row.reservation_id,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    peerLocation: row.peer_location,
    reason: row.reason,
    reference: row.reference,
    actor: row.actor,
    occurredAt: Number(row.occurred_at),
    recordedAt: Number(row.recorded_at),
    attributes: row.attributes === null ? null : (JSON.parse(row.attributes) as ItemAttributes),
  };
}

/** The columns of a ledger row a fold reads. */
export type BalanceRow = Pick<
  LedgerRow,
  | 'position'
  | 'sku'
  | 'location'
  | 'stream_version'
  | 'on_hand_delta'
  | 'reserved_delta'
  | 'on_hand_after'
  | 'reserved_after'
  | 'incoming_delta'
  | 'incoming_after'
>;

export function balanceFromRow(row: BalanceRow): LedgerBalance {
  return {
    position: Number(row.position),
    sku: row.sku,
    location: row.location,
    streamVersion: Number(row.stream_version),
    onHandDelta: Number(row.on_hand_delta),
    reservedDelta: Number(row.reserved_delta),
    onHandAfter: Number(row.on_hand_after),
    reservedAfter: Number(row.reserved_after),
    incomingDelta: Number(row.incoming_delta),
    incomingAfter: Number(row.incoming_after),
  };
}

export function eventToRow(event: LedgerEvent): LedgerRow {
  return {
    position: event.position,
    type: event.type,
    sku: event.sku,
    location: event.location,
    on_hand_delta: event.onHandDelta,
    reserved_delta: event.reservedDelta,
    on_hand_after: event.onHandAfter,
    reserved_after: event.reservedAfter,
    quantity: event.quantity,
    command_id: event.commandId,
    reservation_id: event.reservationId,
    expires_at: event.expiresAt,
    peer_location: event.peerLocation,
    reason: event.reason,
    reference: event.reference,
    actor: event.actor,
    occurred_at: event.occurredAt,
    recorded_at: event.recordedAt,
    stream_version: event.streamVersion,
    attributes: event.attributes === null ? null : JSON.stringify(event.attributes),
    incoming_delta: event.incomingDelta,
    incoming_after: event.incomingAfter,
  };
}

/**
 * What one row of `commands` holds: a command's idempotency record and, for a ReserveStock that
 * created a reservation, that reservation. The reservation's id is its command's id, so one
 * primary key keeps every id to one first effect, whatever the command; and the hottest command
 * writes one row instead of two.
 */
export interface CommandWrite {
  readonly record: CommandRecord;
  readonly reservation: Reservation | undefined;
}

/** The batch's records, each with the reservation it created; sorted by id. */
export function commandWrites(set: WriteSet): CommandWrite[] {
  const created = new Map(set.createdReservations.map((reservation) => [reservation.id, reservation]));
  const writes = set.commands.map((record) => {
    const reservation = created.get(record.id);
    created.delete(record.id);
    return { record, reservation };
  });
  const orphan = created.keys().next();
  if (!orphan.done) {
    throw new StoreError('internal', `reservation ${orphan.value} is written without the record of its ReserveStock`);
  }
  return writes.sort((a, b) => (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0));
}

/** A row of `commands`: the record, and the columns of the reservation it created (else null). */
export interface CommandWriteRow extends CommandRow {
  status: string | null;
  lines: ReservationLine[] | null;
  created_at: number | null;
  expires_at: number | null;
  resolved_at: number | null;
}

export function commandWriteToRow({ record, reservation }: CommandWrite): CommandWriteRow {
  const r = reservation === undefined ? undefined : reservationToRow(reservation);
  return {
    ...commandToRow(record),
    status: r?.status ?? null,
    lines: (r?.lines as ReservationLine[] | undefined) ?? null,
    created_at: r?.created_at ?? null,
    expires_at: r?.expires_at ?? null,
    resolved_at: r?.resolved_at ?? null,
  };
}
