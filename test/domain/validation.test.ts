import { describe, expect, it } from 'vitest';
import {
  type Command,
  expiryCommandId,
  idLengthMax,
  quantityMax,
  textLengthMax,
  validateCommand,
} from '../../src/domain/index.js';
import { given, item, line, received } from '../support/given.js';

// Shape checks that need no state: every command passes them before anything is read.

const stocked = [item('SKU-1'), received('SKU-1', 'WH1', 10)];
const receive = (quantity: number): Command => ({
  type: 'ReceiveStock',
  id: 'c1',
  sku: 'SKU-1',
  location: 'WH1',
  quantity,
});

describe('command ids', () => {
  it.each(['', '-c1', ':c1', 'c 1', 'c/1', 'c@1', 'c'.repeat(idLengthMax + 1)])('rejects the id %j', (id) => {
    const error = given(...stocked)
      .when({ ...receive(1), id })
      .then('INVALID_ID');
    expect(error.details).toEqual({ field: 'id', value: id });
  });

  it.each(['c', 'order-1.a_b:2', 'c'.repeat(idLengthMax)])('accepts the id %j', (id) => {
    given(...stocked)
      .when({ ...receive(1), id })
      .then([{ commandId: id }]);
  });

  it('reserves the sys: prefix for ids the system issues', () => {
    given(...stocked)
      .when({ ...receive(1), id: 'sys:c1' })
      .then('INVALID_ID');
    given(...stocked)
      .when({ type: 'ReserveStock', id: 'sys:expire:r1', lines: [line('SKU-1', 'WH1', 1)] })
      .then('INVALID_ID');
    // The prefix is case-sensitive: only the exact system prefix is reserved.
    given(...stocked)
      .when({ ...receive(1), id: 'SYS:c1' })
      .then([{ commandId: 'SYS:c1' }]);
  });

  it('gives an expiry exactly one id: the system id derived from its reservation', () => {
    expect(expiryCommandId('r1')).toBe('sys:expire:r1');
    for (const id of ['r1', 'expire:r1', 'sys:expire:r2', 'sys:expire:r1 ', 'sys:expire:R1']) {
      const error = given().when({ type: 'ExpireReservation', id, reservationId: 'r1' }).then('INVALID_ID');
      expect(error.details).toEqual({ field: 'id', value: id });
    }
  });

  it('checks reservation ids and actors with the id rule', () => {
    for (const type of ['CommitReservation', 'ReleaseReservation'] as const) {
      const error = given().when({ type, id: 'c1', reservationId: 'r 1' }).then('INVALID_ID');
      expect(error.details).toEqual({ field: 'reservationId', value: 'r 1' });
    }
    given()
      .when({ type: 'ExpireReservation', id: expiryCommandId('r 1'), reservationId: 'r 1' })
      .then('INVALID_ID');
    const error = given(...stocked)
      .when({ ...receive(1), actor: 'clerk one' })
      .then('INVALID_ID');
    expect(error.details).toEqual({ field: 'actor', value: 'clerk one' });
  });
});

