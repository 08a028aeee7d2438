import type { EventDraft, Level, Reservation, ReservationLine } from './types.js';

// State is a fold of events: a level from its deltas, a reservation from the events that name it.
// The engine applies these inside a batch; `verify` and the property test rebuild with them.

export function evolveLevel(level: Level, event: EventDraft): Level {
  return {
    sku: level.sku,
    location: level.location,
    onHand: level.onHand + event.onHandDelta,
    reserved: level.reserved + event.reservedDelta,
    incoming: level.incoming + event.incomingDelta,
    version: level.version + 1,
  };
}

export function evolveReservation(reservation: Reservation | undefined, event: EventDraft): Reservation | undefined {
  if (event.reservationId === null) return reservation;
  switch (event.type) {
    case 'StockReserved':
      return addLine(reservation, event);
    case 'ReservationCommitted':
      return resolveLine(reservation, event, 'committed', event.quantity);
    case 'ReservationReleased':
      return resolveLine(reservation, event, 'released', null);
    case 'ReservationExpired':
      return resolveLine(reservation, event, 'expired', null);
    default:
      return reservation;
  }
}

function addLine(reservation: Reservation | undefined, event: EventDraft): Reservation {
  const line: ReservationLine = {
    sku: event.sku,
    location: event.location,
    quantity: event.quantity,
    committed: null,
  };
  if (reservation === undefined) {
    return {
      id: event.reservationId as string,
      status: 'pending',
      lines: [line],
      createdAt: event.occurredAt,
      expiresAt: event.expiresAt ?? event.occurredAt,
      resolvedAt: null,
    };
  }
  return { ...reservation, lines: [...reservation.lines, line] };
}

function resolveLine(
  reservation: Reservation | undefined,
  event: EventDraft,
  status: Reservation['status'],
  committed: number | null,
): Reservation | undefined {
  if (reservation === undefined) return undefined;
  const lines =
    committed === null
      ? reservation.lines
      : reservation.lines.map((line) =>
          line.sku === event.sku && line.location === event.location ? { ...line, committed } : line,
        );
  return { ...reservation, status, lines, resolvedAt: event.occurredAt };
}
