import type { Command, EventType, ItemAttributes, LedgerEvent, StockLine } from '../../src/domain/index.js';

// A plain, in-memory statement of the inventory rules, written apart from src/domain: maps and
// ifs, no shared code. The property test runs the same commands through it and through the real
// engine, and any disagreement is a bug in one of the two.

const quantityMax = 1_000_000_000;
const onHandMax = 1_000_000_000_000;
const reservedMax = 1_000_000_000_000;
const linesMax = 100;
const textMax = 200;
const idRule = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const codeRule = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The fields of each ledger event that the model predicts. */
export const modelEventFields = [
  'type',
  'sku',
  'location',
  'onHandDelta',
  'reservedDelta',
  'onHandAfter',
  'reservedAfter',
  'incomingDelta',
  'incomingAfter',
  'quantity',
  'commandId',
  'reservationId',
  'expiresAt',
  'peerLocation',
  'reason',
  'reference',
  'actor',
  'occurredAt',
  'recordedAt',
  'streamVersion',
  'attributes',
] as const;

export type ModelEvent = Pick<LedgerEvent, (typeof modelEventFields)[number]>;

export type ModelOutcome =
  | { readonly ok: true; readonly position: number }
  | { readonly ok: false; readonly code: string };

export interface ModelAnswer {
  readonly outcome: ModelOutcome;
  readonly replayed: boolean;
  /** True when this answer is now the stored first result of its id. */
  readonly recorded: boolean;
}

export interface ModelLevel {
  readonly sku: string;
  readonly location: string;
  readonly onHand: number;
  readonly reserved: number;
  readonly incoming: number;
}

interface Balances {
  readonly onHand: number;
  readonly reserved: number;
  readonly incoming: number;
}

interface Hold {
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
}

interface ModelReservation {
  status: 'pending' | 'committed' | 'released' | 'expired';
  readonly expiresAt: number;
  readonly lines: readonly Hold[];
}

export interface ModelSettings {
  readonly now: number;
  readonly ttlMsDefault: number;
  readonly ttlMsMax: number;
}

export class ReferenceModel {
  now: number;
  /** sku -> whether it allows backorders. */
  readonly items = new Map<string, boolean>();
  readonly reservations = new Map<string, ModelReservation>();
  readonly ledger: ModelEvent[] = [];
  private readonly settings: ModelSettings;
  private readonly stock = new Map<string, Balances>();
  private readonly streamVersions = new Map<string, number>();
  private readonly answers = new Map<string, { payload: string; outcome: ModelOutcome }>();

  constructor(settings: ModelSettings) {
    this.settings = settings;
    this.now = settings.now;
  }

  send(command: Command): ModelAnswer {
    const badShape = shapeError(command);
    if (badShape !== null) return { outcome: { ok: false, code: badShape }, replayed: false, recorded: false };
    const payload = payloadOf(command);
    const earlier = this.answers.get(command.id);
    if (earlier !== undefined) {
      if (earlier.payload === payload) return { outcome: earlier.outcome, replayed: true, recorded: false };
      return { outcome: { ok: false, code: 'IDEMPOTENCY_CONFLICT' }, replayed: false, recorded: false };
    }
    const eventsBefore = this.ledger.length;
    const code = this.decideAndApply(command);
    const wrote = this.ledger.length > eventsBefore;
    const outcome: ModelOutcome =
      code === null ? { ok: true, position: wrote ? this.ledger.length : 0 } : { ok: false, code };
    this.answers.set(command.id, { payload, outcome });
    return { outcome, replayed: false, recorded: true };
  }

  level(sku: string, location: string): Balances {
    return this.stock.get(`${sku}|${location}`) ?? { onHand: 0, reserved: 0, incoming: 0 };
  }

  /** Every level holding stock or reservations, ordered by sku then location. */
  levels(): ModelLevel[] {
    const all: ModelLevel[] = [];
    for (const [key, level] of this.stock) {
      if (level.onHand === 0 && level.reserved === 0 && level.incoming === 0) continue;
      const [sku = '', location = ''] = key.split('|');
      all.push({ sku, location, onHand: level.onHand, reserved: level.reserved, incoming: level.incoming });
    }
    return all.sort((a, b) => byCodeUnits(a.sku, b.sku) || byCodeUnits(a.location, b.location));
  }

