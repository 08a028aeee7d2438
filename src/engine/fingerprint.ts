import { hash } from 'node:crypto';
import type { Command } from '../domain/index.js';

/**
 * Every payload field of every command (and of its lines), sorted. JSON.stringify writes the
 * keys of each object in this order, nested objects included: a canonical form, in native code.
 * `id` and `actor` are absent on purpose: they are not part of what a repeat must match.
 */
const payloadKeys = [
  'allowBackorder',
  'counted',
  'delta',
  'from',
  'lines',
  'location',
  'name',
  'occurredAt',
  'quantity',
  'reason',
  'reference',
  'reservationId',
  'sku',
  'to',
  'ttlMs',
  'type',
];

/**
 * The idempotency fingerprint of a command: a hash of its payload with keys sorted, without
 * its id and actor. The same id with another fingerprint is IDEMPOTENCY_CONFLICT.
 */
export function fingerprint(command: Command): string {
  // The one-shot hash: a third of the cost of a Hash object for a payload this small.
  return hash('sha256', JSON.stringify(command, payloadKeys), 'base64url').slice(0, 32);
}
