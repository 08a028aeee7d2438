import { Connection, type Publisher } from 'rabbitmq-client';
import type { LedgerEvent } from '../../domain/index.js';
import { eventId } from '../../domain/index.js';
import type { Log } from '../../log.js';
import { encodeEvent } from '../envelope.js';
import type { EventSink } from './relay.js';

/** Where the relay publishes on RabbitMQ, and the header that carries each event's position. */
export const rabbitmqTopology = {
  exchange: 'skuld.events',
  positionHeader: 'x-skuld-position',
} as const;

export interface RabbitmqSinkOptions {
  readonly url: string;
  readonly log: Log;
  /** The topic exchange (durable); consumers bind their queues to it by event type. */
  readonly exchange?: string;
}

/**
 * Events to a durable topic exchange, routing key = event type (`StockReserved`, …), persistent,
 * with publisher confirms: a page is published only when the broker has confirmed every message.
 * The messages of a page go out at once on one channel (the broker keeps their order) and their
 * confirms are awaited together, since one publish awaited after another caps a relay at a few
 * thousand a second. The message id is the event's id; its position is in a header. The client
 * reconnects by itself and declares the exchange again on every connection.
 */
export class RabbitmqSink implements EventSink {
  readonly destination = 'rabbitmq';
  private readonly connection: Connection;
  private readonly publisher: Publisher;
  private readonly exchange: string;

  constructor(options: RabbitmqSinkOptions) {
    this.exchange = options.exchange ?? rabbitmqTopology.exchange;
    this.connection = new Connection({ url: options.url, connectionName: 'skuld-relay', retryHigh: 5_000 });
    this.connection.on('error', (error) => options.log.warn({ err: error }, 'relay: RabbitMQ connection error'));
    this.publisher = this.connection.createPublisher({
      confirm: true,
      exchanges: [{ exchange: this.exchange, type: 'topic', durable: true }],
    });
  }

  async publish(events: readonly LedgerEvent[]): Promise<void> {
    await Promise.all(
      events.map((event) =>
        this.publisher.send(
          {
            exchange: this.exchange,
            routingKey: event.type,
            messageId: eventId(event),
            type: event.type,
            contentType: 'application/json',
            appId: 'skuld',
            timestamp: Math.floor(event.recordedAt / 1000),
            durable: true,
            headers: { [rabbitmqTopology.positionHeader]: event.position },
          },
          encodeEvent(event),
        ),
      ),
    );
  }

  async close(): Promise<void> {
    await this.publisher.close();
    await this.connection.close();
  }
}
