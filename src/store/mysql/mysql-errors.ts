import { guardWith, passThrough } from '../errors.js';
import { type ConflictKind, conflictError, StoreError } from '../port.js';

// Server error numbers. Duplicate key, deadlock and lock wait timeout are retryable: the whole
// transaction is rolled back and the batch re-run.
export const duplicateKeyErrno = 1062;
/**
 * The server or the connection has LOAD DATA LOCAL switched off: MariaDB's 4166, MySQL 8's 3948,
 * and 1148 of older servers.
 */
export const loadRefusedErrnos = new Set([1148, 3948, 4166]);
const conflictErrnos: ReadonlyMap<number, ConflictKind> = new Map([
  [duplicateKeyErrno, 'unique_violation'],
  [1205, 'lock_timeout'],
  [1213, 'deadlock'],
]);
// Too many connections, shutdown, connection killed (MariaDB), client gone / lost, and
// disconnected for inactivity (MySQL).
const unavailableErrnos = new Set([1040, 1053, 1927, 2002, 2003, 2006, 2013, 4031]);
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);

export const closedError = () => new StoreError('unavailable', 'the store is closed');

export const guard = guardWith(translate);

export function translate(error: unknown): StoreError {
  const message = passThrough(error);
  if (message instanceof StoreError) return message;
  const { errno, code, fatal } = error as { errno?: number; code?: string; fatal?: boolean };
  // Server errors carry a positive errno; socket errors a negative one and a code.
  const serverErrno = typeof errno === 'number' && errno > 0 ? errno : undefined;
  const storeCode = serverErrno === undefined ? code : String(serverErrno);
  const conflict = serverErrno === undefined ? undefined : conflictErrnos.get(serverErrno);
  if (conflict !== undefined) return conflictError(conflict, message, { cause: error, code: storeCode });
  if (
    fatal === true ||
    (serverErrno !== undefined && unavailableErrnos.has(serverErrno)) ||
    (code !== undefined && unavailableCodes.has(code))
  ) {
    return new StoreError('unavailable', message, { cause: error, code: storeCode });
  }
  return new StoreError('internal', message, { cause: error, code: storeCode });
}
