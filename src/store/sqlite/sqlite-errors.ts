import { passThrough } from '../errors.js';
import { conflictError, fencedCode, type LevelGuard, type LevelRef, StoreError, staleLevelCode } from '../port.js';

export function staleLevel(level: LevelRef, guard: LevelGuard): StoreError {
  const code = guard.kind === 'version' && guard.fence !== undefined ? fencedCode : staleLevelCode;
  return conflictError('version_conflict', `level ${level.sku}@${level.location} changed since it was read`, { code });
}

export function translate(error: unknown): StoreError {
  const message = passThrough(error);
  if (message instanceof StoreError) return message;
  const code = (error as { code?: string }).code;
  // Busy: the write lock stayed taken through the busy timeout.
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
    return conflictError('lock_timeout', message, { cause: error, code });
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
    return conflictError('unique_violation', message, { cause: error, code });
  }
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY') {
    return new StoreError('unavailable', message, { cause: error, code });
  }
  return new StoreError('internal', message, { cause: error, code });
}
