import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { Store } from '../../src/store/port.js';
import { type MismatchKind, type VerifyProgress, verify, verifyPageSize } from '../../src/verify/verify.js';
import { dropLedgerGuard, openTestStore, type TestDatabase, testDialects } from '../support/dialects.js';
import { stock } from '../support/engine-harness.js';
import { runSkuld, verifyCli } from '../support/server-process.js';

// verify must see every kind of drift between the stored state and the ledger. Each case
// tampers with the tables behind the store's back and expects the matching mismatch.

// Tamperings of the ledger itself first lift its append-only guard (the database refuses them
// otherwise: test/store/append-only.test.ts).
const tamperings: readonly { name: string; sql: string; kind: MismatchKind; ledger?: true }[] = [
  {
    name: 'on hand edited',
    sql: "UPDATE levels SET on_hand = on_hand + 5 WHERE sku = 'V-1'",
    kind: 'on-hand-vs-ledger',
  },
  {
    name: 'reserved edited',
    sql: "UPDATE levels SET reserved = reserved + 1 WHERE sku = 'V-1'",
    kind: 'reserved-vs-ledger',
  },
  {
    name: 'incoming edited',
    sql: "UPDATE levels SET incoming = incoming + 2 WHERE sku = 'V-1'",
    kind: 'incoming-vs-ledger',
  },
  {
    name: 'incoming below zero',
    sql: "UPDATE levels SET incoming = -1 WHERE sku = 'V-2'",
    kind: 'negative-incoming',
  },
  {
    name: 'an incoming balance-after rewritten',
    sql: "UPDATE ledger SET incoming_after = incoming_after + 1 WHERE command_id = 'expect-V-1'",
    kind: 'balance-chain',
    ledger: true,
  },
  {
    name: 'a ledger event deleted',
    sql: "DELETE FROM ledger WHERE command_id = 'rcv-V-2-WH1'",
    kind: 'ledger-gap',
    ledger: true,
  },
  {
    name: 'a reservation resolved without its events',
    sql: "UPDATE commands SET status = 'released' WHERE id = 'held'",
    kind: 'reserved-vs-pending',
  },
  {
    name: 'a balance-after rewritten',
    sql: "UPDATE ledger SET on_hand_after = on_hand_after + 1 WHERE command_id = 'rcv-V-1-WH1'",
    kind: 'balance-chain',
    ledger: true,
  },
  {
    name: 'an event renumbered in its stream',
    sql: "UPDATE ledger SET stream_version = 7 WHERE command_id = 'held'",
    kind: 'stream-version',
    ledger: true,
  },
  {
    name: "an item's registration renumbered",
    sql: "UPDATE ledger SET stream_version = 2 WHERE type = 'ItemRegistered' AND sku = 'V-2'",
    kind: 'stream-version',
    ledger: true,
  },
  {
    name: 'a level version edited',
    sql: "UPDATE levels SET version = version + 1 WHERE sku = 'V-2'",
    kind: 'version-vs-ledger',
  },
  {
    name: 'more reserved than on hand',
    sql: "UPDATE levels SET reserved = 1000 WHERE sku = 'V-2'",
    kind: 'reserved-out-of-range',
  },
];

describe.each(testDialects())('verify on %s', (dialect) => {
  let store: Store;
  let db: TestDatabase;
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  async function seeded(): Promise<void> {
    const opened = await openTestStore(dialect);
    ({ store, db, cleanup } = opened);
    const engine = Engine.on(store);
    await stock(engine, ['V-1', 'V-2'], 'WH1', 10);
    const { outcome } = await engine.execute({
      type: 'ReserveStock',
      id: 'held',
      lines: [{ sku: 'V-1', location: 'WH1', quantity: 3 }],
    });
    expect(outcome.ok).toBe(true);
    const expected = await engine.execute({
      type: 'ExpectStock',
      id: 'expect-V-1',
      sku: 'V-1',
      location: 'WH1',
      delta: 5,
    });
    expect(expected.outcome.ok).toBe(true);
    expect((await verify(store)).ok).toBe(true);
  }

  it.each(tamperings)('reports $name as $kind', async ({ sql, kind, ledger }) => {
    await seeded();
    if (ledger) for (const statement of dropLedgerGuard[dialect]) await db.exec(statement);
    await db.exec(sql);
    const report = await verify(store);
    expect(report.ok).toBe(false);
    expect(report.mismatches.map((m) => m.kind)).toContain(kind);
  });

  it('reads the ledger, the reservations and the levels in pages, and says how far it has got', async () => {
    await seeded();
    const engine = Engine.on(store);
    const receipts = Array.from({ length: 2 * verifyPageSize + 10 }, (_, i) =>
      engine.execute({ type: 'ReceiveStock', id: `more-${i}`, sku: 'V-1', location: `L${i % 3}`, quantity: 1 }),
    );
    expect((await Promise.all(receipts)).every((answer) => answer.outcome.ok)).toBe(true);
    const progress: VerifyProgress[] = [];
    const report = await verify(store, (step) => progress.push(step));
    expect(report.ok).toBe(true);
    const ledger = progress.filter((step) => step.phase === 'ledger');
    expect(ledger.length).toBe(3);
    expect(ledger.map((step) => step.done)).toEqual([verifyPageSize, 2 * verifyPageSize, report.head]);
    expect(ledger.every((step) => step.total === report.head)).toBe(true);
    expect(progress.map((step) => step.phase)).toEqual([...ledger.map(() => 'ledger'), 'reservations', 'levels']);
    expect(progress.at(-1)).toEqual({ phase: 'levels', done: report.levels, total: undefined });
  });

  it('exits 1 from the command line, with the report', async () => {
    await seeded();
    const clean = await runSkuld(['verify'], db.env);
    expect(clean.code).toBe(0);
    // Its progress goes to stderr, a line a page when stderr is not a terminal.
    expect(clean.stderr).toContain(`verify: ledger 6 of 6\nverify: reservations 1\nverify: levels 2\n`);
    await db.exec(tamperings[0]?.sql as string);
    const { code, report } = await verifyCli(db);
    expect(code).toBe(1);
    expect(report).toContain('verify: MISMATCH');
    expect(report).toContain('on-hand-vs-ledger V-1@WH1: expected 10, found 15');
  });
});
