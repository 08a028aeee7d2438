import type { FastifyInstance } from 'fastify';
import { domainError } from '../../domain/index.js';
import { type ApiContext, commandRoute } from '../commands.js';
import { sendProblem } from '../problem.js';
import { idSchema, objectSchema, problemResponses } from '../schemas.js';
import { reservationListRoute } from './reservation-list.js';

export async function reservationRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { store } = context.runtime;
  const tag = 'reservations';
  commandRoute(app, context, {
    url: '/v1/reservations',
    type: 'ReserveStock',
    tag,
    summary: 'Reserve stock for an order (ReserveStock)',
    description:
      'All lines or none: a line short of available stock fails the whole reservation with INSUFFICIENT_STOCK. ' +
      'The command id is the reservation id. A pending reservation expires after `ttlMs`.',
  });
  commandRoute(app, context, {
    url: '/v1/reservations/:id/commit',
    type: 'CommitReservation',
    tag,
    summary: 'Commit a pending reservation: deduct the stock (CommitReservation)',
    description:
      'The body `id` is the idempotency key of the commit. Without `lines` every reserved unit is deducted; ' +
      'with `lines` only those quantities are, and the rest is released.',
  });
  commandRoute(app, context, {
    url: '/v1/reservations/:id/release',
    type: 'ReleaseReservation',
    tag,
    summary: 'Release a pending reservation (ReleaseReservation)',
    description: 'The body `id` is the idempotency key of the release. Every reserved unit becomes available again.',
  });

  reservationListRoute(app, context);

  app.get(
    '/v1/reservations/:id',
    {
      schema: {
        tags: [tag],
        summary: 'Read a reservation',
        params: objectSchema({ id: idSchema }, ['id']),
        response: { 200: { $ref: 'Reservation#' }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const reservation = await store.getReservation(id);
      if (reservation !== undefined) return reservation;
      const error = domainError('RESERVATION_NOT_FOUND', `reservation ${id} does not exist`, { reservationId: id });
      return sendProblem(request, reply, error);
    },
  );
}
