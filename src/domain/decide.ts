import { type DomainError, domainError } from './errors.js';
import { incomingMax, onHandMax, reservedMax } from './limits.js';
import type {
  AdjustStock,
  Command,
  CommitReservation,
  CountStock,
  EventDraft,
  EventType,
  ExpectStock,
  Item,
  Level,
  ReceiveStock,
  RegisterItem,
  Reservation,
  ReserveStock,
  ReturnStock,
  StockLine,
  TransferStock,
} from './types.js';
import { itemStreamLocation } from './types.js';
import { validateCommand } from './validate.js';

/** What decide reads: the engine serves it from rows locked for the batch. */
export interface StockView {
  item(sku: string): Item | undefined;
  /** A level that has never been written reads as zero. */
  level(sku: string, location: string): Level;
  reservation(id: string): Reservation | undefined;
}

/** Time and configuration come in as arguments: decide never reads a clock. */
export interface DecideContext {
  readonly now: number;
  readonly reservationTtlMsDefault: number;
  readonly reservationTtlMsMax: number;
}

export type Decision =
  | { readonly ok: true; readonly events: readonly EventDraft[]; readonly item?: Item }
  | { readonly ok: false; readonly error: DomainError };

export function decide(command: Command, view: StockView, context: DecideContext): Decision {
  const invalid = validateCommand(command);
  if (invalid !== null) return { ok: false, error: invalid };
  return decideValid(command, view, context);
}

/** decide, for a command that has already passed validateCommand (the engine checks on entry). */
export function decideValid(command: Command, view: StockView, context: DecideContext): Decision {
  switch (command.type) {
    case 'RegisterItem':
      return decideRegister(command, view, context);
    case 'ReceiveStock':
    case 'ReturnStock':
      return decideInbound(command, view, context);
    case 'ReserveStock':
      return decideReserve(command, view, context);
    case 'CommitReservation':
      return decideCommit(command, view, context);
    case 'ReleaseReservation':
    case 'ExpireReservation':
      return decideRelease(command, view, context);
    case 'AdjustStock':
      return decideAdjust(command, view, context);
    case 'CountStock':
      return decideCount(command, view, context);
    case 'TransferStock':
      return decideTransfer(command, view, context);
    case 'ExpectStock':
      return decideExpect(command, view, context);
  }
}

function reject(error: DomainError): Decision {
  return { ok: false, error };
}

function accept(events: readonly EventDraft[]): Decision {
  return { ok: true, events };
}

interface EventSpec {
  readonly type: EventType;
  readonly level: Level;
  readonly onHandDelta: number;
  readonly reservedDelta: number;
  /** 0 when absent: only purchase-order events move incoming. */
  readonly incomingDelta?: number;
  readonly quantity: number;
  readonly reservationId?: string;
  readonly expiresAt?: number;
  readonly peerLocation?: string;
  readonly reason?: string | undefined;
  readonly reference?: string | undefined;
  readonly occurredAt?: number | undefined;
}

function draft(command: Command, context: DecideContext, spec: EventSpec): EventDraft {
  const incomingDelta = spec.incomingDelta ?? 0;
  return {
    type: spec.type,
    sku: spec.level.sku,
    location: spec.level.location,
    streamVersion: spec.level.version + 1,
    onHandDelta: spec.onHandDelta,
    reservedDelta: spec.reservedDelta,
    incomingDelta,
    onHandAfter: spec.level.onHand + spec.onHandDelta,
    reservedAfter: spec.level.reserved + spec.reservedDelta,
    incomingAfter: spec.level.incoming + incomingDelta,
    quantity: spec.quantity,
    commandId: command.id,
    reservationId: spec.reservationId ?? null,
    expiresAt: spec.expiresAt ?? null,
    peerLocation: spec.peerLocation ?? null,
    reason: spec.reason ?? null,
    reference: spec.reference ?? null,
    actor: command.actor ?? 'system',
    occurredAt: spec.occurredAt ?? context.now,
    recordedAt: context.now,
    attributes: null,
  };
}

function requireItem(view: StockView, sku: string): Item | DomainError {
  return view.item(sku) ?? domainError('UNKNOWN_ITEM', `item ${sku} is not registered`, { sku });
}

function isError(value: unknown): value is DomainError {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value;
}

