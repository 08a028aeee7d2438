import { createHash } from 'node:crypto';
import type { Command } from '../domain/index.js';

/**
 * The idempotency fingerprint of a command: a hash of its payload with keys sorted, without
 * its id and actor. The same id with another fingerprint is IDEMPOTENCY_CONFLICT.
 */
export function fingerprint(command: Command): string {
  const { id: _id, actor: _actor, ...payload } = command;
  return createHash('sha256').update(canonicalJson(payload)).digest('base64url').slice(0, 32);
}

/** JSON with object keys sorted and undefined members dropped, so equal payloads hash equal. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
}
