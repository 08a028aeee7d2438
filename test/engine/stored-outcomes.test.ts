import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { openTestStore, testDialects } from '../support/dialects.js';
import { stock } from '../support/engine-harness.js';

// A successful ReserveStock is recorded as a reference to its reservation; a repeat must still
// answer exactly what the first send answered, whatever happened to the reservation since.

describe.each(testDialects())('recorded reservations on %s', (dialect) => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  it('replays the reservation as it was created, after it was partly committed', async () => {
    const opened = await openTestStore(dialect);
    cleanup = opened.cleanup;
    const engine = Engine.on(opened.store);
    await stock(engine, ['R-1', 'R-2'], 'WH1', 10);
    const reserve = {
      type: 'ReserveStock',
      id: 'order-7',
      lines: [
        { sku: 'R-1', location: 'WH1', quantity: 2 },
        { sku: 'R-2', location: 'WH1', quantity: 3 },
      ],
    } as const;
    const first = await engine.execute(reserve);
    expect(first.outcome.ok).toBe(true);
    const commit = await engine.execute({
      type: 'CommitReservation',
      id: 'pay-7',
      reservationId: 'order-7',
      lines: [{ sku: 'R-1', location: 'WH1', quantity: 1 }],
    });
    expect(commit.outcome.ok).toBe(true);
    const repeat = await engine.execute(reserve);
    expect(repeat.replayed).toBe(true);
    expect(repeat.outcome).toEqual(first.outcome);
    expect((await opened.store.getCommand('order-7'))?.outcome).toEqual({
      ok: true,
      commandId: 'order-7',
      position: first.outcome.ok ? first.outcome.position : -1,
      created: 'reservation',
    });
  });
});
