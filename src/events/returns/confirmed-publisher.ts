import { randomUUID } from 'node:crypto';
import type { AsyncMessage, Channel, Connection, Envelope, SyncMessage } from 'rabbitmq-client';

// Moving a message between queues without losing it: publish a copy, wait for the broker's
// confirm, make sure it was routed, and only then let the caller acknowledge the original. A
// crash between the two leaves two copies, never none; the command id makes the copy harmless.

/** Identifies one publish, so that a message the broker returns unroutable is told apart. */
const publishHeader = 'x-skuld-publish';

/** Headers the broker writes; a copy starts without them (the consumer's own headers count). */
const brokerHeaders = new Set([
  'x-death',
  'x-delivery-count',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  publishHeader,
]);

export type QueuedMessage = AsyncMessage | SyncMessage;

/** The body's bytes as they were sent: the client parses JSON and text bodies on delivery. */
export function bodyBytes(message: QueuedMessage): Buffer {
  const body: unknown = message.body;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** The message's application headers, without those the broker adds. */
export function ownHeaders(message: QueuedMessage): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (!brokerHeaders.has(name)) headers[name] = value;
  }
  return headers;
}

/** A copy of the message's properties with other headers, for a republish. */
export function copyOf(message: QueuedMessage, headers: Record<string, unknown>): Envelope {
  const envelope: Envelope = { headers, durable: true };
  for (const name of [
    'messageId',
    'contentType',
    'contentEncoding',
    'correlationId',
    'type',
    'appId',
    'timestamp',
    'priority',
  ] as const) {
    if (message[name] !== undefined) (envelope as Record<string, unknown>)[name] = message[name];
  }
  return envelope;
}

/**
 * Publishes to a queue with publisher confirms on a channel of its own, reopened after a loss.
 * The client settles a confirm before it reports the matching return, so after the confirm one
 * more round trip on the same channel (a passive declare of the queue, which also fails if the
 * queue is gone) flushes any return for the publish before the publish is called done.
 */
export class ConfirmedPublisher {
  private readonly connection: Connection;
  private channel: Promise<Channel> | undefined;
  private readonly returned = new Set<string>();

  constructor(connection: Connection) {
    this.connection = connection;
  }

  async publish(queue: string, envelope: Envelope, body: Buffer): Promise<void> {
    const id = randomUUID();
    const channel = await this.open();
    const headers = { ...envelope.headers, [publishHeader]: id };
    try {
      await channel.basicPublish(
        { ...envelope, headers, exchange: '', routingKey: queue, mandatory: true, durable: true },
        body,
      );
      await channel.queueDeclare({ queue, passive: true });
    } catch (error) {
      this.returned.delete(id);
      if (!channel.active) this.channel = undefined;
      throw error;
    }
    if (this.returned.delete(id)) throw new Error(`RabbitMQ could not route the message to queue ${queue}`);
  }

  async close(): Promise<void> {
    const channel = await this.channel?.catch(() => undefined);
    this.channel = undefined;
    if (channel?.active === true) await channel.close();
  }

  private open(): Promise<Channel> {
    if (this.channel === undefined) {
      const opening = this.connection.acquire().then(async (channel) => {
        channel.on('basic.return', (message) => {
          const id = message.headers?.[publishHeader];
          if (typeof id === 'string') this.returned.add(id);
        });
        channel.on('close', () => {
          if (this.channel === opening) this.channel = undefined;
        });
        await channel.confirmSelect();
        return channel;
      });
      opening.catch(() => {
        if (this.channel === opening) this.channel = undefined;
      });
      this.channel = opening;
    }
    return this.channel;
  }
}
