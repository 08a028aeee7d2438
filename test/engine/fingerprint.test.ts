import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/index.js';
import { canonicalPayload, fingerprint, payloadKeys } from '../../src/engine/fingerprint.js';

const lines = [
  { sku: 'SKU-1', location: 'WH1', quantity: 2 },
  { sku: 'SKU-2', location: 'WH1', quantity: 1 },
];

/** One command of every type with every optional field set. */
const everyField: Command[] = [
  { type: 'RegisterItem', id: 'c1', sku: 'SKU-1', name: 'Bolt', allowBackorder: true },
  { type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 3, reference: 'PO-1', occurredAt: 5 },
  {
    type: 'ReturnStock',
    id: 'c1',
    sku: 'SKU-1',
    location: 'WH1',
    quantity: 3,
    reason: 'damaged',
    reference: 'RMA-1',
    occurredAt: 5,
  },
  { type: 'ReserveStock', id: 'r1', lines, ttlMs: 60_000 },
  { type: 'CommitReservation', id: 'c1', reservationId: 'r1', lines },
  { type: 'ReleaseReservation', id: 'c1', reservationId: 'r1', reason: 'cancelled' },
  { type: 'ExpireReservation', id: 'sys:expire:r1', reservationId: 'r1' },
  { type: 'AdjustStock', id: 'c1', sku: 'SKU-1', location: 'WH1', delta: -2, reason: 'damaged', occurredAt: 5 },
  { type: 'CountStock', id: 'c1', sku: 'SKU-1', location: 'WH1', counted: 4, reason: 'cycle', occurredAt: 5 },
  { type: 'TransferStock', id: 'c1', sku: 'SKU-1', from: 'WH1', to: 'WH2', quantity: 1, reference: 'TO-1' },
];

/** Another value of the same kind for a payload field. */
function changed(value: unknown): unknown {
  if (typeof value === 'number') return value + 1;
  if (typeof value === 'boolean') return !value;
  if (Array.isArray(value)) return [{ ...value[0], quantity: value[0].quantity + 1 }, ...value.slice(1)];
  return `${String(value)}-x`;
}

describe('fingerprint', () => {
  it('does not depend on the order of keys, at any depth', () => {
    const reserve: Command = { type: 'ReserveStock', id: 'r1', lines, ttlMs: 60_000 };
    const reordered = {
      ttlMs: 60_000,
      lines: [
        { quantity: 2, location: 'WH1', sku: 'SKU-1' },
        { location: 'WH1', quantity: 1, sku: 'SKU-2' },
      ],
      id: 'r1',
      type: 'ReserveStock',
    } as Command;
    expect(fingerprint(reordered)).toBe(fingerprint(reserve));
  });

  it.each(everyField.map((command) => [command.type, command]))(
    'leaves out the id and the actor of %s',
    (_, command) => {
      expect(fingerprint({ ...command, id: 'other-id', actor: 'someone' })).toBe(fingerprint(command));
    },
  );

  it('treats an undefined member as absent', () => {
    const receive: Command = { type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 3 };
    expect(fingerprint({ ...receive, reference: undefined, occurredAt: undefined })).toBe(fingerprint(receive));
  });

  it.each(everyField.map((command) => [command.type, command]))(
    'changes with every payload field of %s',
    (_, command) => {
      const prints = new Set([fingerprint(command)]);
      const fields = Object.keys(command).filter((key) => key !== 'id' && key !== 'type');
      for (const field of fields) {
        const other = { ...command, [field]: changed(command[field as keyof Command]) } as Command;
        prints.add(fingerprint(other));
        const { [field as keyof Command]: _dropped, ...without } = command;
        prints.add(fingerprint(without as Command));
      }
      expect(prints.size).toBe(1 + 2 * fields.length);
    },
  );

  it('tells the command types apart, and lines in another order', () => {
    const receive: Command = { type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 3 };
    expect(fingerprint({ ...receive, type: 'ReturnStock' })).not.toBe(fingerprint(receive));
    const reserve: Command = { type: 'ReserveStock', id: 'r1', lines };
    expect(fingerprint({ ...reserve, lines: [...lines].reverse() })).not.toBe(fingerprint(reserve));
    expect(
      fingerprint({
        ...reserve,
        lines: [{ ...lines[0], location: 'WH2' } as (typeof lines)[0], lines[1] as (typeof lines)[0]],
      }),
    ).not.toBe(fingerprint(reserve));
  });

  it('is a short, stable digest', () => {
    const [first] = everyField as [Command];
    expect(fingerprint(first)).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(fingerprint(first)).toBe(fingerprint(structuredClone(first)));
  });

  it('keeps the digests of commands recorded before', () => {
    // Stored records hold these: a repeat sent after an upgrade must still match its first send.
    expect(fingerprint({ type: 'ReserveStock', id: 'r1', lines, ttlMs: 60_000 })).toBe(
      '2nen9pHAZwBHqLBElx-jf2UpXgw7mh0P',
    );
    const adjust: Command = {
      type: 'AdjustStock',
      id: 'c1',
      sku: 'SKU-1',
      location: 'WH1',
      delta: -2,
      reason: 'damaged \u00e9\u{1F4E6} "q"',
      occurredAt: 5,
    };
    expect(fingerprint(adjust)).toBe('dWfFFqJM9RaR_KKog9D_hagipKezYlV9');
  });
});

describe('the canonical payload', () => {
  const jsonStringify = (value: unknown) => JSON.stringify(value, payloadKeys as unknown as string[]);
  const key = fc.oneof(fc.constantFrom(...payloadKeys), fc.constantFrom('id', 'actor', 'extra', '__proto__'));
  const leaf = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e21, 5e-7, true, false, null, undefined),
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 6 }),
    ),
  }));

  it('is JSON.stringify with the payload keys, character for character, on any JSON value', () => {
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 8 }), (command) => {
        expect(canonicalPayload(command as unknown as Command)).toBe(jsonStringify(command));
      }),
      { numRuns: 2000 },
    );
  });

  it('is JSON.stringify on what JSON.parse would never make', () => {
    class Line {
      sku = 'SKU-1';
      quantity = 2;
    }
    const unusual = [
      { type: 'ReserveStock', lines: [new Line()] },
      { type: 'ReceiveStock', reference: new String('PO-1'), quantity: new Number(3) },
      { type: 'ReceiveStock', occurredAt: new Date(5) },
      { type: 'ReserveStock', lines: [{ sku: 'A', toJSON: () => 'replaced' }] },
      { type: 'ReceiveStock', reason: () => 'a function', reference: Symbol('s') },
      Object.assign(Object.create(null), { type: 'ReleaseReservation', reservationId: 'r1' }),
    ];
    for (const command of unusual) {
      expect(canonicalPayload(command as unknown as Command)).toBe(jsonStringify(command));
    }
  });
});
