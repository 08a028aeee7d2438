import type { LedgerEvent } from '../../domain/index.js';
import { isLevelEvent } from './ledger-events.js';
import type { ModelProjection } from './projection.js';
import type { BulkWrite, ReadTx, ReadValue } from './read-db.js';

// Reservations by status, SKU, order reference and expiry, rebuilt from their events alone:
// StockReserved (one a line, with the hold's expiry and the order's reference) creates,
// ReservationCommitted / Released / Expired resolve. A reservation is paged by the position of
// its first event.

/**
 * A reservation's lines may straddle two pages: the page of its later lines finds its row there,
 * and keeps what its first page wrote but for the state a resolution in this page changes.
 */
const reservations: BulkWrite = {
  table: 'read_reservations',
  columns: ['id', 'status', 'reference', 'created_at', 'expires_at', 'resolved_at', 'position', 'updated_position'],
  key: ['id'],
  set: { status: 'replace', resolved_at: 'replace', updated_position: 'replace' },
};

const reservationLines: BulkWrite = {
  table: 'read_reservation_lines',
  columns: ['reservation_id', 'sku', 'location', 'quantity', 'committed', 'position'],
};

const resolvedStatus: Readonly<Record<string, string>> = {
  ReservationCommitted: 'committed',
  ReservationReleased: 'released',
  ReservationExpired: 'expired',
};

/** Rows of reservations created in this page, changed in place as the page resolves them. */
interface Created {
  readonly header: ReadValue[];
  readonly lines: Map<string, ReadValue[]>;
}

export const projectReservations: ModelProjection = async (tx, events) => {
  const created = new Map<string, Created>();
  const resolved: ReadValue[][] = [];
  const committed: ReadValue[][] = [];
  for (const event of events) {
    const id = event.reservationId;
    if (id === null || !isLevelEvent(event)) continue;
    if (event.type === 'StockReserved') {
      reserve(created, id, event);
      continue;
    }
    const status = resolvedStatus[event.type];
    if (status === undefined) continue;
    const lineKey = `${event.sku}\u0000${event.location}`;
    const mine = created.get(id);
    if (mine !== undefined) {
      mine.header[1] = status;
      mine.header[5] = event.recordedAt;
      mine.header[7] = event.position;
      const line = mine.lines.get(lineKey);
      // A line of an earlier page is in the table already: it is updated there.
      if (status === 'committed' && line !== undefined) line[4] = event.quantity;
      else if (status === 'committed') committed.push([event.quantity, id, event.sku, event.location]);
      continue;
    }
    resolved.push([status, event.recordedAt, event.position, id]);
    if (status === 'committed') committed.push([event.quantity, id, event.sku, event.location]);
  }
  await tx.write(
    reservations,
    [...created.values()].map((c) => c.header),
  );
  await tx.write(
    reservationLines,
    [...created.values()].flatMap((c) => [...c.lines.values()]),
  );
  await resolve(tx, resolved, committed);
};

function reserve(created: Map<string, Created>, id: string, event: LedgerEvent): void {
  let mine = created.get(id);
  if (mine === undefined) {
    const header = [id, 'pending', event.reference, event.recordedAt, event.expiresAt ?? 0, null, event.position];
    mine = { header: [...header, event.position], lines: new Map() };
    created.set(id, mine);
  }
  // Its last event so far, as a resolution's would be: the same whichever page a line falls in.
  mine.header[7] = event.position;
  mine.lines.set(`${event.sku}\u0000${event.location}`, [
    id,
    event.sku,
    event.location,
    event.quantity,
    null,
    event.position,
  ]);
}

async function resolve(tx: ReadTx, resolved: readonly ReadValue[][], committed: readonly ReadValue[][]) {
  const header = 'UPDATE read_reservations SET status = ?, resolved_at = ?, updated_position = ? WHERE id = ?';
  for (const params of resolved) await tx.run(header, params);
  const line = 'UPDATE read_reservation_lines SET committed = ? WHERE reservation_id = ? AND sku = ? AND location = ?';
  for (const params of committed) await tx.run(line, params);
}
