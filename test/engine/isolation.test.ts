import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/index.js';
import type { Answer } from '../../src/engine/executor.js';
import type { Log } from '../../src/log.js';
import type { Dialect } from '../../src/store/port.js';
import { testDialects } from '../support/dialects.js';
import { expectConsistent, expectRejected, openTestEngine } from '../support/test-engine.js';

// A command the validator lets through but the store refuses (here: a trigger that refuses one
// reason) fails alone; every other command of its batch is decided as if it had never come.

const poison = 'poison-pill';

/** A trigger on the ledger that refuses the poison reason: a real refusal by the real store. */
const refusePoison: Record<Dialect, string[]> = {
  sqlite: [
    `CREATE TRIGGER refuse_poison BEFORE INSERT ON ledger WHEN NEW.reason = '${poison}'
     BEGIN SELECT RAISE(ABORT, 'poison refused'); END`,
  ],
  postgres: [
    `CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN IF NEW.reason = '${poison}' THEN RAISE EXCEPTION 'poison refused'; END IF; RETURN NEW; END $$`,
    'CREATE TRIGGER refuse_poison BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION refuse_poison()',
  ],
  mysql: [
    `CREATE TRIGGER refuse_poison BEFORE INSERT ON ledger FOR EACH ROW
     BEGIN IF NEW.reason = '${poison}' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poison refused'; END IF; END`,
  ],
};

const skus = ['A', 'B', 'C', 'D'];
const locations = ['L1', 'L2', 'L3'];

/**
 * 999 commands whose outcomes depend on their order: receipts, reservations that some earlier
 * receipt makes possible (or not), commits and releases of those reservations.
 */
function workload(): Command[] {
  const commands: Command[] = [];
  for (let i = 0; i < 999; i += 1) {
    const sku = skus[i % skus.length] as string;
    const location = locations[(i >> 2) % locations.length] as string;
    switch (i % 5) {
      case 0:
      case 3:
        commands.push({ type: 'ReceiveStock', id: `rcv-${i}`, sku, location, quantity: 1 + (i % 7) });
        break;
      case 1:
        commands.push({ type: 'ReserveStock', id: `res-${i}`, lines: [{ sku, location, quantity: 2 + (i % 5) }] });
        break;
      case 2:
        commands.push({ type: 'CommitReservation', id: `com-${i}`, reservationId: `res-${i - 1}` });
        break;
      case 4:
        commands.push({ type: 'ReleaseReservation', id: `rel-${i}`, reservationId: `res-${i - 13}` });
        break;
    }
  }
  return commands;
}

const poisonCommand: Command = {
  type: 'ReturnStock',
  id: 'ret-poison',
  sku: 'B',
  location: 'L9',
  quantity: 3,
  reason: poison,
};

interface Logged {
  readonly context: object;
  readonly message: string;
}

function recorder(): { log: Log; errors: Logged[] } {
  const errors: Logged[] = [];
  const ignore = () => undefined;
  return {
    log: { error: (context, message) => errors.push({ context, message }), warn: ignore, info: ignore, debug: ignore },
    errors,
  };
}

describe.each(testDialects())('a command the store refuses fails alone: %s', (dialect) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  /** Registers the items, then sends `commands` in one tick, so that they share one batch. */
  async function run(commands: readonly Command[]) {
    const { log, errors } = recorder();
    const opened = await openTestEngine(dialect, { log });
    cleanups.push(opened.cleanup);
    for (const statement of refusePoison[dialect]) await opened.db.exec(statement);
    const { engine } = opened;
    await Promise.all(skus.map((sku) => engine.execute({ type: 'RegisterItem', id: `reg-${sku}`, sku })));
    const batchesBefore = engine.stats.batches;
    const answers = await Promise.all(commands.map((command) => engine.execute(command)));
    return { ...opened, answers, errors, batches: engine.stats.batches - batchesBefore };
  }

  it('in a batch of 1,000, answers the other 999 exactly as without it, and writes them alike', async () => {
    const commands = workload();
    const clean = await run(commands);
    const withPoison = await run([...commands.slice(0, 500), poisonCommand, ...commands.slice(500)]);
    expect(clean.batches).toBe(1);
    expect(withPoison.batches).toBe(1);

    const poisoned = withPoison.answers[500] as Answer;
    const error = expectRejected(poisoned, 'STORE_REJECTED');
    expect(error.message).toContain('poison refused');
    const others = withPoison.answers.filter((_, index) => index !== 500);
    expect(others).toEqual(clean.answers);
    // Not a workload that the store refuses everything of: most commands were accepted.
    expect(clean.answers.filter((answer) => answer.outcome.ok).length).toBeGreaterThan(600);

    expect(withPoison.engine.stats.isolated).toBe(1);
    expect(withPoison.engine.stats.splits).toBeGreaterThan(0);
    expect(withPoison.errors).toEqual([
      { context: expect.objectContaining({ commandId: 'ret-poison' }), message: 'the store refused a command' },
    ]);
    expect(await withPoison.store.readLedger(0, 5_000)).toEqual(await clean.store.readLedger(0, 5_000));
    expect(await withPoison.store.scanLevels(undefined, 100)).toEqual(await clean.store.scanLevels(undefined, 100));
    expect(await withPoison.store.getCommand('ret-poison')).toBeUndefined();
    await expectConsistent(withPoison.store);
  });

  it('refuses the resend alike, and the next batch is unharmed', async () => {
    const { engine, store } = await run([poisonCommand]);
    const again = await Promise.all([
      engine.execute({ type: 'ReceiveStock', id: 'next-1', sku: 'A', location: 'L1', quantity: 5 }),
      engine.execute(poisonCommand),
      engine.execute({ type: 'ReceiveStock', id: 'next-2', sku: 'A', location: 'L1', quantity: 5 }),
    ]);
    expectRejected(again[1] as Answer, 'STORE_REJECTED');
    expect(again.map((answer) => answer.outcome.ok)).toEqual([true, false, true]);
    expect((await store.itemLevels('A')).map((level) => level.onHand)).toEqual([10]);
    await expectConsistent(store);
  });
});
