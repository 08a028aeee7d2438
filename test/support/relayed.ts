import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Connection, Consumer } from 'rabbitmq-client';
import { afterAll, beforeAll, expect } from 'vitest';
import type { EventEnvelope } from '../../src/events/envelope.js';
import type { Store } from '../../src/store/port.js';
import { connectNats } from './nats.js';
import { connectRabbitmq } from './rabbitmq.js';

// What a consumer of the relay receives, and the checks every relay test ends with: every event
// of the ledger arrived, each level's events in position order, and a consumer that dedupes by
// position (as documented) sees the ledger exactly.

export class Deliveries {
  /** Every delivery, in arrival order, duplicates included. */
  readonly arrived: EventEnvelope[] = [];
  private readonly positions = new Set<number>();

  add(event: EventEnvelope): void {
    this.arrived.push(event);
    this.positions.add(event.position);
  }

  get distinct(): number {
    return this.positions.size;
  }

  get duplicates(): number {
    return this.arrived.length - this.positions.size;
  }

  /** The consumer's view once it applies each position once: the first copy of each. */
  applied(): EventEnvelope[] {
    const seen = new Set<number>();
    return this.arrived.filter((event) => !seen.has(event.position) && seen.add(event.position));
  }

  /** Every event of the ledger, each level's in position order, the same as the ledger holds. */
  async expectWhole(store: Store): Promise<void> {
    const head = await store.headPosition();
    const applied = this.applied();
    expect(applied.length, 'events delivered, once each by position').toBe(head);
    const last = new Map<string, number>();
    for (const event of applied) {
      const stream = `${event.sku}@${event.location}`;
      expect(event.position, `${stream} in position order`).toBeGreaterThan(last.get(stream) ?? 0);
      last.set(stream, event.position);
    }
    const ledger = await store.readLedger(0, head);
    const byPosition = [...applied].sort((a, b) => a.position - b.position);
    expect(byPosition.map(({ id, envelopeVersion, ...event }) => event)).toEqual(ledger);
    expect(byPosition.map((event) => event.id)).toEqual(ledger.map((e) => `${e.sku}@${e.location}#${e.streamVersion}`));
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A durable quorum queue bound to every key of the exchange, consumed into `deliveries`. */
export async function consumeExchange(
  connection: Connection,
  exchange: string,
): Promise<{ deliveries: Deliveries; close: () => Promise<void> }> {
  const deliveries = new Deliveries();
  const queue = uniqueName('skuld-test-relayed');
  const consumer: Consumer = connection.createConsumer(
    {
      queue,
      queueOptions: { durable: true, arguments: { 'x-queue-type': 'quorum' } },
      exchanges: [{ exchange, type: 'topic', durable: true }],
      queueBindings: [{ exchange, queue, routingKey: '#' }],
      qos: { prefetchCount: 500 },
      concurrency: 1,
      requeue: true,
    },
    async (message) => {
      const body = message.body as unknown;
      deliveries.add((Buffer.isBuffer(body) ? JSON.parse(body.toString('utf8')) : body) as EventEnvelope);
    },
  );
  consumer.on('error', () => undefined);
  await new Promise<void>((resolve) => consumer.once('ready', () => resolve()));
  return {
    deliveries,
    close: async () => {
      await consumer.close();
      await connection.queueDelete({ queue });
      await connection.exchangeDelete({ exchange });
    },
  };
}

/** The whole stream, read in sequence order. */
export async function readStream(nc: NatsConnection, stream: string): Promise<Deliveries> {
  const manager = await jetstreamManager(nc);
  const { state } = await manager.streams.info(stream);
  const deliveries = new Deliveries();
  const consumer = await jetstream(nc).consumers.get(stream);
  while (deliveries.arrived.length < state.messages) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 2000 });
    for await (const message of batch) {
      const event = message.json<EventEnvelope>();
      expect(message.seq, 'stream sequence = ledger position').toBe(event.position);
      deliveries.add(event);
    }
  }
  return deliveries;
}

export async function deleteStream(nc: NatsConnection, stream: string): Promise<void> {
  await (await jetstreamManager(nc)).streams.delete(stream);
}

/** A connection to each broker for a suite: made before its tests, closed after them. */
export function brokersForSuite(): { readonly rabbit: Connection; readonly nats: NatsConnection } {
  const brokers = {} as { rabbit: Connection; nats: NatsConnection };
  beforeAll(async () => {
    brokers.rabbit = await connectRabbitmq();
    brokers.nats = await connectNats();
  });
  afterAll(async () => {
    await brokers.rabbit?.close();
    await brokers.nats?.close();
  });
  return brokers;
}
