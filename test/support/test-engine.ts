import { expect } from 'vitest';
import type { CommandOutcome, CommandValue, DomainError, ErrorCode } from '../../src/domain/index.js';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import type { Answer } from '../../src/engine/executor.js';
import type { Dialect } from '../../src/store/port.js';
import { formatReport, verify } from '../../src/verify/verify.js';
import { ManualClock } from './clock.js';
import { openTestStore } from './dialects.js';

export const engineTtlMsDefault = 60_000;
export const engineTtlMsMax = 3_600_000;

/** A migrated store on a fresh database with an engine on a manual clock. */
export async function openTestEngine(dialect: Dialect, options: Partial<EngineOptions> = {}) {
  const { store, db, cleanup } = await openTestStore(dialect);
  const clock = new ManualClock();
  const engine = Engine.on(store, {
    clock: clock.read,
    reservationTtlMsDefault: engineTtlMsDefault,
    reservationTtlMsMax: engineTtlMsMax,
    ...options,
  });
  return {
    store,
    db,
    clock,
    engine,
    cleanup: async () => {
      await engine.drain();
      await cleanup();
    },
  };
}

export function expectAccepted(answer: Answer): CommandValue {
  const { outcome } = answer;
  if (!outcome.ok)
    expect.fail(`${outcome.commandId} should be accepted, was rejected: ${JSON.stringify(outcome.error)}`);
  return outcome.value;
}

export function expectRejected(answer: Answer, code: ErrorCode): DomainError {
  expect(answer.outcome, `the command should be rejected with ${code}`).toMatchObject({ ok: false, error: { code } });
  return (answer.outcome as Extract<CommandOutcome, { ok: false }>).error;
}

/** Every test against a store ends here: the invariants hold and the ledger rebuilds the levels. */
export async function expectConsistent(store: Parameters<typeof verify>[0]): Promise<void> {
  const report = await verify(store);
  expect(report.ok, formatReport(report)).toBe(true);
}
