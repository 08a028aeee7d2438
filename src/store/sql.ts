// SQL that every dialect runs unchanged.

/**
 * Per level: the sums of the ledger's deltas, and how many events break the chain of
 * balances (an event's balances-after must equal the previous balances plus its deltas).
 */
export const ledgerTotalsSql = `
  SELECT sku, location,
         SUM(on_hand_delta) AS on_hand, SUM(reserved_delta) AS reserved, COUNT(*) AS events,
         SUM(CASE WHEN on_hand_after <> prev_on_hand + on_hand_delta
                    OR reserved_after <> prev_reserved + reserved_delta THEN 1 ELSE 0 END) AS chain_breaks
  FROM (
    SELECT sku, location, on_hand_delta, reserved_delta, on_hand_after, reserved_after,
           COALESCE(LAG(on_hand_after) OVER w, 0) AS prev_on_hand,
           COALESCE(LAG(reserved_after) OVER w, 0) AS prev_reserved
    FROM ledger
    WINDOW w AS (PARTITION BY sku, location ORDER BY position)
  ) chained
  GROUP BY sku, location`;

export const ledgerColumns =
  'position, type, sku, location, on_hand_delta, reserved_delta, on_hand_after, reserved_after, quantity, ' +
  'command_id, reservation_id, expires_at, peer_location, reason, reference, actor, occurred_at, recorded_at';

/** A reservation is the part of its command's row that carries a status. */
export const reservationColumns = 'id, status, lines, created_at, expires_at, resolved_at';

/**
 * Every column of `commands`: a command's idempotency record, then the columns of the
 * reservation it created (null for any other command). tsv.ts writes its lines in this order.
 */
export const commandColumns =
  'id, type, fingerprint, outcome, recorded_at, status, lines, created_at, expires_at, resolved_at';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}
