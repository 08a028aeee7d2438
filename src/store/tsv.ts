import type { LedgerEvent } from '../domain/index.js';
import type { CommandWrite } from './rows.js';

// Rows as tab-separated text, one line each: the text format of PostgreSQL's COPY and the
// default format of MySQL's LOAD DATA alike. `\N` is null; a backslash, tab, newline or
// carriage return inside a value is escaped with a backslash. Columns follow `ledgerColumns`
// and `commandColumns` (sql.ts).

/** One value: \N for null, backslash escapes for the separators. */
export function tsvValue(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return /[\\\t\n\r]/.test(value) ? value.replace(separators, (c) => escapes[c] as string) : value;
}

const separators = /[\\\t\n\r]/g;
const escapes: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

export function ledgerLine(e: LedgerEvent): string {
  return `${e.position}\t${e.type}\t${e.sku}\t${e.location}\t${e.onHandDelta}\t${e.reservedDelta}\t${e.onHandAfter}\t${e.reservedAfter}\t${e.quantity}\t${tsvValue(e.commandId)}\t${tsvValue(e.reservationId)}\t${tsvValue(e.expiresAt)}\t${tsvValue(e.peerLocation)}\t${tsvValue(e.reason)}\t${tsvValue(e.reference)}\t${tsvValue(e.actor)}\t${e.occurredAt}\t${e.recordedAt}\t${e.streamVersion}\t${tsvValue(e.attributes === null ? null : JSON.stringify(e.attributes))}\t${e.incomingDelta}\t${e.incomingAfter}\n`;
}

/** A row of `commands`: id, type, fingerprint, outcome, recorded_at, then the reservation's columns. */
export function commandLine({ record: c, reservation: r }: CommandWrite): string {
  const record = `${tsvValue(c.id)}\t${c.type}\t${c.fingerprint}\t${tsvValue(JSON.stringify(c.outcome))}\t${c.recordedAt}`;
  if (r === undefined) return `${record}\t\\N\t\\N\t\\N\t\\N\t\\N\n`;
  return `${record}\t${r.status}\t${tsvValue(JSON.stringify(r.lines))}\t${r.createdAt}\t${r.expiresAt}\t${tsvValue(r.resolvedAt)}\n`;
}
