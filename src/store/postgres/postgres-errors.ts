import { guardWith, passThrough } from '../errors.js';
import { type ConflictKind, conflictError, StoreError } from '../port.js';

/** SQLSTATEs that are retryable conflicts, and what each is. */
const conflictCodes: ReadonlyMap<string, ConflictKind> = new Map([
  ['23505', 'unique_violation'],
  ['40001', 'serialization_failure'],
  ['40P01', 'deadlock'],
  ['55P03', 'lock_timeout'],
]);
const unavailableCodes = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', '08001', '08004']);

export const guard = guardWith(translate);

export function translate(error: unknown): StoreError {
  const message = passThrough(error);
  if (message instanceof StoreError) return message;
  const code = (error as { code?: string }).code;
  const conflict = code === undefined ? undefined : conflictCodes.get(code);
  if (conflict !== undefined) return conflictError(conflict, message, { cause: error, code });
  if (
    code !== undefined &&
    (unavailableCodes.has(code) ||
      code.startsWith('ECONN') ||
      code === 'CONNECTION_CLOSED' ||
      code === 'CONNECTION_ENDED' ||
      code === 'CONNECTION_DESTROYED' ||
      code === 'CONNECT_TIMEOUT' ||
      code === 'ETIMEDOUT')
  ) {
    return new StoreError('unavailable', message, { cause: error, code });
  }
  return new StoreError('internal', message, { cause: error, code });
}
