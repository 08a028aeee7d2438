import { eventId, type LedgerEvent } from '../domain/index.js';

// What a ledger event looks like outside Skuld: on a broker, in a stream, to a listener. The same
// members as the ledger's, plus the event's stable id, as JSON; the version names the shape so
// that consumers can tell a future change of it.

export const envelopeVersion = 1;

export interface EventEnvelope extends LedgerEvent {
  readonly id: string;
  readonly envelopeVersion: typeof envelopeVersion;
}

export function envelope(event: LedgerEvent): EventEnvelope {
  return { id: eventId(event), envelopeVersion, ...event };
}

/** The message body: UTF-8 JSON of the envelope. */
export function encodeEvent(event: LedgerEvent): Buffer {
  return Buffer.from(JSON.stringify(envelope(event)));
}