  /** Pending reservations whose expiry has come, soonest first. */
  due(): string[] {
    const due = [...this.reservations].filter(([, r]) => r.status === 'pending' && r.expiresAt <= this.now);
    due.sort(([idA, a], [idB, b]) => a.expiresAt - b.expiresAt || byCodeUnits(idA, idB));
    return due.map(([id]) => id);
  }

  /** Applies the command if every rule allows it; returns the error code otherwise. */
  private decideAndApply(command: Command): string | null {
    switch (command.type) {
      case 'RegisterItem':
        if (this.items.has(command.sku)) return 'ITEM_ALREADY_EXISTS';
        this.items.set(command.sku, command.allowBackorder === true);
        this.emit(command, 'ItemRegistered', { sku: command.sku, location: '' }, 0, 0, 0, null, {
          attributes: {
            name: command.name ?? '',
            allowBackorder: command.allowBackorder === true,
            lowStockThreshold: command.lowStockThreshold ?? null,
          },
        });
        return null;
      case 'ReceiveStock':
      case 'ReturnStock':
        return this.inbound(command);
      case 'ReserveStock':
        return this.reserve(command);
      case 'CommitReservation':
        return this.commit(command);
      case 'ReleaseReservation':
        return this.release(command, 'ReservationReleased', true);
      case 'ExpireReservation':
        return this.release(command, 'ReservationExpired', false);
      case 'AdjustStock':
        return this.adjust(command);
      case 'CountStock':
        return this.count(command);
      case 'TransferStock':
        return this.transfer(command);
      case 'ExpectStock':
        return this.expect(command);
    }
  }

  private expect(command: Extract<Command, { type: 'ExpectStock' }>): string | null {
    if (!this.items.has(command.sku)) return 'UNKNOWN_ITEM';
    const incoming = this.level(command.sku, command.location).incoming + command.delta;
    if (incoming < 0) return 'INCOMING_SHORT';
    if (incoming > onHandMax) return 'LEVEL_LIMIT_EXCEEDED';
    const extra = { reason: command.reason, reference: command.reference, incomingDelta: command.delta };
    this.emit(command, 'StockExpected', command, 0, 0, Math.abs(command.delta), null, extra);
    return null;
  }

  private inbound(command: Extract<Command, { type: 'ReceiveStock' | 'ReturnStock' }>): string | null {
    if (!this.items.has(command.sku)) return 'UNKNOWN_ITEM';
    const level = this.level(command.sku, command.location);
    if (level.onHand + command.quantity > onHandMax) return 'LEVEL_LIMIT_EXCEEDED';
    const settled = command.type === 'ReceiveStock' ? (command.fromIncoming ?? 0) : 0;
    if (settled > level.incoming) return 'INCOMING_SHORT';
    const type = command.type === 'ReceiveStock' ? 'StockReceived' : 'StockReturned';
    const reason = command.type === 'ReturnStock' ? command.reason : undefined;
    const extra = { reason, reference: command.reference, occurredAt: command.occurredAt, incomingDelta: 0 - settled };
    this.emit(command, type, command, command.quantity, 0, command.quantity, null, extra);
    return null;
  }

  private reserve(command: Extract<Command, { type: 'ReserveStock' }>): string | null {
    const ttlMs = command.ttlMs ?? this.settings.ttlMsDefault;
    if (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > this.settings.ttlMsMax) return 'INVALID_TTL';
    if (command.lines.some((line) => !this.items.has(line.sku))) return 'UNKNOWN_ITEM';
    const over = (line: StockLine) => this.level(line.sku, line.location).reserved + line.quantity > reservedMax;
    if (command.lines.some(over)) return 'LEVEL_RESERVED_LIMIT_EXCEEDED';
    for (const line of command.lines) {
      const level = this.level(line.sku, line.location);
      const backorder = this.items.get(line.sku) === true;
      if (!backorder && level.onHand - level.reserved < line.quantity) return 'INSUFFICIENT_STOCK';
    }
    const lines = command.lines.map((line) => ({ sku: line.sku, location: line.location, quantity: line.quantity }));
    this.reservations.set(command.id, { status: 'pending', expiresAt: this.now + ttlMs, lines });
    const extra = { expiresAt: this.now + ttlMs, reference: command.reference };
    for (const line of lines)
      this.emit(command, 'StockReserved', line, 0, line.quantity, line.quantity, command.id, extra);
    return null;
  }

