import { hash } from 'node:crypto';
import type { Command } from '../domain/index.js';

/**
 * Every payload field of every command (and of its lines), sorted. The canonical form writes
 * the keys of each object in this order, nested objects included. `id` and `actor` are absent
 * on purpose: they are not part of what a repeat must match.
 */
export const payloadKeys = [
  'allowBackorder',
  'counted',
  'delta',
  'from',
  'lines',
  'location',
  'lowStockThreshold',
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
] as const;

/**
 * The idempotency fingerprint of a command: a hash of its payload with keys sorted, without
 * its id and actor. The same id with another fingerprint is IDEMPOTENCY_CONFLICT.
 *
 * Fingerprints are stored with every command record, so the canonical text must never change:
 * it is, character for character, `JSON.stringify(command, payloadKeys)`, which the tests check
 * on arbitrary values. It is built here by hand because JSON.stringify with a key list takes
 * V8's slow path: 5.0 µs for an order of three lines against 1.8 µs (the fastest of 30 rounds).
 */
export function fingerprint(command: Command): string {
  // The one-shot hash: a third of the cost of a Hash object for a payload this small.
  return hash('sha256', canonicalPayload(command), 'base64url').slice(0, 32);
}

/** The text that is hashed. */
export function canonicalPayload(command: Command): string {
  return canonical(command) ?? JSON.stringify(command, payloadKeys as unknown as string[]);
}

/**
 * JSON of a plain value, each object's members limited to payloadKeys in that order; undefined
 * for anything whose JSON.stringify could differ (a toJSON method, a bigint, a symbol), which the
 * caller then leaves to JSON.stringify itself.
 */
function canonical(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value) ? canonicalArray(value) : canonicalObject(value as Record<string, unknown>);
    default:
      return undefined;
  }
}

function canonicalArray(values: readonly unknown[]): string | undefined {
  let text = '[';
  for (let index = 0; index < values.length; index += 1) {
    const value = values[index];
    // An array keeps its length: a member JSON leaves out of an object is null in an array.
    const json = value === undefined || typeof value === 'function' ? 'null' : canonical(value);
    if (json === undefined) return undefined;
    text += index === 0 ? json : `,${json}`;
  }
  return `${text}]`;
}

/** Each payload key's place in the canonical order, and its member head: `"key":`. */
const keyRanks: Readonly<Record<string, number>> = Object.assign(
  Object.create(null),
  Object.fromEntries(payloadKeys.map((key, rank) => [key, rank])),
);
const memberHeads = payloadKeys.map((key) => `${JSON.stringify(key)}:`);

function canonicalObject(object: Record<string, unknown>): string | undefined {
  // JSON.stringify unwraps boxed primitives, calls toJSON and reads inherited members; a plain
  // object of own data (as JSON.parse and structuredClone make) needs none of that.
  const prototype = Object.getPrototypeOf(object);
  if ((prototype !== Object.prototype && prototype !== null) || object.toJSON !== undefined) return undefined;
  // An object has a few members: visiting them beats looking up all sixteen payload keys. They
  // are put in canonical order by insertion, which is the quickest sort for a handful.
  const ranks: number[] = [];
  for (const key of Object.keys(object)) {
    const rank = keyRanks[key];
    if (rank === undefined) continue;
    let at = ranks.length;
    while (at > 0 && (ranks[at - 1] as number) > rank) {
      ranks[at] = ranks[at - 1] as number;
      at -= 1;
    }
    ranks[at] = rank;
  }
  let text = '';
  for (const rank of ranks) {
    const value = object[payloadKeys[rank] as string];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    const json = canonical(value);
    if (json === undefined) return undefined;
    text += text === '' ? memberHeads[rank] + json : `,${memberHeads[rank]}${json}`;
  }
  return `{${text}}`;
}
