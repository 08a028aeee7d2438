import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Command, type CommandOutcome, expiryCommandId, type StockLine } from '../../src/domain/index.js';
import type { Answer } from '../../src/engine/executor.js';
import type { Dialect } from '../../src/store/port.js';
import { testDialects } from '../support/dialects.js';
import { wholeLedger } from '../support/engine-harness.js';
import { expectConsistent, openTestEngine } from '../support/test-engine.js';
import { type ModelAnswer, type ModelEvent, modelEventFields, ReferenceModel } from './reference-model.js';

// Random command sequences over a tiny alphabet of items, locations and ids, so that commands
// collide: each runs through the real engine on a real store and through the reference model,
// and both must agree on every answer, every level and, at the end, the whole ledger.

const runsByDialect: Record<Dialect, number> = { sqlite: 100, postgres: 15, mysql: 15 };
const ttlMsDefault = 1_500;
const ttlMsMax = 5_000;

const skus = ['A', 'B', 'C'] as const;
const locations = ['W1', 'W2', 'W3'] as const;

/**
 * A commit or release of a reservation picked among those made so far (null: an unknown one),
 * resolved against the model when it is sent.
 */
interface Resolution {
  readonly kind: 'resolution';
  readonly type: 'CommitReservation' | 'ReleaseReservation';
  readonly id: string;
  readonly pick: number | null;
  /** For a commit: quarters of each reserved line to commit; none at all commits in full. */
  readonly quarters: readonly number[];
}

type Plan = { readonly kind: 'command'; readonly command: Command } | Resolution;

type Step =
  /** One command alone, or several sent at once so that they share a batch. */
  | { readonly kind: 'send'; readonly plans: readonly Plan[] }
  /** Sends an earlier command again, maybe as another actor. */
  | { readonly kind: 'repeat'; readonly back: number; readonly actor: string | undefined }
  /** Moves the clock; with `sweep`, expires what is due, as the sweeper would. */
  | { readonly kind: 'advance'; readonly ms: number; readonly sweep: boolean };

const weighted = <T>(common: fc.Arbitrary<T>, rare: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 24, arbitrary: common }, { weight: 1, arbitrary: rare });

const arb = {
  sku: weighted(fc.constantFrom('A', 'A', 'A', 'B', 'B', 'C'), fc.constantFrom('', 'A B')),
  location: weighted(fc.constantFrom(...locations), fc.constant('W/1')),
  quantity: weighted(fc.integer({ min: 1, max: 6 }), fc.constantFrom(0, -2, 1.5, 1_000_000_001)),
  id: weighted(
    fc.integer({ min: 0, max: 59 }).map((n) => `c${n}`),
    fc.constantFrom('', 'sys:c1', 'c 1'),
  ),
  reservationId: weighted(
    fc.integer({ min: 0, max: 9 }).map((n) => `r${n}`),
    fc.constantFrom('sys:r1', 'r 1'),
  ),
  actor: weighted(fc.constantFrom(undefined, 'alice', 'bob'), fc.constant('bad actor')),
  ttlMs: weighted(fc.constantFrom(undefined, 500, 1_000, 3_000), fc.constantFrom(0, 1.5, ttlMsMax + 1)),
  /** When a change happened, if the command says: an epoch time well before the test clock's. */
  occurredAt: weighted(fc.constantFrom(undefined, 1_000, 86_400_000), fc.constantFrom(0, -5, 2.5)),
  text: weighted(fc.constantFrom(undefined, 'PO-1', 'damaged, "wet"'), fc.constant('\u0000')),
};

const line = fc.record({ sku: arb.sku, location: arb.location, quantity: arb.quantity });
const lines = weighted(
  fc.uniqueArray(line, { minLength: 1, maxLength: 3, selector: (each) => `${each.sku}|${each.location}` }),
  fc.oneof(fc.constant([]), fc.array(line, { minLength: 2, maxLength: 3 })),
);

const command = (shape: fc.Arbitrary<Command>): fc.Arbitrary<Plan> =>
  shape.map((value) => ({ kind: 'command' as const, command: value }));

