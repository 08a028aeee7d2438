import type { FastifyReply, FastifyRequest } from 'fastify';
import { domainError } from '../domain/index.js';
import type { ReadModelName } from '../events/read-side/read-models.js';
import type { ReadSide } from '../events/read-side/read-side.js';
import { sendProblem } from './problem.js';
import type { Schema } from './schemas.js';

// What the read-model routes share: read-your-writes by position, bounded. The read models are
// kept by the projector a little after each write; a client that needs its own write in an
// answer passes the write's `position`, and the route waits for the read side to get there, at
// most SKULD_READ_WAIT_MS_MAX, then answers 503 READ_MODEL_BEHIND with a Retry-After.

export const readMinPosition: Schema = {
  type: 'integer',
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description:
    'Answer only once the read models reflect at least this ledger position (the `position` of a write answer); waits a bounded time, then 503 READ_MODEL_BEHIND',
};

/** Seconds a client is told to wait before asking again when the read side is behind. */
const behindRetryAfterS = 1;

/**
 * Waits until the models have reached `position` (none given: at once). False when they did not
 * in time: the problem has been sent.
 */
export async function readModelsAt(
  request: FastifyRequest,
  reply: FastifyReply,
  readSide: ReadSide,
  position: number | undefined,
  models: readonly ReadModelName[],
): Promise<boolean> {
  if (position === undefined || position === 0) return true;
  if (await readSide.waitFor(position, models)) return true;
  reply.header('retry-after', String(behindRetryAfterS));
  const error = domainError('READ_MODEL_BEHIND', `the read models have not reached position ${position} yet`, {
    minPosition: position,
    models,
  });
  sendProblem(request, reply, error);
  return false;
}

/** A page of a list by position: the last position of a full page, null when the page is the last. */
export function nextPosition<T extends { position: number }>(rows: readonly T[], limit: number): number | null {
  const last = rows.at(-1);
  return rows.length < limit || last === undefined ? null : last.position;
}

export const nextPositionSchema: Schema = {
  type: ['integer', 'null'],
  description: 'Pass as `after` for the next page; null when this page is the last',
};

export const positionAfter: Schema = {
  type: 'integer',
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  default: 0,
  description: 'Return rows after this position (the `next` of the previous page)',
};

/** A list answer: its rows (each of `row`'s schema) and the key of the next page. */
export function listSchema(member: string, row: Schema, next: Schema): Schema {
  return {
    type: 'object',
    required: [member, 'next'],
    properties: { [member]: { type: 'array', items: row }, next },
  };
}
