import { expect } from 'vitest';
import {
  type Command,
  type DecideContext,
  type Decision,
  type DomainError,
  decide,
  type ErrorCode,
  type EventDraft,
  type EventType,
  emptyLevel,
  evolveLevel,
  evolveReservation,
  type Item,
  type Level,
  levelKey,
  type Reservation,
  type StockLine,
  type StockView,
} from '../../src/domain/index.js';
import { t0 } from './clock.js';

// given(facts).when(command).then(events | code): the state decide reads is a fold of the given
// events with the domain's own evolve functions, plus the registered items. Time and TTL
// settings are explicit arguments, as decide never reads a clock.

export { t0 };
export const ttlMsDefault = 60_000;
export const ttlMsMax = 3_600_000;

export const defaultContext: DecideContext = {
  now: t0,
  reservationTtlMsDefault: ttlMsDefault,
  reservationTtlMsMax: ttlMsMax,
};

/** A registered item, or an event that happened before the command. */
export type Fact = Item | EventDraft | readonly Fact[];

/** The state decide reads, folded from facts; a successful `then` applies the decided events. */
export class FoldedState implements StockView {
  private readonly items = new Map<string, Item>();
  private readonly levels = new Map<string, Level>();
  private readonly reservations = new Map<string, Reservation>();

  add(fact: Fact): void {
    if (Array.isArray(fact)) {
      for (const each of fact as readonly Fact[]) this.add(each);
    } else if ('type' in fact) {
      this.apply(fact as EventDraft);
    } else {
      const registered = fact as Item;
      this.items.set(registered.sku, registered);
    }
  }

  apply(event: EventDraft): void {
    if (event.type === 'ItemRegistered') return;
    this.levels.set(levelKey(event.sku, event.location), evolveLevel(this.level(event.sku, event.location), event));
    if (event.reservationId === null) return;
    const next = evolveReservation(this.reservations.get(event.reservationId), event);
    if (next !== undefined) this.reservations.set(next.id, next);
  }

  item(sku: string): Item | undefined {
    return this.items.get(sku);
  }

  level(sku: string, location: string): Level {
    return this.levels.get(levelKey(sku, location)) ?? emptyLevel(sku, location);
  }

  reservation(id: string): Reservation | undefined {
    return this.reservations.get(id);
  }
}

export interface Expectation {
  readonly decision: Decision;
  /** The decided events, matched one by one (same count, listed fields equal), or the error code. */
  then(expected: readonly Partial<EventDraft>[]): FoldedState;
  then(expected: ErrorCode): DomainError;
}

export function given(...facts: Fact[]) {
  const state = new FoldedState();
  for (const fact of facts) state.add(fact);
  return {
    state,
    when(command: Command, context: Partial<DecideContext> = {}): Expectation {
      const decision = decide(command, state, { ...defaultContext, ...context });
      return {
        decision,
        // biome-ignore lint/suspicious/noThenProperty: the given/when/then vocabulary; never awaited.
        then: ((expected: readonly Partial<EventDraft>[] | ErrorCode) =>
          typeof expected === 'string'
            ? expectRejected(decision, expected)
            : expectEvents(decision, expected, state)) as Expectation['then'],
      };
    },
  };
}

function expectRejected(decision: Decision, code: ErrorCode): DomainError {
  if (decision.ok) expect.fail(`the command should be rejected with ${code}, was accepted`);
  expect(decision.error.code, JSON.stringify(decision.error)).toBe(code);
  return decision.error;
}

function expectEvents(decision: Decision, expected: readonly Partial<EventDraft>[], state: FoldedState): FoldedState {
  if (!Array.isArray(expected)) throw new TypeError('then() takes the expected events or an error code');
  if (!decision.ok) expect.fail(`the command should be accepted, was rejected: ${JSON.stringify(decision.error)}`);
  expect(decision.events).toMatchObject(expected);
  if (decision.item !== undefined) state.add(decision.item);
  for (const event of decision.events) state.apply(event);
  return state;
}

// Facts. Their balances-after are left at zero: folding reads only the deltas.

export function item(sku: string, options: { allowBackorder?: boolean; name?: string } = {}): Item {
  return {
    sku,
    name: options.name ?? '',
    allowBackorder: options.allowBackorder ?? false,
    lowStockThreshold: null,
    createdAt: t0 - 60_000,
  };
}

export function event(
  type: EventType,
  line: StockLine,
  deltas: { onHand: number; reserved: number },
  fields: Partial<EventDraft> = {},
): EventDraft {
  const at = t0 - 1_000;
  return {
    type,
    sku: line.sku,
    location: line.location,
    onHandDelta: deltas.onHand,
    reservedDelta: deltas.reserved,
    incomingDelta: 0,
    onHandAfter: 0,
    reservedAfter: 0,
    incomingAfter: 0,
    quantity: line.quantity,
    commandId: 'given',
    reservationId: null,
    expiresAt: null,
    peerLocation: null,
    reason: null,
    reference: null,
    actor: 'system',
    occurredAt: at,
    recordedAt: at,
    streamVersion: 1,
    attributes: null,
    ...fields,
  };
}

export function received(sku: string, location: string, quantity: number): EventDraft {
  return event('StockReceived', { sku, location, quantity }, { onHand: quantity, reserved: 0 });
}

export function reserved(reservationId: string, lines: readonly StockLine[], expiresAt = t0 + ttlMsDefault) {
  return lines.map((line) =>
    event('StockReserved', line, { onHand: 0, reserved: line.quantity }, { reservationId, expiresAt }),
  );
}

const resolutions = {
  committed: 'ReservationCommitted',
  released: 'ReservationReleased',
  expired: 'ReservationExpired',
} as const;

/** Resolves a given reservation in full: committed lines leave the shelf, the others return to available. */
export function resolved(status: keyof typeof resolutions, reservationId: string, lines: readonly StockLine[]) {
  return lines.map((line) =>
    event(
      resolutions[status],
      line,
      { onHand: status === 'committed' ? -line.quantity : 0, reserved: -line.quantity },
      { reservationId },
    ),
  );
}

export function line(sku: string, location: string, quantity: number): StockLine {
  return { sku, location, quantity };
}