const plan: fc.Arbitrary<Plan> = fc.oneof(
  {
    weight: 1,
    arbitrary: command(
      fc.record(
        {
          type: fc.constant('RegisterItem'),
          id: arb.id,
          sku: arb.sku,
          name: arb.text,
          allowBackorder: fc.boolean(),
          lowStockThreshold: fc.nat({ max: 50 }),
        },
        { requiredKeys: ['type', 'id', 'sku'] },
      ),
    ),
  },
  {
    weight: 5,
    arbitrary: command(
      fc.record({
        type: fc.constantFrom('ReceiveStock', 'ReturnStock'),
        id: arb.id,
        actor: arb.actor,
        sku: arb.sku,
        location: arb.location,
        quantity: arb.quantity,
        reason: arb.text,
        reference: arb.text,
        occurredAt: arb.occurredAt,
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: command(
      fc.record(
        {
          type: fc.constant('ReceiveStock'),
          id: arb.id,
          sku: arb.sku,
          location: arb.location,
          quantity: fc.integer({ min: 1, max: 6 }),
          // Within the quantity, beyond it, and invalid: each path of a receipt against incoming.
          fromIncoming: weighted(fc.integer({ min: 0, max: 6 }), fc.constantFrom(-1, 1.5)),
          reference: arb.text,
        },
        { requiredKeys: ['type', 'id', 'sku', 'location', 'quantity', 'fromIncoming'] },
      ),
    ),
  },
  {
    weight: 2,
    arbitrary: command(
      fc.record({
        type: fc.constant('ExpectStock'),
        id: arb.id,
        sku: arb.sku,
        location: arb.location,
        delta: weighted(
          fc.integer({ min: -6, max: 8 }).filter((n) => n !== 0),
          fc.constantFrom(0, 2.5),
        ),
        reason: arb.text,
        reference: arb.text,
      }),
    ),
  },
  {
    weight: 6,
    arbitrary: command(
      fc.record({
        type: fc.constant('ReserveStock'),
        id: arb.reservationId,
        actor: arb.actor,
        lines,
        ttlMs: arb.ttlMs,
        reference: arb.text,
      }),
    ),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('resolution'),
      type: fc.constantFrom('CommitReservation', 'ReleaseReservation'),
      id: arb.id,
      pick: weighted(fc.nat(), fc.constant(null)),
      quarters: fc.oneof(fc.constant([]), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 3, maxLength: 3 })),
    }),
  },
  {
    weight: 1,
    arbitrary: command(
      fc.record({
        type: fc.constant('CommitReservation'),
        id: arb.id,
        reservationId: arb.reservationId,
        lines: fc.array(line, { minLength: 1, maxLength: 2 }),
      }),
    ),
  },
  {
    weight: 3,
    arbitrary: command(
      fc.record({
        type: fc.constant('AdjustStock'),
        id: arb.id,
        sku: arb.sku,
        location: arb.location,
        delta: weighted(
          fc.integer({ min: -6, max: 6 }).filter((n) => n !== 0),
          fc.constantFrom(0, 2.5),
        ),
        reason: weighted(fc.constant('recount'), fc.constant('')),
        occurredAt: arb.occurredAt,
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: command(
      fc.record({
        type: fc.constant('CountStock'),
        id: arb.id,
        sku: arb.sku,
        location: arb.location,
        counted: weighted(fc.integer({ min: 0, max: 8 }), fc.constantFrom(-1, 0.5)),
        reason: arb.text,
        occurredAt: arb.occurredAt,
      }),
    ),
  },
  {
    weight: 3,
    arbitrary: command(
      fc.record({
        type: fc.constant('TransferStock'),
        id: arb.id,
        sku: arb.sku,
        from: arb.location,
        to: arb.location,
        quantity: arb.quantity,
        reference: arb.text,
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: command(
      // Only the system's own id may expire a reservation.
      fc.record({ type: fc.constant('ExpireReservation'), id: arb.id, reservationId: arb.reservationId }),
    ),
  },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({ kind: fc.constant('send'), plans: fc.array(plan, { minLength: 1, maxLength: 1 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('send'), plans: fc.array(plan, { minLength: 2, maxLength: 5 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('repeat'), back: fc.nat(), actor: arb.actor }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance'),
      ms: fc.constantFrom(250, 500, 1_000, 1_500, 3_000),
      sweep: fc.boolean(),
    }),
  },
);

const sequence = fc.array(step, { minLength: 5, maxLength: 50, size: 'max' });

/** A and B exist from the start, with some stock; C exists only once a sequence registers it. */
const preamble: Command[] = [
  { type: 'RegisterItem', id: 'setup-a', sku: 'A' },
  { type: 'RegisterItem', id: 'setup-b', sku: 'B', allowBackorder: true },
  { type: 'ReceiveStock', id: 'setup-a1', sku: 'A', location: 'W1', quantity: 12 },
  { type: 'ReceiveStock', id: 'setup-a2', sku: 'A', location: 'W2', quantity: 6 },
  { type: 'ReceiveStock', id: 'setup-b1', sku: 'B', location: 'W1', quantity: 3 },
];

/** Drives one sequence through a fresh engine and the model side by side. */
class Run {
  private readonly history: Command[] = [];
  private readonly firstOutcomes = new Map<string, CommandOutcome>();
  private readonly model: ReferenceModel;

  constructor(
    private readonly harness: Awaited<ReturnType<typeof openTestEngine>>,
    private readonly steps: readonly Step[],
  ) {
    this.model = new ReferenceModel({ now: harness.clock.read(), ttlMsDefault, ttlMsMax });
  }

  async play(): Promise<void> {
    await this.send(preamble, 'preamble');
    for (const [index, current] of this.steps.entries()) {
      const label = `step ${index} ${JSON.stringify(current)}`;
      await this.send(await this.commandsOf(current, label), label);
      await this.expectSameLevels(label);
    }
    const ledger = await wholeLedger(this.harness.store);
    const compared = (event: ModelEvent) => Object.fromEntries(modelEventFields.map((field) => [field, event[field]]));
    expect(ledger.map(compared), 'the ledger').toEqual(this.model.ledger.map(compared));
    expect(ledger.map((event) => event.position)).toEqual(ledger.map((_, index) => index + 1));
    await expectConsistent(this.harness.store);
  }

  private async commandsOf(current: Step, label: string): Promise<Command[]> {
    switch (current.kind) {
      case 'send':
        return current.plans.flatMap((each) => this.resolve(each));
      case 'repeat': {
        const earlier = this.history[current.back % Math.max(this.history.length, 1)];
        return earlier === undefined ? [] : [{ ...earlier, actor: current.actor }];
      }
      case 'advance': {
        this.model.now = this.harness.clock.advance(current.ms);
        if (!current.sweep) return [];
        const due = this.model.due();
        const stored = await this.harness.store.dueReservations(this.model.now, 1_000);
        expect([...stored].sort(), `${label}: due reservations`).toEqual([...due].sort());
        return due.map((reservationId) => ({
          type: 'ExpireReservation',
          id: expiryCommandId(reservationId),
          reservationId,
          actor: 'sweeper',
        }));
      }
    }
  }

  /** The command a plan stands for now, or none. */
  private resolve(each: Plan): Command[] {
    if (each.kind === 'command') return [each.command];
    const made = [...this.model.reservations.keys()];
    const reservationId = each.pick === null || made.length === 0 ? 'r99' : (made[each.pick % made.length] as string);
    const base = { type: each.type, id: each.id, reservationId } as const;
    if (each.type === 'ReleaseReservation') return [base as Command];
    const lines: StockLine[] = [];
    for (const [index, reserved] of (this.model.reservations.get(reservationId)?.lines ?? []).entries()) {
      const quarters = each.quarters[index] ?? 0;
      // Five quarters asks for one unit more than was reserved.
      const quantity = quarters > 4 ? reserved.quantity + 1 : Math.floor((reserved.quantity * quarters) / 4);
      if (quantity > 0) lines.push({ sku: reserved.sku, location: reserved.location, quantity });
    }
    return [{ ...base, type: 'CommitReservation', ...(lines.length === 0 ? {} : { lines }) }];
  }

  /** Sends the commands at once, so that they share one batch, and checks every answer. */
  private async send(commands: readonly Command[], label: string): Promise<void> {
    const { engine } = this.harness;
    const batches = engine.stats.batches;
    const answers = await Promise.all(commands.map((each) => engine.execute(each)));
    expect(engine.stats.batches - batches, `${label}: one batch`).toBeLessThanOrEqual(1);
    for (const [index, each] of commands.entries()) {
      this.history.push(each);
      this.expectSameAnswer(each, answers[index] as Answer, this.model.send(each), `${label} #${index}`);
    }
  }

  private expectSameAnswer(sent: Command, answer: Answer, expected: ModelAnswer, label: string): void {
    const { outcome } = answer;
    const actual = {
      outcome: outcome.ok ? { ok: true, position: outcome.position } : { ok: false, code: outcome.error.code },
      replayed: answer.replayed,
    };
    const context = `${label}: ${JSON.stringify(sent)} answered ${JSON.stringify(outcome)}`;
    expect(actual, context).toEqual({ outcome: expected.outcome, replayed: expected.replayed });
    if (expected.recorded) this.firstOutcomes.set(sent.id, outcome);
    if (answer.replayed) {
      expect(outcome, `${context}: a replay repeats the first answer`).toEqual(this.firstOutcomes.get(sent.id));
    }
  }

  private async expectSameLevels(label: string): Promise<void> {
    const stored = [];
    for (const sku of skus) {
      for (const level of await this.harness.store.itemLevels(sku)) {
        expect(level.onHand, `${label}: on hand of ${sku}@${level.location}`).toBeGreaterThanOrEqual(0);
        expect(level.reserved, `${label}: reserved of ${sku}@${level.location}`).toBeGreaterThanOrEqual(0);
        if (this.model.items.get(sku) === false) {
          expect(level.reserved, `${label}: reserved within on hand at ${sku}@${level.location}`).toBeLessThanOrEqual(
            level.onHand,
          );
        }
        expect(level.incoming, `${label}: incoming of ${sku}@${level.location}`).toBeGreaterThanOrEqual(0);
        if (level.onHand !== 0 || level.reserved !== 0 || level.incoming !== 0) {
          const { onHand, reserved, incoming } = level;
          stored.push({ sku, location: level.location, onHand, reserved, incoming });
        }
      }
    }
    expect(stored, `${label}: levels`).toEqual(this.model.levels());
  }
}

async function playSequence(dialect: Dialect, steps: readonly Step[]): Promise<void> {
  const harness = await openTestEngine(dialect, {
    reservationTtlMsDefault: ttlMsDefault,
    reservationTtlMsMax: ttlMsMax,
  });
  try {
    await new Run(harness, steps).play();
  } finally {
    await harness.cleanup();
  }
}

describe.each(testDialects())('the engine on %s agrees with the reference model', (dialect) => {
  it('on random command sequences', async () => {
    await fc.assert(
      fc.asyncProperty(sequence, (steps) => playSequence(dialect, steps)),
      { numRuns: runsByDialect[dialect] },
    );
  });
});
