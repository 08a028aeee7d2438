import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyRecord } from '../store/port.js';
import type { Role } from './scopes.js';

// API keys: `skuld_<id>_<secret>`. The id is public (it names the key in lists and logs); the
// secret is 32 random bytes, shown once and stored only as its SHA-256. A slow hash would add
// nothing: the secret has 256 bits of entropy, so there is no dictionary to slow down, and every
// request pays for the hash.

export const keyPrefix = 'skuld_';
const idBytes = 8;
const secretBytes = 32;
const keyPattern = /^skuld_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A key's name: it becomes the actor (`key:<name>`) on every event the key causes. */
export const keyNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$/;

export interface NewKey {
  /** The key itself, to show once. */
  readonly key: string;
  readonly record: ApiKeyRecord;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export interface KeyRequest {
  readonly name: string;
  readonly roles: readonly Role[];
  readonly createdBy: string;
  readonly now: number;
  readonly expiresAt: number | null;
}

export function generateKey(request: KeyRequest): NewKey {
  if (!keyNamePattern.test(request.name)) throw new Error(`not a valid key name: ${request.name}`);
  if (request.roles.length === 0) throw new Error('a key needs at least one role');
  const id = randomBytes(idBytes).toString('hex');
  const key = `${keyPrefix}${id}_${randomBytes(secretBytes).toString('base64url')}`;
  const record: ApiKeyRecord = {
    id,
    name: request.name,
    hash: hashKey(key),
    roles: [...new Set(request.roles)],
    createdAt: request.now,
    createdBy: request.createdBy,
    expiresAt: request.expiresAt,
    lastUsedAt: null,
    revokedAt: null,
    revokedBy: null,
  };
  return { key, record };
}

/** The id of a well-formed key, or undefined: the only part of a key that may be logged. */
export function keyIdOf(key: string): string | undefined {
  return keyPattern.exec(key)?.[1];
}

/** Whether the key hashes to the stored hash (the raw bytes of a record's hex), compared in constant time. */
export function keyMatches(key: string, stored: Buffer): boolean {
  const presented = createHash('sha256').update(key).digest();
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** Why a key that matches may still not be used, or undefined when it may. */
export function keyRefusal(record: ApiKeyRecord, now: number): string | undefined {
  if (record.revokedAt !== null) return 'the key is revoked';
  if (record.expiresAt !== null && record.expiresAt <= now) return 'the key has expired';
  return undefined;
}