function decideRegister(command: RegisterItem, view: StockView, context: DecideContext): Decision {
  if (view.item(command.sku) !== undefined) {
    return reject(
      domainError('ITEM_ALREADY_EXISTS', `item ${command.sku} is already registered`, {
        sku: command.sku,
      }),
    );
  }
  const item: Item = {
    sku: command.sku,
    name: command.name ?? '',
    allowBackorder: command.allowBackorder ?? false,
    lowStockThreshold: command.lowStockThreshold ?? null,
    createdAt: context.now,
  };
  return { ok: true, events: [registered(command, item)], item };
}

/** The first event of an item's own stream: what it was registered as, so items rebuild too. */
function registered(command: RegisterItem, item: Item): EventDraft {
  return {
    type: 'ItemRegistered',
    sku: item.sku,
    location: itemStreamLocation,
    streamVersion: 1,
    onHandDelta: 0,
    reservedDelta: 0,
    incomingDelta: 0,
    onHandAfter: 0,
    reservedAfter: 0,
    incomingAfter: 0,
    quantity: 0,
    commandId: command.id,
    reservationId: null,
    expiresAt: null,
    peerLocation: null,
    reason: null,
    reference: null,
    actor: command.actor ?? 'system',
    occurredAt: item.createdAt,
    recordedAt: item.createdAt,
    attributes: { name: item.name, allowBackorder: item.allowBackorder, lowStockThreshold: item.lowStockThreshold },
  };
}

function limitExceeded(level: Level, onHand: number): DomainError {
  return domainError('LEVEL_LIMIT_EXCEEDED', `on hand would exceed ${onHandMax}`, {
    sku: level.sku,
    location: level.location,
    onHand,
  });
}

function decideInbound(command: ReceiveStock | ReturnStock, view: StockView, context: DecideContext): Decision {
  const item = requireItem(view, command.sku);
  if (isError(item)) return reject(item);
  const level = view.level(command.sku, command.location);
  if (level.onHand + command.quantity > onHandMax) {
    return reject(limitExceeded(level, level.onHand + command.quantity));
  }
  const fromIncoming = command.type === 'ReceiveStock' ? (command.fromIncoming ?? 0) : 0;
  if (fromIncoming > level.incoming) {
    return reject(incomingShort(level, 0 - fromIncoming));
  }
  const type = command.type === 'ReceiveStock' ? 'StockReceived' : 'StockReturned';
  return accept([
    draft(command, context, {
      type,
      level,
      onHandDelta: command.quantity,
      reservedDelta: 0,
      incomingDelta: 0 - fromIncoming,
      quantity: command.quantity,
      reason: command.type === 'ReturnStock' ? command.reason : undefined,
      reference: command.reference,
      occurredAt: command.occurredAt,
    }),
  ]);
}

/** A receipt or withdrawal would take incoming below zero: more than the level expects. */
function incomingShort(level: Level, delta: number): DomainError {
  return domainError('INCOMING_SHORT', 'the level expects fewer incoming units than this settles or withdraws', {
    sku: level.sku,
    location: level.location,
    incoming: level.incoming,
    delta,
  });
}

function shortLine(line: StockLine, level: Level, available: number) {
  return { sku: line.sku, location: line.location, requested: line.quantity, available, onHand: level.onHand };
}

function decideReserve(command: ReserveStock, view: StockView, context: DecideContext): Decision {
  const ttlMs = command.ttlMs ?? context.reservationTtlMsDefault;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > context.reservationTtlMsMax) {
    return reject(
      domainError('INVALID_TTL', `ttlMs must be an integer from 1 to ${context.reservationTtlMsMax}`, {
        field: 'ttlMs',
        value: command.ttlMs,
      }),
    );
  }
  const short = [];
  let overLimit: { sku: string; location: string; reserved: number } | undefined;
  const events: EventDraft[] = [];
  const expiresAt = context.now + ttlMs;
  for (const line of command.lines) {
    const item = requireItem(view, line.sku);
    if (isError(item)) return reject(item);
    const level = view.level(line.sku, line.location);
    const available = level.onHand - level.reserved;
    if (!item.allowBackorder && available < line.quantity) short.push(shortLine(line, level, available));
    if (overLimit === undefined && level.reserved + line.quantity > reservedMax) {
      overLimit = { sku: line.sku, location: line.location, reserved: level.reserved + line.quantity };
    }
    events.push(
      draft(command, context, {
        type: 'StockReserved',
        level,
        onHandDelta: 0,
        reservedDelta: line.quantity,
        quantity: line.quantity,
        reservationId: command.id,
        expiresAt,
        reference: command.reference,
      }),
    );
  }
  if (overLimit !== undefined) {
    return reject(domainError('LEVEL_RESERVED_LIMIT_EXCEEDED', `reserved would exceed ${reservedMax}`, overLimit));
  }
  if (short.length > 0) {
    return reject(domainError('INSUFFICIENT_STOCK', 'not enough stock for every line', { lines: short }));
  }
  return accept(events);
}

