import type { FastifyReply, FastifyRequest } from 'fastify';
import { domainError } from '../../domain/index.js';
import { type Clock, clocks } from '../../events/read-side/ledger-events.js';
import { stockAtPosition, stockAtTime } from '../../events/read-side/point-in-time.js';
import type { ApiContext } from '../commands.js';
import { sendProblem } from '../problem.js';
import { readModelsAt } from '../read-models.js';
import type { Schema } from '../schemas.js';
import { unknownItem } from './items.js';

// Stock at a past moment, for GET /v1/items/:sku/stock?at= or ?position=: answered by the read
// side's movements model (snapshots plus the movements since), never by a scan of the ledger.

export const pastStockDescription =
  'Without `at` or `position`: the levels now, through the read cache. With `position`: the levels as they were ' +
  'after the ledger event at that position. With `at` (epoch ms): as they were at that time on `clock`: ' +
  '`occurred` (default), when each change happened, so a receipt entered later with an earlier `occurredAt` ' +
  'counts from its `occurredAt`; or `recorded`, when the service recorded it. Past answers come from the read ' +
  'models and carry the ledger `position` they reflect.';

export const pastTime: Schema = {
  type: 'integer',
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'The stock as of this time (epoch ms), on `clock`',
};

export const pastPosition: Schema = {
  type: 'integer',
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'The stock as of this ledger position: after its event, before any later one',
};

export const pastClock: Schema = {
  type: 'string',
  enum: [...clocks],
  description: 'With `at`: `occurred` (default): when each change happened; `recorded`: when it was recorded',
};

export interface PastQuery {
  readonly at?: number;
  readonly position?: number;
  readonly clock?: Clock;
  readonly minPosition?: number;
}

const count = { type: 'integer' };

/** A level now (a stored level, with its version) or as it was (no version). */
export const pastLevelSchema: Schema = {
  type: 'object',
  required: ['location', 'onHand', 'reserved', 'available'],
  properties: {
    sku: { type: 'string' },
    location: { type: 'string' },
    onHand: count,
    reserved: count,
    available: { ...count, description: 'onHand - reserved' },
    incoming: {
      ...count,
      description: 'Units on confirmed purchase orders, not yet received. Only in an answer about now',
    },
    projected: { ...count, description: 'onHand + incoming - reserved. Only in an answer about now' },
    version: { ...count, description: 'Only in an answer about now' },
  },
};

/** What a past answer adds. */
export const pastProperties: Record<string, Schema> = {
  position: {
    ...count,
    description: 'A past answer: the ledger position it reflects (every event up to it, no later one)',
  },
  at: { ...count, description: 'A past answer by time: the time asked' },
  clock: { type: 'string', enum: [...clocks], description: 'A past answer by time: the clock asked' },
};

export async function pastStock(
  request: FastifyRequest,
  reply: FastifyReply,
  context: ApiContext,
  sku: string,
  query: PastQuery,
): Promise<unknown> {
  const { readSide, store } = context.runtime;
  if ((query.at === undefined) === (query.position === undefined)) {
    const message = 'give either `at` (with `clock`, optionally) or `position`, not both and not `clock` alone';
    return sendProblem(request, reply, domainError('VALIDATION_FAILED', message, { in: 'querystring' }));
  }
  if (query.position !== undefined && query.clock !== undefined) {
    return sendProblem(
      request,
      reply,
      domainError('VALIDATION_FAILED', '`clock` goes with `at`', { in: 'querystring' }),
    );
  }
  if ((await store.getItem(sku)) === undefined) return sendProblem(request, reply, unknownItem(sku));
  const wanted = Math.max(query.position ?? 0, query.minPosition ?? 0);
  if (!(await readModelsAt(request, reply, readSide, wanted, ['movements']))) return reply;
  if (query.position !== undefined) return stockAtPosition(readSide.db, sku, query.position);
  const clock = query.clock ?? 'occurred';
  return { ...(await stockAtTime(readSide.db, sku, query.at as number, clock)), at: query.at, clock };
}
