import { describe, expect, it } from 'vitest';
import { type EventDraft, type Level, levelKey } from '../../src/domain/index.js';
import { BatchState } from '../../src/engine/batch-state.js';

// The batch state refuses to answer a level the batch never loaded: decided from zero, it would
// overwrite real stock.

const level = (location: string, onHand: number, version: number): Level => ({
  sku: 'A',
  location,
  onHand,
  reserved: 0,
  incoming: 0,
  version,
});

function state(loaded: readonly string[], levels: readonly Level[]): BatchState {
  const keys = new Map(loaded.map((location) => [levelKey('A', location), { sku: 'A', location }]));
  return new BatchState(new Map(), keys, levels, new Map(), new Map());
}

const received = (location: string, quantity: number, after: number): EventDraft => ({
  type: 'StockReceived',
  sku: 'A',
  location,
  onHandDelta: quantity,
  reservedDelta: 0,
  onHandAfter: after,
  reservedAfter: 0,
  incomingDelta: 0,
  incomingAfter: 0,
  quantity,
  commandId: 'c1',
  reservationId: null,
  expiresAt: null,
  peerLocation: null,
  reason: null,
  reference: null,
  actor: 'tester',
  occurredAt: 1,
  recordedAt: 1,
  streamVersion: 1,
  attributes: null,
});

describe('the batch state', () => {
  it('answers a loaded key without a row as empty, and refuses a key the batch never loaded', () => {
    const batch = state(['L1', 'L2'], [level('L1', 5, 3)]);
    expect(batch.level('A', 'L1')).toEqual(level('L1', 5, 3));
    expect(batch.level('A', 'L2')).toEqual(level('L2', 0, 0));
    expect(() => batch.level('A', 'L3')).toThrow(/level A@L3 was read but never loaded/);
  });

  it('writes a changed level with the version it was read at, or null for a new row', () => {
    const batch = state(['L1', 'L2'], [level('L1', 5, 3)]);
    batch.apply(received('L1', 2, 7));
    batch.apply(received('L2', 4, 4));
    batch.apply(received('L2', 1, 5));
    expect(batch.changedLevels()).toEqual([
      { ...level('L1', 7, 4), previousVersion: 3 },
      { ...level('L2', 5, 2), previousVersion: null },
    ]);
  });
});
