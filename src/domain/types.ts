import type { DomainError } from './errors.js';

/** A registered SKU. Stock can exist only for registered items. */
export interface Item {
  readonly sku: string;
  readonly name: string;
  /** Opt-in: a level of this item may reserve beyond what is on hand. */
  readonly allowBackorder: boolean;
  /** Available stock below this is low (the read side lists it); null: the configured default. */
  readonly lowStockThreshold: number | null;
  readonly createdAt: number;
}

/** What an ItemRegistered event records of the item, so items rebuild from the ledger too. */
export interface ItemAttributes {
  readonly name: string;
  readonly allowBackorder: boolean;
  readonly lowStockThreshold: number | null;
}

/** One (item, location) pair. `available` and `projected` are derived, never stored. */
export interface Level {
  readonly sku: string;
  readonly location: string;
  readonly onHand: number;
  readonly reserved: number;
  /** Units on confirmed purchase orders, not yet received (ExpectStock raises it, receipts settle it). */
  readonly incoming: number;
  /** Increments on every change; the optimistic strategy compares and sets it. */
  readonly version: number;
}

export interface LevelView extends Level {
  readonly available: number;
  /** What the level will hold once everything incoming has arrived: onHand + incoming - reserved. */
  readonly projected: number;
}

export type ReservationStatus = 'pending' | 'committed' | 'released' | 'expired';

export interface StockLine {
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
}

export interface ReservationLine extends StockLine {
  /** Units deducted by the commit; null until the reservation is committed. */
  readonly committed: number | null;
}