  /** Why a reservation cannot be resolved now, or null. Expiry asks without the clock. */
  private unresolvable(reservationId: string, useClock: boolean): string | null {
    const reservation = this.reservations.get(reservationId);
    if (reservation === undefined) return 'RESERVATION_NOT_FOUND';
    if (reservation.status === 'committed') return 'RESERVATION_ALREADY_COMMITTED';
    if (reservation.status === 'released') return 'RESERVATION_ALREADY_RELEASED';
    if (reservation.status === 'expired') return 'RESERVATION_EXPIRED';
    if (useClock && this.now >= reservation.expiresAt) return 'RESERVATION_EXPIRED';
    return null;
  }

  private commit(command: Extract<Command, { type: 'CommitReservation' }>): string | null {
    const blocked = this.unresolvable(command.reservationId, true);
    if (blocked !== null) return blocked;
    const reservation = this.reservations.get(command.reservationId) as ModelReservation;
    const shipped = new Map<string, number>();
    for (const line of reservation.lines) {
      shipped.set(`${line.sku}|${line.location}`, command.lines === undefined ? line.quantity : 0);
    }
    for (const line of command.lines ?? []) {
      const held = reservation.lines.find((r) => r.sku === line.sku && r.location === line.location);
      if (held === undefined || line.quantity > held.quantity) return 'COMMIT_EXCEEDS_RESERVATION';
      shipped.set(`${line.sku}|${line.location}`, line.quantity);
    }
    for (const line of reservation.lines) {
      if (this.level(line.sku, line.location).onHand < (shipped.get(`${line.sku}|${line.location}`) ?? 0)) {
        return 'INSUFFICIENT_STOCK';
      }
    }
    reservation.status = 'committed';
    for (const line of reservation.lines) {
      const units = shipped.get(`${line.sku}|${line.location}`) ?? 0;
      this.emit(command, 'ReservationCommitted', line, 0 - units, 0 - line.quantity, units, command.reservationId);
    }
    return null;
  }

  private release(
    command: Extract<Command, { type: 'ReleaseReservation' | 'ExpireReservation' }>,
    type: 'ReservationReleased' | 'ReservationExpired',
    useClock: boolean,
  ): string | null {
    const blocked = this.unresolvable(command.reservationId, useClock);
    if (blocked !== null) return blocked;
    const reservation = this.reservations.get(command.reservationId) as ModelReservation;
    if (!useClock && this.now < reservation.expiresAt) return 'RESERVATION_NOT_EXPIRED';
    reservation.status = type === 'ReservationReleased' ? 'released' : 'expired';
    const extra = { reason: command.type === 'ReleaseReservation' ? command.reason : undefined };
    for (const line of reservation.lines) {
      this.emit(command, type, line, 0, 0 - line.quantity, line.quantity, command.reservationId, extra);
    }
    return null;
  }

  private adjust(command: Extract<Command, { type: 'AdjustStock' }>): string | null {
    if (!this.items.has(command.sku)) return 'UNKNOWN_ITEM';
    const level = this.level(command.sku, command.location);
    const onHand = level.onHand + command.delta;
    const lowest = this.items.get(command.sku) === true ? 0 : level.reserved;
    if (onHand < lowest) return 'INSUFFICIENT_STOCK';
    if (onHand > onHandMax) return 'LEVEL_LIMIT_EXCEEDED';
    const extra = { reason: command.reason, occurredAt: command.occurredAt };
    this.emit(command, 'StockAdjusted', command, command.delta, 0, Math.abs(command.delta), null, extra);
    return null;
  }

  private count(command: Extract<Command, { type: 'CountStock' }>): string | null {
    if (!this.items.has(command.sku)) return 'UNKNOWN_ITEM';
    const level = this.level(command.sku, command.location);
    if (this.items.get(command.sku) !== true && command.counted < level.reserved) return 'COUNT_BELOW_RESERVED';
    const extra = { reason: command.reason, occurredAt: command.occurredAt };
    this.emit(command, 'StockCounted', command, command.counted - level.onHand, 0, command.counted, null, extra);
    return null;
  }

