import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Command, decide, expiryCommandId } from '../../src/domain/index.js';
import { defaultContext, FoldedState, item, line, received, reserved, t0 } from '../support/given.js';

// decide is a pure function of the command, the state and the context: it reads no clock,
// draws no random number, and leaves the state it reads as it was.

const commands: Command[] = [
  { type: 'RegisterItem', id: 'c1', sku: 'SKU-2' },
  { type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 1 },
  { type: 'ReturnStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 1 },
  { type: 'ReserveStock', id: 'r2', lines: [line('SKU-1', 'WH1', 1)] },
  { type: 'CommitReservation', id: 'c1', reservationId: 'r1' },
  { type: 'ReleaseReservation', id: 'c1', reservationId: 'r1' },
  { type: 'ExpireReservation', id: expiryCommandId('r1'), reservationId: 'r1' },
  { type: 'AdjustStock', id: 'c1', sku: 'SKU-1', location: 'WH1', delta: -1, reason: 'damaged' },
  { type: 'CountStock', id: 'c1', sku: 'SKU-1', location: 'WH1', counted: 3 },
  { type: 'TransferStock', id: 'c1', sku: 'SKU-1', from: 'WH1', to: 'WH2', quantity: 1 },
];

function stockedState(): FoldedState {
  const state = new FoldedState();
  state.add([item('SKU-1'), received('SKU-1', 'WH1', 10), reserved('r1', [line('SKU-1', 'WH1', 2)], t0 + 10)]);
  return state;
}

describe('decide', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(commands.map((command) => [command.type, command]))(
    'decides %s without a clock or randomness',
    (_, command) => {
      const forbidden = () => {
        throw new Error('decide must not read a clock or draw a random number');
      };
      vi.spyOn(Date, 'now').mockImplementation(forbidden);
      vi.spyOn(Math, 'random').mockImplementation(forbidden);
      vi.spyOn(performance, 'now').mockImplementation(forbidden);
      const state = stockedState();
      const before = structuredClone([state.level('SKU-1', 'WH1'), state.reservation('r1')]);
      const context = { ...defaultContext, now: t0 + 20 };
      const first = decide(command, state, context);
      expect(decide(command, state, context)).toEqual(first);
      expect([state.level('SKU-1', 'WH1'), state.reservation('r1')]).toEqual(before);
    },
  );
});
