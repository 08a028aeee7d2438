import { guardWith, passThrough } from '../errors.js';
import { StoreError } from '../port.js';

const conflictCodes = new Set(['23505', '40001', '40P01', '55P03']);
const unavailableCodes = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', '08001', '08004']);

export const guard = guardWith(translate);

export function translate(error: unknown): StoreError {
  const message = passThrough(error);
  if (message instanceof StoreError) return message;
  const code = (error as { code?: string }).code;
  if (code !== undefined && conflictCodes.has(code)) return new StoreError('conflict', message, { cause: error, code });
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