export interface Reservation {
  readonly id: string;
  readonly status: ReservationStatus;
  readonly lines: readonly ReservationLine[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly resolvedAt: number | null;
}

export const eventTypes = [
  'ItemRegistered',
  'StockReceived',
  'StockReserved',
  'ReservationCommitted',
  'ReservationReleased',
  'ReservationExpired',
  'StockReturned',
  'StockAdjusted',
  'StockCounted',
  'StockTransferred',
  'StockExpected',
] as const;

export type EventType = (typeof eventTypes)[number];

/**
 * An immutable record of one change to one stream: a level (item, location), or for
 * ItemRegistered the item itself (location '').
 */
export interface LedgerEvent {
  /** Global, gap-free, in commit order. */
  readonly position: number;
  readonly type: EventType;
  readonly sku: string;
  readonly location: string;
  /**
   * The event's number in its stream, from 1: a level's version after the event (every event
   * on a level steps its version by one). ItemRegistered is 1 of the item's stream.
   */
  readonly streamVersion: number;
  readonly onHandDelta: number;
  readonly reservedDelta: number;
  /** Change of the level's incoming: + expected on a purchase order, - settled by a receipt or withdrawn. */
  readonly incomingDelta: number;
  readonly onHandAfter: number;
  readonly reservedAfter: number;
  readonly incomingAfter: number;
  /** The quantity the event is about: received, reserved, committed, counted, moved, expected. */
  readonly quantity: number;
  readonly commandId: string;
  readonly reservationId: string | null;
  /** On StockReserved: when the hold expires, so reservations rebuild from the ledger alone. */
  readonly expiresAt: number | null;
  /** On StockTransferred: the other location of the move. */
  readonly peerLocation: string | null;
  readonly reason: string | null;
  readonly reference: string | null;
  readonly actor: string;
  /** When the change took effect (a count may be recorded after it was made). */
  readonly occurredAt: number;
  /** When the engine recorded it. */
  readonly recordedAt: number;
  /** On ItemRegistered: the item as registered; null on every other event. */
  readonly attributes: ItemAttributes | null;
}

/** The location of an item's own stream (ItemRegistered): no level has it, codes are never empty. */
export const itemStreamLocation = '';

/**
 * An event's stable id: its stream and its number in that stream. It names the same event in
 * every copy of the ledger (a rebuild, a restore, a relayed message), like the position does in
 * this one; '@' and '#' are outside the code charset, so it is unambiguous.
 */
export function eventId(event: Pick<LedgerEvent, 'sku' | 'location' | 'streamVersion'>): string {
  return `${event.sku}@${event.location}#${event.streamVersion}`;
}

export type EventDraft = Omit<LedgerEvent, 'position'>;

/**
 * A draft at the position it was given. Every member is named: a batch makes thousands of
 * these, and a literal of one shape is several times cheaper than spreading the draft.
 */
export function atPosition(e: EventDraft, position: number): LedgerEvent {
  return {
    position,
    type: e.type,
    sku: e.sku,
    location: e.location,
    streamVersion: e.streamVersion,
    onHandDelta: e.onHandDelta,
    reservedDelta: e.reservedDelta,
    incomingDelta: e.incomingDelta,
    onHandAfter: e.onHandAfter,
    reservedAfter: e.reservedAfter,
    incomingAfter: e.incomingAfter,
    quantity: e.quantity,
    commandId: e.commandId,
    reservationId: e.reservationId,
    expiresAt: e.expiresAt,
    peerLocation: e.peerLocation,
    reason: e.reason,
    reference: e.reference,
    actor: e.actor,
    occurredAt: e.occurredAt,
    recordedAt: e.recordedAt,
    attributes: e.attributes,
  };
}

interface CommandBase {
  /** Client-chosen idempotency key: a repeat returns the first result. */
  readonly id: string;
  /** Who issued the command; recorded on every event, not part of the idempotency payload. */
  readonly actor?: string | undefined;
}

export interface RegisterItem extends CommandBase {
  readonly type: 'RegisterItem';
  readonly sku: string;
  readonly name?: string | undefined;
  readonly allowBackorder?: boolean | undefined;
  readonly lowStockThreshold?: number | undefined;
}

export interface ReceiveStock extends CommandBase {
  readonly type: 'ReceiveStock';
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
  readonly reference?: string | undefined;
  readonly occurredAt?: number | undefined;
  /**
   * Of the units received, how many arrive against the level's incoming (a purchase order's
   * line): incoming is lowered by this many in the same transaction. 0 or absent: none.
   */
  readonly fromIncoming?: number | undefined;
}

/**
 * Units on their way to a level (a confirmed purchase order line): `delta` > 0 raises its
 * incoming, < 0 withdraws what will not come (a PO closed short or cancelled).
 */
export interface ExpectStock extends CommandBase {
  readonly type: 'ExpectStock';
  readonly sku: string;
  readonly location: string;
  /** Signed, non-zero. */
  readonly delta: number;
  readonly reason?: string | undefined;
  readonly reference?: string | undefined;
}

/** The command id is the reservation id. */
export interface ReserveStock extends CommandBase {
  readonly type: 'ReserveStock';
  readonly lines: readonly StockLine[];
  readonly ttlMs?: number | undefined;
  /** The order it holds stock for, recorded on its events (the read side finds reservations by it). */
  readonly reference?: string | undefined;
}

export interface CommitReservation extends CommandBase {
  readonly type: 'CommitReservation';
  readonly reservationId: string;
  /** Partial commit: the quantities to deduct; every other reserved unit is released. */
  readonly lines?: readonly StockLine[] | undefined;
}

export interface ReleaseReservation extends CommandBase {
  readonly type: 'ReleaseReservation';
  readonly reservationId: string;
  readonly reason?: string | undefined;
}

export interface ExpireReservation extends CommandBase {
  readonly type: 'ExpireReservation';
  readonly reservationId: string;
}

export interface ReturnStock extends CommandBase {
  readonly type: 'ReturnStock';
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
  readonly reason?: string | undefined;
  readonly reference?: string | undefined;
  readonly occurredAt?: number | undefined;
}

export interface AdjustStock extends CommandBase {
  readonly type: 'AdjustStock';
  readonly sku: string;
  readonly location: string;
  /** Signed, non-zero. */
  readonly delta: number;
  readonly reason: string;
  readonly occurredAt?: number | undefined;
}

export interface CountStock extends CommandBase {
  readonly type: 'CountStock';
  readonly sku: string;
  readonly location: string;
  /** The quantity found on the shelf; the adjustment is what it implies. */
  readonly counted: number;
  readonly reason?: string | undefined;
  readonly occurredAt?: number | undefined;
}

export interface TransferStock extends CommandBase {
  readonly type: 'TransferStock';
  readonly sku: string;
  readonly from: string;
  readonly to: string;
  readonly quantity: number;
  readonly reference?: string | undefined;
}

export type Command =
  | RegisterItem
  | ReceiveStock
  | ReserveStock
  | CommitReservation
  | ReleaseReservation
  | ExpireReservation
  | ReturnStock
  | AdjustStock
  | CountStock
  | TransferStock
  | ExpectStock;

export type CommandType = Command['type'];

export const commandTypes: readonly CommandType[] = [
  'RegisterItem',
  'ReceiveStock',
  'ReserveStock',
  'CommitReservation',
  'ReleaseReservation',
  'ExpireReservation',
  'ReturnStock',
  'AdjustStock',
  'CountStock',
  'TransferStock',
  'ExpectStock',
];

/** What a successful command answers, before positions are known. */
export type CommandValue =
  | { readonly kind: 'item'; readonly item: Item }
  | { readonly kind: 'levels'; readonly levels: readonly LevelView[]; readonly delta?: number }
  | { readonly kind: 'reservation'; readonly reservation: Reservation };

/** A command's answer: stored as its first result and replayed on every repeat. */
export type CommandOutcome =
  | {
      readonly ok: true;
      readonly commandId: string;
      readonly value: CommandValue;
      /** Position of the command's last ledger event; 0 when it wrote none. */
      readonly position: number;
    }
  | { readonly ok: false; readonly commandId: string; readonly error: DomainError };

/**
 * A first result as stored. A successful ReserveStock keeps only a reference: the reservation it
 * created holds the same facts (its lines and times never change, and when created it was
 * pending with nothing committed), so the answer is rebuilt from it on a repeat instead of being
 * written twice on the hottest path.
 */
export type StoredOutcome =
  | CommandOutcome
  | { readonly ok: true; readonly commandId: string; readonly position: number; readonly created: 'reservation' };

/** The stored idempotency record of a command. */
export interface CommandRecord {
  readonly id: string;
  readonly type: CommandType;
  readonly fingerprint: string;
  readonly outcome: StoredOutcome;
  readonly recordedAt: number;
}

/** The reservation as its ReserveStock answered it: pending, nothing committed. */
export function asCreated(reservation: Reservation): Reservation {
  return {
    ...reservation,
    status: 'pending',
    lines: reservation.lines.map((line) => ({ ...line, committed: null })),
    resolvedAt: null,
  };
}

export function levelKey(sku: string, location: string): string {
  // '@' is outside the code charset, so the key is unambiguous.
  return `${sku}@${location}`;
}

/** The global lock order: item, then location, by code unit (SQL: COLLATE "C"). */
export function compareLevelKeys(a: Pick<Level, 'sku' | 'location'>, b: Pick<Level, 'sku' | 'location'>): number {
  if (a.sku !== b.sku) return a.sku < b.sku ? -1 : 1;
  if (a.location !== b.location) return a.location < b.location ? -1 : 1;
  return 0;
}

export function emptyLevel(sku: string, location: string): Level {
  return { sku, location, onHand: 0, reserved: 0, incoming: 0, version: 0 };
}

export function viewLevel(level: Level): LevelView {
  return {
    ...level,
    available: level.onHand - level.reserved,
    projected: level.onHand + level.incoming - level.reserved,
  };
}