/** A reservation resolves at most once; a pending one past its expiry counts as expired. */
function checkPending(view: StockView, reservationId: string, now: number): Reservation | DomainError {
  const reservation = view.reservation(reservationId);
  if (reservation === undefined) {
    return domainError('RESERVATION_NOT_FOUND', `reservation ${reservationId} does not exist`, {
      reservationId,
    });
  }
  const details = { reservationId, reservationStatus: reservation.status, expiresAt: reservation.expiresAt };
  switch (reservation.status) {
    case 'committed':
      return domainError('RESERVATION_ALREADY_COMMITTED', 'the reservation is already committed', details);
    case 'released':
      return domainError('RESERVATION_ALREADY_RELEASED', 'the reservation is already released', details);
    case 'expired':
      return domainError('RESERVATION_EXPIRED', 'the reservation has expired', details);
    case 'pending':
      if (now >= reservation.expiresAt) {
        return domainError('RESERVATION_EXPIRED', 'the reservation has expired', details);
      }
      return reservation;
  }
}

function commitQuantities(reservation: Reservation, lines: readonly StockLine[] | undefined): number[] | DomainError {
  if (lines === undefined) return reservation.lines.map((line) => line.quantity);
  const quantities: number[] = reservation.lines.map(() => 0);
  for (const line of lines) {
    const index = reservation.lines.findIndex((r) => r.sku === line.sku && r.location === line.location);
    const reserved = index < 0 ? 0 : (reservation.lines[index]?.quantity ?? 0);
    if (line.quantity > reserved) {
      return domainError('COMMIT_EXCEEDS_RESERVATION', 'a commit line exceeds what was reserved', {
        sku: line.sku,
        location: line.location,
        requested: line.quantity,
        reserved,
      });
    }
    quantities[index] = line.quantity;
  }
  return quantities;
}

function decideCommit(command: CommitReservation, view: StockView, context: DecideContext): Decision {
  const reservation = checkPending(view, command.reservationId, context.now);
  if (isError(reservation)) return reject(reservation);
  const quantities = commitQuantities(reservation, command.lines);
  if (isError(quantities)) return reject(quantities);
  const events: EventDraft[] = [];
  for (const [index, line] of reservation.lines.entries()) {
    const level = view.level(line.sku, line.location);
    const committed = quantities[index] ?? 0;
    if (level.onHand < committed) {
      // Only a backordered line can be short on hand at commit: nothing ships that is not there.
      return reject(
        domainError('INSUFFICIENT_STOCK', 'not enough stock on hand to commit', {
          lines: [shortLine({ ...line, quantity: committed }, level, level.onHand)],
        }),
      );
    }
    events.push(
      draft(command, context, {
        type: 'ReservationCommitted',
        level,
        onHandDelta: 0 - committed,
        reservedDelta: -line.quantity,
        quantity: committed,
        reservationId: reservation.id,
      }),
    );
  }
  return accept(events);
}

function decideRelease(
  command: Extract<Command, { type: 'ReleaseReservation' | 'ExpireReservation' }>,
  view: StockView,
  context: DecideContext,
): Decision {
  const expiring = command.type === 'ExpireReservation';
  // Expiry passes no clock to checkPending: being past due is what it needs, not an error.
  const reservation = checkPending(view, command.reservationId, expiring ? -Infinity : context.now);
  if (isError(reservation)) return reject(reservation);
  if (expiring && context.now < reservation.expiresAt) {
    return reject(
      domainError('RESERVATION_NOT_EXPIRED', 'the reservation has not expired yet', {
        reservationId: reservation.id,
        expiresAt: reservation.expiresAt,
      }),
    );
  }
  const events = reservation.lines.map((line) =>
    draft(command, context, {
      type: expiring ? 'ReservationExpired' : 'ReservationReleased',
      level: view.level(line.sku, line.location),
      onHandDelta: 0,
      reservedDelta: -line.quantity,
      quantity: line.quantity,
      reservationId: reservation.id,
      reason: command.type === 'ReleaseReservation' ? command.reason : undefined,
    }),
  );
  return accept(events);
}

