import fc from 'fast-check';
import type { LedgerEvent } from '../../src/domain/index.js';
import type { Clock } from '../../src/events/read-side/ledger-events.js';
import type { LevelAt } from '../../src/events/read-side/point-in-time.js';

// Random ledgers for the read side's property tests, and the naive full replay the read models'
// answers must equal. Times move forward by random steps (often none: a batch records many
// events in one millisecond); an event's occurredAt may be set back (a back-dated receipt).

export const levels = [
  { sku: 'SKU-A', location: 'L1' },
  { sku: 'SKU-A', location: 'L2' },
  { sku: 'SKU-B', location: 'L1' },
] as const;

const t0 = 1_700_000_000_000;

interface Step {
  readonly level: number;
  readonly type:
    | 'StockReceived'
    | 'StockAdjusted'
    | 'StockReserved'
    | 'ReservationReleased'
    | 'StockExpected'
    | 'Unknown';
  readonly quantity: number;
  readonly advanceMs: number;
  readonly backdateMs: number;
}

const step: fc.Arbitrary<Step> = fc.record({
  level: fc.integer({ min: 0, max: levels.length - 1 }),
  type: fc.constantFrom(
    'StockReceived',
    'StockAdjusted',
    'StockReserved',
    'ReservationReleased',
    'StockExpected',
    'Unknown',
  ),
  quantity: fc.integer({ min: 1, max: 50 }),
  advanceMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1000 })),
  backdateMs: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 20_000 })),
});

export const histories: fc.Arbitrary<readonly LedgerEvent[]> = fc
  .array(step, { minLength: 1, maxLength: 80 })
  .map((steps) => ledgerOf(steps));

function ledgerOf(steps: readonly Step[]): LedgerEvent[] {
  const balances = levels.map(() => ({ onHand: 0, reserved: 0, incoming: 0, version: 0 }));
  let now = t0;
  return steps.map((s, index) => {
    now += s.advanceMs;
    const level = levels[s.level] as (typeof levels)[number];
    const balance = balances[s.level] as { onHand: number; reserved: number; incoming: number; version: number };
    const [onHandDelta, reservedDelta] = deltasOf(s);
    // Incoming moves neither on hand nor reserved: the stock at a past moment is the same without it.
    const incomingDelta = s.type === 'StockExpected' ? s.quantity : 0;
    balance.onHand += onHandDelta;
    balance.reserved += reservedDelta;
    balance.incoming += incomingDelta;
    balance.version += 1;
    const event = {
      position: index + 1,
      type: (s.type === 'Unknown' ? 'StockTeleported' : s.type) as LedgerEvent['type'],
      sku: level.sku,
      location: level.location,
      streamVersion: balance.version,
      onHandDelta,
      reservedDelta,
      onHandAfter: balance.onHand,
      reservedAfter: balance.reserved,
      incomingDelta,
      incomingAfter: balance.incoming,
      quantity: s.quantity,
      commandId: `cmd-${index}`,
      reservationId: null,
      expiresAt: null,
      peerLocation: null,
      reason: null,
      reference: null,
      actor: 'test',
      occurredAt: now - s.backdateMs,
      recordedAt: now,
      attributes: null,
    };
    return event as LedgerEvent;
  });
}

function deltasOf(s: Step): [number, number] {
  switch (s.type) {
    case 'StockReceived':
      return [s.quantity, 0];
    case 'StockAdjusted':
      return [-s.quantity, 0];
    case 'StockReserved':
      return [0, s.quantity];
    case 'ReservationReleased':
      return [0, -s.quantity];
    case 'StockExpected':
    case 'Unknown':
      return [0, 0];
  }
}

const known = (e: LedgerEvent) => (e.type as string) !== 'StockTeleported';

/** The levels of a SKU as of a time on a clock, by summing every known event's deltas. */
export function replayAtTime(ledger: readonly LedgerEvent[], sku: string, at: number, clock: Clock): LevelAt[] {
  const time = (e: LedgerEvent) => (clock === 'occurred' ? e.occurredAt : e.recordedAt);
  return replay(ledger.filter((e) => e.sku === sku && known(e) && time(e) <= at));
}

/** The levels of a SKU as of a position: every known event up to it. */
export function replayAtPosition(ledger: readonly LedgerEvent[], sku: string, position: number): LevelAt[] {
  return replay(ledger.filter((e) => e.sku === sku && known(e) && e.position <= position));
}

function replay(events: readonly LedgerEvent[]): LevelAt[] {
  const byLocation = new Map<string, { onHand: number; reserved: number }>();
  for (const e of events) {
    const level = byLocation.get(e.location) ?? { onHand: 0, reserved: 0 };
    level.onHand += e.onHandDelta;
    level.reserved += e.reservedDelta;
    byLocation.set(e.location, level);
  }
  return [...byLocation.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([location, { onHand, reserved }]) => ({ location, onHand, reserved, available: onHand - reserved }));
}

/** A ledger held in memory, read as the projector reads a store's. */
export function memoryLedger(events: readonly LedgerEvent[]) {
  return {
    readLedger: async (after: number, limit: number) => events.filter((e) => e.position > after).slice(0, limit),
    headPosition: async () => events.length,
  };
}
