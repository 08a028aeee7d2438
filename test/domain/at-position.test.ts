import { describe, expect, it } from 'vitest';
import { atPosition, type EventDraft } from '../../src/domain/index.js';

describe('atPosition', () => {
  it('carries every member of the draft and adds only the position', () => {
    // Every member set, and to a value no other member has: a member dropped or swapped shows.
    const draft: EventDraft = {
      type: 'StockTransferred',
      sku: 'SKU-1',
      location: 'WH1',
      streamVersion: 12,
      onHandDelta: -3,
      reservedDelta: 4,
      onHandAfter: 5,
      reservedAfter: 6,
      incomingDelta: 14,
      incomingAfter: 15,
      quantity: 7,
      commandId: 'c1',
      reservationId: 'r1',
      expiresAt: 8,
      peerLocation: 'WH2',
      reason: 'moved',
      reference: 'TO-1',
      actor: 'clerk',
      occurredAt: 9,
      recordedAt: 10,
      attributes: { name: 'n', allowBackorder: true, lowStockThreshold: 13 },
    };
    const event = atPosition(draft, 11);
    expect(event).toStrictEqual({ ...draft, position: 11 });
    expect(Object.keys(event).sort()).toEqual([...Object.keys(draft), 'position'].sort());
  });
});