function decideAdjust(command: AdjustStock, view: StockView, context: DecideContext): Decision {
  const item = requireItem(view, command.sku);
  if (isError(item)) return reject(item);
  const level = view.level(command.sku, command.location);
  const onHand = level.onHand + command.delta;
  const floor = item.allowBackorder ? 0 : level.reserved;
  if (onHand < floor) {
    return reject(
      domainError('INSUFFICIENT_STOCK', 'the adjustment would take on hand below what is reserved', {
        sku: level.sku,
        location: level.location,
        onHand: level.onHand,
        reserved: level.reserved,
        delta: command.delta,
      }),
    );
  }
  if (onHand > onHandMax) return reject(limitExceeded(level, onHand));
  return accept([
    draft(command, context, {
      type: 'StockAdjusted',
      level,
      onHandDelta: command.delta,
      reservedDelta: 0,
      quantity: Math.abs(command.delta),
      reason: command.reason,
      occurredAt: command.occurredAt,
    }),
  ]);
}

function decideCount(command: CountStock, view: StockView, context: DecideContext): Decision {
  const item = requireItem(view, command.sku);
  if (isError(item)) return reject(item);
  const level = view.level(command.sku, command.location);
  if (!item.allowBackorder && command.counted < level.reserved) {
    return reject(
      domainError('COUNT_BELOW_RESERVED', 'fewer units were counted than are reserved; release first', {
        sku: level.sku,
        location: level.location,
        counted: command.counted,
        reserved: level.reserved,
      }),
    );
  }
  return accept([
    draft(command, context, {
      type: 'StockCounted',
      level,
      onHandDelta: command.counted - level.onHand,
      reservedDelta: 0,
      quantity: command.counted,
      reason: command.reason,
      occurredAt: command.occurredAt,
    }),
  ]);
}

function decideTransfer(command: TransferStock, view: StockView, context: DecideContext): Decision {
  if (command.from === command.to) {
    return reject(domainError('SAME_LOCATION', 'from and to must differ', { location: command.from }));
  }
  const item = requireItem(view, command.sku);
  if (isError(item)) return reject(item);
  const source = view.level(command.sku, command.from);
  const target = view.level(command.sku, command.to);
  const available = source.onHand - source.reserved;
  if (available < command.quantity) {
    return reject(
      domainError('INSUFFICIENT_STOCK', 'not enough stock available to transfer', {
        lines: [shortLine({ sku: command.sku, location: command.from, quantity: command.quantity }, source, available)],
      }),
    );
  }
  if (target.onHand + command.quantity > onHandMax) {
    return reject(limitExceeded(target, target.onHand + command.quantity));
  }
  const move = { type: 'StockTransferred', reservedDelta: 0, quantity: command.quantity } as const;
  const reference = command.reference;
  return accept([
    draft(command, context, {
      ...move,
      level: source,
      onHandDelta: -command.quantity,
      peerLocation: command.to,
      reference,
    }),
    draft(command, context, {
      ...move,
      level: target,
      onHandDelta: command.quantity,
      peerLocation: command.from,
      reference,
    }),
  ]);
}

function decideExpect(command: ExpectStock, view: StockView, context: DecideContext): Decision {
  const item = requireItem(view, command.sku);
  if (isError(item)) return reject(item);
  const level = view.level(command.sku, command.location);
  const incoming = level.incoming + command.delta;
  if (incoming < 0) return reject(incomingShort(level, command.delta));
  if (incoming > incomingMax) {
    return reject(
      domainError('LEVEL_LIMIT_EXCEEDED', `incoming would exceed ${incomingMax}`, {
        sku: level.sku,
        location: level.location,
        incoming,
      }),
    );
  }
  return accept([
    draft(command, context, {
      type: 'StockExpected',
      level,
      onHandDelta: 0,
      reservedDelta: 0,
      incomingDelta: command.delta,
      quantity: Math.abs(command.delta),
      reason: command.reason,
      reference: command.reference,
    }),
  ]);
}
