import { type DomainError, domainError } from './errors.js';
import {
  isValidCode,
  isValidId,
  isValidQuantity,
  isValidText,
  onHandMax,
  quantityMax,
  reservationLinesMax,
  systemIdPrefix,
} from './limits.js';
import { type Command, levelKey, type StockLine } from './types.js';

// Shape checks that need no state. The HTTP schemas check the same bounds so that the API
// documents them; this is the check every entry point (HTTP, batch, engine callers) shares.

/** The id of the command that expires a reservation: one per reservation, issued by the system. */
export function expiryCommandId(reservationId: string): string {
  return `${systemIdPrefix}expire:${reservationId}`;
}

function checkCommandId(command: Command): DomainError | null {
  if (command.type === 'ExpireReservation') {
    return command.id === expiryCommandId(command.reservationId) ? null : invalid('INVALID_ID', 'id', command.id);
  }
  if (!isValidId(command.id) || command.id.startsWith(systemIdPrefix)) return invalid('INVALID_ID', 'id', command.id);
  return null;
}

export function validateCommand(command: Command): DomainError | null {
  const badId = checkCommandId(command);
  if (badId !== null) return badId;
  if (command.actor !== undefined && !isValidId(command.actor)) {
    return invalid('INVALID_ID', 'actor', command.actor);
  }
  switch (command.type) {
    case 'RegisterItem':
      return firstError([
        checkCode('sku', command.sku),
        command.name === undefined ? null : checkText('name', command.name),
        checkThreshold(command.lowStockThreshold),
      ]);
    case 'ReceiveStock':
    case 'ReturnStock':
      return firstError([
        checkCode('sku', command.sku),
        checkCode('location', command.location),
        checkQuantity('quantity', command.quantity),
        checkOptionalText(command),
        checkOccurredAt(command.occurredAt),
        command.type === 'ReceiveStock' ? checkFromIncoming(command.fromIncoming, command.quantity) : null,
      ]);
    case 'ExpectStock':
      return firstError([
        checkCode('sku', command.sku),
        checkCode('location', command.location),
        checkDelta(command.delta),
        checkOptionalText(command),
      ]);
    case 'ReserveStock':
      return firstError([
        checkLines('lines', command.lines),
        command.reference === undefined ? null : checkText('reference', command.reference),
      ]);
    case 'CommitReservation':
      return firstError([
        checkReservationId(command.reservationId),
        command.lines === undefined ? null : checkLines('lines', command.lines),
      ]);
    case 'ReleaseReservation':
      return firstError([checkReservationId(command.reservationId), checkOptionalText(command)]);
    case 'ExpireReservation':
      return checkReservationId(command.reservationId);
    case 'AdjustStock':
      return firstError([
        checkCode('sku', command.sku),
        checkCode('location', command.location),
        checkDelta(command.delta),
        command.reason.length === 0 ? invalid('INVALID_TEXT', 'reason', command.reason) : null,
        checkOptionalText(command),
        checkOccurredAt(command.occurredAt),
      ]);
    case 'CountStock':
      return firstError([
        checkCode('sku', command.sku),
        checkCode('location', command.location),
        checkCounted(command.counted),
        checkOptionalText(command),
        checkOccurredAt(command.occurredAt),
      ]);
    case 'TransferStock':
      return firstError([
        checkCode('sku', command.sku),
        checkCode('from', command.from),
        checkCode('to', command.to),
        checkQuantity('quantity', command.quantity),
        checkOptionalText(command),
      ]);
  }
}

function firstError(checks: readonly (DomainError | null)[]): DomainError | null {
  for (const check of checks) if (check !== null) return check;
  return null;
}

function invalid(code: DomainError['code'], field: string, value: unknown): DomainError {
  return domainError(code, `${field} is not valid`, { field, value });
}

function checkCode(field: string, value: string): DomainError | null {
  return isValidCode(value) ? null : invalid('INVALID_CODE', field, value);
}

function checkReservationId(value: string): DomainError | null {
  return isValidId(value) ? null : invalid('INVALID_ID', 'reservationId', value);
}

function checkQuantity(field: string, value: number): DomainError | null {
  if (isValidQuantity(value)) return null;
  return domainError('INVALID_QUANTITY', `${field} must be an integer from 1 to ${quantityMax}`, {
    field,
    value,
  });
}

function checkDelta(value: number): DomainError | null {
  if (Number.isSafeInteger(value) && value !== 0 && Math.abs(value) <= quantityMax) return null;
  return domainError('INVALID_QUANTITY', `delta must be a non-zero integer within ±${quantityMax}`, {
    field: 'delta',
    value,
  });
}

/** A receipt settles at most what it brings in. */
function checkFromIncoming(value: number | undefined, quantity: number): DomainError | null {
  if (value === undefined || (Number.isSafeInteger(value) && value >= 0 && value <= quantity)) return null;
  return domainError('INVALID_QUANTITY', 'fromIncoming must be an integer from 0 to the quantity received', {
    field: 'fromIncoming',
    value,
  });
}

function checkCounted(value: number): DomainError | null {
  if (Number.isSafeInteger(value) && value >= 0 && value <= quantityMax) return null;
  return domainError('INVALID_QUANTITY', `counted must be an integer from 0 to ${quantityMax}`, {
    field: 'counted',
    value,
  });
}

function checkText(field: string, value: string): DomainError | null {
  return isValidText(value) ? null : invalid('INVALID_TEXT', field, value);
}

function checkOptionalText(command: {
  reason?: string | undefined;
  reference?: string | undefined;
}): DomainError | null {
  if (command.reason !== undefined && !isValidText(command.reason)) {
    return invalid('INVALID_TEXT', 'reason', command.reason);
  }
  if (command.reference !== undefined && !isValidText(command.reference)) {
    return invalid('INVALID_TEXT', 'reference', command.reference);
  }
  return null;
}

function checkThreshold(value: number | undefined): DomainError | null {
  if (value === undefined || (Number.isSafeInteger(value) && value >= 0 && value <= onHandMax)) return null;
  return invalid('VALIDATION_FAILED', 'lowStockThreshold', value);
}

function checkOccurredAt(value: number | undefined): DomainError | null {
  if (value === undefined || (Number.isSafeInteger(value) && value > 0)) return null;
  return invalid('VALIDATION_FAILED', 'occurredAt', value);
}

function checkLines(field: string, lines: readonly StockLine[]): DomainError | null {
  if (lines.length === 0 || lines.length > reservationLinesMax) {
    return domainError('INVALID_LINES', `${field} must hold 1 to ${reservationLinesMax} lines`, {
      field,
      count: lines.length,
    });
  }
  const seen = new Set<string>();
  for (const [index, line] of lines.entries()) {
    const error = checkLine(field, index, line);
    if (error !== null) return error;
    const key = levelKey(line.sku, line.location);
    if (seen.has(key)) {
      return domainError('INVALID_LINES', 'two lines name the same item and location', {
        field: `${field}[${index}]`,
        sku: line.sku,
        location: line.location,
      });
    }
    seen.add(key);
  }
  return null;
}

/** One line's fields; a field's name is built only for the error: a valid order builds none. */
function checkLine(field: string, index: number, line: StockLine): DomainError | null {
  if (!isValidCode(line.sku)) return checkCode(`${field}[${index}].sku`, line.sku);
  if (!isValidCode(line.location)) return checkCode(`${field}[${index}].location`, line.location);
  return isValidQuantity(line.quantity) ? null : checkQuantity(`${field}[${index}].quantity`, line.quantity);
}
