import type { FastifyInstance } from 'fastify';
import { listReservations, type ReservationFilter } from '../../events/read-side/read-queries.js';
import type { ApiContext } from '../commands.js';
import {
  listSchema,
  nextPosition,
  nextPositionSchema,
  positionAfter,
  readMinPosition,
  readModelsAt,
} from '../read-models.js';
import {
  codeSchema,
  objectSchema,
  pagingQuery,
  problemResponses,
  reservationProperties,
  textSchema,
} from '../schemas.js';

// GET /v1/reservations: reservations found by status, SKU, order reference and expiry, from the
// read side, in the order they were made. (GET /v1/reservations/:id reads the store.)

const listed = {
  type: 'object',
  required: ['id', 'status', 'reference', 'lines', 'createdAt', 'expiresAt', 'resolvedAt', 'position'],
  properties: {
    ...reservationProperties,
    reference: { type: ['string', 'null'], description: 'The order it holds stock for' },
    position: { type: 'integer', description: 'The ledger position of its first event: the page key' },
  },
};

interface ListQuery extends ReservationFilter {
  readonly after: number;
  readonly limit: number;
  readonly minPosition?: number;
}

export function reservationListRoute(app: FastifyInstance, context: ApiContext): void {
  const { readSide } = context.runtime;
  app.get(
    '/v1/reservations',
    {
      schema: {
        tags: ['reservations'],
        summary: 'Find reservations by status, SKU, order reference and expiry (read model)',
        description:
          'In the order they were made; every filter is optional. `expiresBefore` with `status=pending` lists the ' +
          'holds about to lapse. The read models follow the ledger closely; pass `minPosition` to see a write of yours.',
        querystring: objectSchema({
          status: { type: 'string', enum: ['pending', 'committed', 'released', 'expired'] },
          sku: { ...codeSchema, description: 'Reservations with a line of this item' },
          reference: { ...textSchema, minLength: 1, description: 'The order reference given at ReserveStock' },
          expiresBefore: {
            type: 'integer',
            minimum: 0,
            maximum: Number.MAX_SAFE_INTEGER,
            description: 'Reservations whose hold ends before this time (epoch ms)',
          },
          after: positionAfter,
          ...pagingQuery,
          minPosition: readMinPosition,
        }),
        response: { 200: listSchema('reservations', listed, nextPositionSchema), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { after, limit, minPosition, ...filter } = request.query as ListQuery;
      if (!(await readModelsAt(request, reply, readSide, minPosition, ['reservations']))) return reply;
      const reservations = await listReservations(readSide.db, filter, after, limit);
      return { reservations, next: nextPosition(reservations, limit) };
    },
  );
}
