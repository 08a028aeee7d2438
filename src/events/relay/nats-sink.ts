import { JetStreamApiError, type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { eventId, type LedgerEvent } from '../../domain/index.js';
import type { Log } from '../../log.js';
import { encodeEvent } from '../envelope.js';
import type { EventSink } from './relay.js';

export const natsDefaults = { stream: 'SKULD_EVENTS', subject: 'skuld.events' } as const;

/** JetStream's code for a publish whose expected last sequence is not the stream's. */
const wrongLastSequence = 10071;

export interface NatsSinkOptions {
  readonly url: string;
  readonly log: Log;
  /** The stream, created if missing; it must hold this ledger's events only. */
  readonly stream?: string;
  /** Events go to `<subject>.<type>`. */
  readonly subject?: string;
  /** Longest wait for one publish's acknowledgement. */
  readonly timeoutMs: number;
}

/**
 * Events to a JetStream stream, one message each at `<subject>.<type>`, with the event's id as
 * its message id. JetStream drops a repeated message id only within its duplicate window (two
 * minutes, and it cannot be turned off), so each publish also expects the stream's last sequence
 * to be the event's position minus one: the stream's sequence numbers are the ledger's
 * positions, a copy of an event already stored is refused whenever it is sent again (and is then
 * counted as delivered), and a gap is refused too. Consumers may still dedupe by position: the
 * stream holds each event once, but a consumer's own redeliveries are its own.
 */
export class NatsSink implements EventSink {
  readonly destination = 'nats';
  private readonly options: NatsSinkOptions;
  private readonly stream: string;
  private readonly subject: string;
  private connecting: Promise<{ connection: NatsConnection; client: JetStreamClient }> | undefined;

  constructor(options: NatsSinkOptions) {
    this.options = options;
    this.stream = options.stream ?? natsDefaults.stream;
    this.subject = options.subject ?? natsDefaults.subject;
  }

  async publish(events: readonly LedgerEvent[]): Promise<void> {
    const { client } = await this.connected();
    const sent = await Promise.allSettled(
      events.map((event) =>
        client.publish(`${this.subject}.${event.type}`, encodeEvent(event), {
          msgID: eventId(event),
          expect: { lastSequence: event.position - 1 },
          timeout: this.options.timeoutMs,
        }),
      ),
    );
    for (const [index, result] of sent.entries()) {
      if (result.status === 'fulfilled') continue;
      const event = events[index] as LedgerEvent;
      if (storedAlready(result.reason, event.position)) continue;
      throw result.reason;
    }
  }

  async close(): Promise<void> {
    const connecting = this.connecting;
    this.connecting = undefined;
    if (connecting === undefined) return;
    const { connection } = await connecting.catch(() => ({ connection: undefined }));
    await connection?.drain().catch(() => connection.close());
  }

  /** One connection, made on the first publish (and again after one that could not be made); it reconnects by itself. */
  private connected(): Promise<{ connection: NatsConnection; client: JetStreamClient }> {
    this.connecting ??= this.connect().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    return this.connecting;
  }

  private async connect(): Promise<{ connection: NatsConnection; client: JetStreamClient }> {
    const connection = await connect({
      servers: this.options.url,
      name: 'skuld-relay',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: this.options.timeoutMs,
    });
    try {
      const manager = await jetstreamManager(connection, { timeout: this.options.timeoutMs });
      await manager.streams.info(this.stream).catch(async () => {
        await manager.streams.add({ name: this.stream, subjects: [`${this.subject}.>`] });
      });
      return { connection, client: jetstream(connection, { timeout: this.options.timeoutMs }) };
    } catch (error) {
      await connection.close();
      throw error;
    }
  }
}

/** A refusal that says the stream already holds the event: its last sequence is at or past it. */
function storedAlready(error: unknown, position: number): boolean {
  if (!(error instanceof JetStreamApiError) || error.code !== wrongLastSequence) return false;
  const last = /wrong last sequence: (\d+)/.exec(error.message)?.[1];
  return last !== undefined && Number(last) >= position;
}