  private transfer(command: Extract<Command, { type: 'TransferStock' }>): string | null {
    if (command.from === command.to) return 'SAME_LOCATION';
    if (!this.items.has(command.sku)) return 'UNKNOWN_ITEM';
    const source = this.level(command.sku, command.from);
    if (source.onHand - source.reserved < command.quantity) return 'INSUFFICIENT_STOCK';
    if (this.level(command.sku, command.to).onHand + command.quantity > onHandMax) return 'LEVEL_LIMIT_EXCEEDED';
    const from = { sku: command.sku, location: command.from };
    const to = { sku: command.sku, location: command.to };
    const { quantity, reference } = command;
    this.emit(command, 'StockTransferred', from, 0 - quantity, 0, quantity, null, {
      peerLocation: to.location,
      reference,
    });
    this.emit(command, 'StockTransferred', to, quantity, 0, quantity, null, { peerLocation: from.location, reference });
    return null;
  }

  private emit(
    command: Command,
    type: EventType,
    at: Pick<StockLine, 'sku' | 'location'>,
    onHandDelta: number,
    reservedDelta: number,
    quantity: number,
    reservationId: string | null,
    extra: EventExtra = {},
  ): void {
    const before = this.level(at.sku, at.location);
    const incomingDelta = extra.incomingDelta ?? 0;
    const after = {
      onHand: before.onHand + onHandDelta,
      reserved: before.reserved + reservedDelta,
      incoming: before.incoming + incomingDelta,
    };
    const key = `${at.sku}|${at.location}`;
    // Each stream (a level, or an item's own) numbers its events from 1.
    const streamVersion = (this.streamVersions.get(key) ?? 0) + 1;
    this.streamVersions.set(key, streamVersion);
    if (type !== 'ItemRegistered') this.stock.set(key, after);
    this.ledger.push({
      type,
      sku: at.sku,
      location: at.location,
      onHandDelta,
      reservedDelta,
      onHandAfter: after.onHand,
      reservedAfter: after.reserved,
      incomingDelta,
      incomingAfter: after.incoming,
      quantity,
      commandId: command.id,
      reservationId,
      expiresAt: extra.expiresAt ?? null,
      peerLocation: extra.peerLocation ?? null,
      reason: extra.reason ?? null,
      reference: extra.reference ?? null,
      actor: command.actor ?? 'system',
      // A command may say when the change happened; the engine records it at its clock's now.
      occurredAt: extra.occurredAt ?? this.now,
      recordedAt: this.now,
      streamVersion,
      attributes: extra.attributes ?? null,
    });
  }
}

/** What an event carries beyond its level change, by command. */
interface EventExtra {
  readonly expiresAt?: number;
  readonly peerLocation?: string;
  readonly reason?: string | undefined;
  readonly reference?: string | undefined;
  readonly occurredAt?: number | undefined;
  readonly attributes?: ItemAttributes;
  readonly incomingDelta?: number;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The command without its id and actor, as text that is equal exactly when the payloads are. */
function payloadOf(command: Command): string {
  const { id: _id, actor: _actor, ...payload } = command;
  return JSON.stringify(sortKeys(payload));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) sorted[key] = sortKeys(member);
  }
  return sorted;
}

// Shape rules: checked before anything else and never stored, field by field in a fixed order.

const isId = (value: unknown) => typeof value === 'string' && idRule.test(value);
const isCode = (value: unknown) => typeof value === 'string' && codeRule.test(value);
const isQuantity = (value: number) => Number.isInteger(value) && value >= 1 && value <= quantityMax;
/** Free text: bounded, and without NUL, which PostgreSQL cannot store in text. */
const isText = (value: string | undefined) =>
  value === undefined || (value.length <= textMax && !value.includes('\u0000'));
const isTime = (value: number | undefined) => value === undefined || (Number.isInteger(value) && value > 0);

