import { randomUUID } from 'node:crypto';
import type { ApiKeyRecord, AuditEvent, KeyStore } from '../store/port.js';
import { generateKey, type KeyRequest, type NewKey } from './api-keys.js';

// Creating and revoking keys, each recorded as an audit event (who, when, which key) in the same
// transaction: the command line, the first start's admin key, and any later API share this.

export async function createKey(keys: KeyStore, request: KeyRequest): Promise<NewKey> {
  const created = generateKey(request);
  const { record } = created;
  await keys.createKey(record, {
    id: randomUUID(),
    at: request.now,
    actor: request.createdBy,
    action: 'key.created',
    subject: record.id,
    detail: `name=${record.name} roles=${record.roles.join(',')} expires=${record.expiresAt ?? 'never'}`,
  });
  return created;
}

export async function revokeKey(keys: KeyStore, id: string, actor: string, now: number): Promise<boolean> {
  const record = await keys.getKey(id);
  if (record === undefined) return false;
  const audit: AuditEvent = {
    id: randomUUID(),
    at: now,
    actor,
    action: 'key.revoked',
    subject: id,
    detail: `name=${record.name}`,
  };
  return keys.revokeKey(id, now, actor, audit);
}

/** A key as `skuld keys list` shows it: never its hash. */
export function describeKey(record: ApiKeyRecord, now: number): string {
  const time = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
  const state =
    record.revokedAt !== null ? 'revoked' : record.expiresAt !== null && record.expiresAt <= now ? 'expired' : 'active';
  return [
    record.id,
    record.name,
    record.roles.join(','),
    state,
    time(record.createdAt),
    time(record.expiresAt),
    time(record.lastUsedAt),
  ].join('\t');
}

export const keyListHeader = ['id', 'name', 'roles', 'state', 'created', 'expires', 'last used'].join('\t');
