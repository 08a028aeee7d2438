// SQL that every dialect runs unchanged.

export const ledgerColumns =
  'position, type, sku, location, on_hand_delta, reserved_delta, on_hand_after, reserved_after, quantity, ' +
  'command_id, reservation_id, expires_at, peer_location, reason, reference, actor, occurred_at, recorded_at, ' +
  'stream_version, attributes, incoming_delta, incoming_after';

/** A reservation is the part of its command's row that carries a status. */
export const reservationColumns = 'id, status, lines, created_at, expires_at, resolved_at';

/**
 * Every column of `commands`: a command's idempotency record, then the columns of the
 * reservation it created (null for any other command). tsv.ts writes its lines in this order.
 */
export const commandColumns =
  'id, type, fingerprint, outcome, recorded_at, status, lines, created_at, expires_at, resolved_at';