function shapeError(command: Command): string | null {
  if (command.type === 'ExpireReservation') {
    if (command.id !== `sys:expire:${command.reservationId}`) return 'INVALID_ID';
  } else if (!isId(command.id) || command.id.startsWith('sys:')) {
    return 'INVALID_ID';
  }
  if (command.actor !== undefined && !isId(command.actor)) return 'INVALID_ID';
  return fieldError(command);
}

function fieldError(command: Command): string | null {
  switch (command.type) {
    case 'RegisterItem':
      if (!isCode(command.sku)) return 'INVALID_CODE';
      return isText(command.name) ? null : 'INVALID_TEXT';
    case 'ReceiveStock':
    case 'ReturnStock':
      if (!isCode(command.sku) || !isCode(command.location)) return 'INVALID_CODE';
      if (!isQuantity(command.quantity)) return 'INVALID_QUANTITY';
      // The engine checks a reason wherever one is sent, though only a return records it.
      if (!isText((command as { reason?: string }).reason) || !isText(command.reference)) {
        return 'INVALID_TEXT';
      }
      if (!isTime(command.occurredAt)) return 'VALIDATION_FAILED';
      return fromIncomingError(command);
    case 'ReserveStock':
      return linesError(command.lines) ?? (isText(command.reference) ? null : 'INVALID_TEXT');
    case 'CommitReservation':
      if (!isId(command.reservationId)) return 'INVALID_ID';
      return command.lines === undefined ? null : linesError(command.lines);
    case 'ReleaseReservation':
      if (!isId(command.reservationId)) return 'INVALID_ID';
      return isText(command.reason) ? null : 'INVALID_TEXT';
    case 'ExpireReservation':
      return isId(command.reservationId) ? null : 'INVALID_ID';
    case 'AdjustStock': {
      if (!isCode(command.sku) || !isCode(command.location)) return 'INVALID_CODE';
      const delta = command.delta;
      if (!Number.isInteger(delta) || delta === 0 || Math.abs(delta) > quantityMax) return 'INVALID_QUANTITY';
      if (command.reason === '' || !isText(command.reason)) return 'INVALID_TEXT';
      return isTime(command.occurredAt) ? null : 'VALIDATION_FAILED';
    }
    case 'CountStock': {
      if (!isCode(command.sku) || !isCode(command.location)) return 'INVALID_CODE';
      const counted = command.counted;
      if (!Number.isInteger(counted) || counted < 0 || counted > quantityMax) return 'INVALID_QUANTITY';
      if (!isText(command.reason)) return 'INVALID_TEXT';
      return isTime(command.occurredAt) ? null : 'VALIDATION_FAILED';
    }
    case 'TransferStock':
      if (!isCode(command.sku) || !isCode(command.from) || !isCode(command.to)) return 'INVALID_CODE';
      if (!isQuantity(command.quantity)) return 'INVALID_QUANTITY';
      return isText(command.reference) ? null : 'INVALID_TEXT';
    case 'ExpectStock': {
      if (!isCode(command.sku) || !isCode(command.location)) return 'INVALID_CODE';
      const delta = command.delta;
      if (!Number.isInteger(delta) || delta === 0 || Math.abs(delta) > quantityMax) return 'INVALID_QUANTITY';
      return isText(command.reason) && isText(command.reference) ? null : 'INVALID_TEXT';
    }
  }
}

/** A receipt settles from 0 to all of the units it brings in. */
function fromIncomingError(command: Extract<Command, { type: 'ReceiveStock' | 'ReturnStock' }>): string | null {
  if (command.type !== 'ReceiveStock' || command.fromIncoming === undefined) return null;
  const settled = command.fromIncoming;
  return Number.isInteger(settled) && settled >= 0 && settled <= command.quantity ? null : 'INVALID_QUANTITY';
}

function linesError(lines: readonly StockLine[]): string | null {
  if (lines.length === 0 || lines.length > linesMax) return 'INVALID_LINES';
  const seen = new Set<string>();
  for (const line of lines) {
    if (!isCode(line.sku) || !isCode(line.location)) return 'INVALID_CODE';
    if (!isQuantity(line.quantity)) return 'INVALID_QUANTITY';
    const key = `${line.sku}|${line.location}`;
    if (seen.has(key)) return 'INVALID_LINES';
    seen.add(key);
  }
  return null;
}