describe('quantities', () => {
  const outOfRange = [0, -1, 1.5, quantityMax + 1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53];

  it.each(outOfRange)('rejects the quantity %d', (quantity) => {
    const error = given(...stocked)
      .when(receive(quantity))
      .then('INVALID_QUANTITY');
    expect(error.details).toEqual({ field: 'quantity', value: quantity });
  });

  it('accepts 1 and the named maximum', () => {
    given(...stocked)
      .when(receive(1))
      .then([{ onHandDelta: 1 }]);
    given(...stocked)
      .when(receive(quantityMax))
      .then([{ onHandDelta: quantityMax }]);
  });

  it.each(outOfRange)('rejects %d in every command that moves a quantity', (quantity) => {
    const commands: Command[] = [
      { type: 'ReturnStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity },
      { type: 'TransferStock', id: 'c1', sku: 'SKU-1', from: 'WH1', to: 'WH2', quantity },
      { type: 'ReserveStock', id: 'r1', lines: [line('SKU-1', 'WH1', quantity)] },
      { type: 'CommitReservation', id: 'c1', reservationId: 'r1', lines: [line('SKU-1', 'WH1', quantity)] },
    ];
    for (const command of commands) {
      given(...stocked)
        .when(command)
        .then('INVALID_QUANTITY');
    }
  });
});

describe('text and times', () => {
  const long = 'x'.repeat(textLengthMax + 1);
  const fits = 'x'.repeat(textLengthMax);

  it('bounds reasons and references', () => {
    const commands: Command[] = [
      { type: 'ReceiveStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 1, reference: long },
      { type: 'ReturnStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 1, reason: long },
      { type: 'ReturnStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 1, reference: long },
      { type: 'AdjustStock', id: 'c1', sku: 'SKU-1', location: 'WH1', delta: 1, reason: long },
      { type: 'CountStock', id: 'c1', sku: 'SKU-1', location: 'WH1', counted: 1, reason: long },
      { type: 'TransferStock', id: 'c1', sku: 'SKU-1', from: 'WH1', to: 'WH2', quantity: 1, reference: long },
      { type: 'ReleaseReservation', id: 'c1', reservationId: 'r1', reason: long },
    ];
    for (const command of commands) {
      given(...stocked)
        .when(command)
        .then('INVALID_TEXT');
      expect(validateCommand(JSON.parse(JSON.stringify(command).replaceAll(long, fits)))).toBeNull();
    }
  });

  it('takes only well-formed text, and counts its length in code points as the API schemas do', () => {
    const returned = (reason: string): Command => ({
      type: 'ReturnStock',
      id: 'c1',
      sku: 'SKU-1',
      location: 'WH1',
      quantity: 1,
      reason,
    });
    for (const bad of ['\ud800', 'a\ud800b', 'a\udc00', '\udc00\ud800', `${'😀'.repeat(3)}\ud83d`, 'a\u0000b']) {
      given(...stocked)
        .when(returned(bad))
        .then('INVALID_TEXT');
    }
    const emoji = '😀';
    // 200 emoji are 400 UTF-16 units and 200 code points: within the limit; 201 are not.
    expect(validateCommand(returned(emoji.repeat(textLengthMax)))).toBeNull();
    expect(validateCommand(returned(`${'é'.repeat(textLengthMax - 1)}${emoji}`))).toBeNull();
    given(...stocked)
      .when(returned(emoji.repeat(textLengthMax + 1)))
      .then('INVALID_TEXT');
    given(...stocked)
      .when({ type: 'RegisterItem', id: 'c1', sku: 'SKU-2', name: 'a\udfffb' })
      .then('INVALID_TEXT');
  });

  it('needs a reason for an adjustment', () => {
    const error = given(...stocked)
      .when({ type: 'AdjustStock', id: 'c1', sku: 'SKU-1', location: 'WH1', delta: 1, reason: '' })
      .then('INVALID_TEXT');
    expect(error.details).toEqual({ field: 'reason', value: '' });
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects the effective time %d', (occurredAt) => {
    const commands: Command[] = [
      { ...receive(1), occurredAt } as Command,
      { type: 'ReturnStock', id: 'c1', sku: 'SKU-1', location: 'WH1', quantity: 1, occurredAt },
      { type: 'AdjustStock', id: 'c1', sku: 'SKU-1', location: 'WH1', delta: 1, reason: 'damaged', occurredAt },
      { type: 'CountStock', id: 'c1', sku: 'SKU-1', location: 'WH1', counted: 1, occurredAt },
    ];
    for (const command of commands) {
      const error = given(...stocked)
        .when(command)
        .then('VALIDATION_FAILED');
      expect(error.details).toEqual({ field: 'occurredAt', value: occurredAt });
    }
  });
});
