import type { Connection } from 'rabbitmq-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../src/domain/index.js';
import { DeadLetters } from '../../src/events/returns/dead-letters.js';
import { ReturnsConsumer } from '../../src/events/returns/returns-consumer.js';
import { queueDeclarations, type ReturnsTopology, returnsTopology } from '../../src/events/returns/returns-topology.js';
import { silentLog } from '../../src/log.js';
import { eventually } from '../support/eventually.js';
import { connectRabbitmq } from '../support/rabbitmq.js';
import { expectAccepted, expectConsistent, openTestEngine } from '../support/test-engine.js';

// Returns over a real RabbitMQ into a real store: a message delivered twice changes stock once;
// one that keeps failing is retried through the backoff queues, then dead-lettered; a replay
// applies it once, and a replay of a message already applied changes nothing.

const attemptsMax = 3;
let rabbit: Connection;
let queueCount = 0;

beforeAll(async () => {
  rabbit = await connectRabbitmq();
});

afterAll(async () => {
  await rabbit?.close();
});

describe('the returns consumer', () => {
  let env: Awaited<ReturnType<typeof openTestEngine>>;
  let topology: ReturnsTopology;
  let consumer: ReturnsConsumer;
  let letters: DeadLetters;
  const publisher = () => rabbit.createPublisher({ confirm: true });

  beforeEach(async () => {
    env = await openTestEngine('sqlite');
    topology = returnsTopology(`test.returns.${process.pid}.${Date.now()}.${queueCount++}`, [50, 100]);
    consumer = new ReturnsConsumer(rabbit, env.engine, env.store, {
      topology,
      attemptsMax,
      concurrency: 4,
      log: silentLog,
    });
    await consumer.start();
    letters = new DeadLetters(rabbit, topology);
    expectAccepted(await env.engine.execute({ type: 'RegisterItem', id: 'reg-a', sku: 'SKU-A' }));
    expectAccepted(
      await env.engine.execute({ type: 'ReceiveStock', id: 'rcv-a', sku: 'SKU-A', location: 'WH1', quantity: 10 }),
    );
  });

  afterEach(async () => {
    await consumer.close();
    for (const { queue } of queueDeclarations(topology)) await rabbit.queueDelete({ queue });
    await env.cleanup();
  });

  async function send(messageId: string | undefined, body: unknown, queue = topology.main) {
    const pub = publisher();
    try {
      await pub.send({ routingKey: queue, durable: true, ...(messageId !== undefined && { messageId }) }, body);
    } finally {
      await pub.close();
    }
  }

  async function onHand(sku: string): Promise<number> {
    const [level] = await env.store.itemLevels(sku);
    return level?.onHand ?? 0;
  }

  async function eventsOf(commandId: string): Promise<LedgerEvent[]> {
    const events = await env.store.readLedger(0, 1000);
    return events.filter((event) => event.commandId === commandId);
  }

  const handled = () => consumer.stats.applied + consumer.stats.duplicates;

  it('applies a message delivered twice once, as the queue principal', async () => {
    const body = { sku: 'SKU-A', location: 'WH1', quantity: 3, reason: 'damaged box', reference: 'RMA-1' };
    await send('rma-1', body);
    await send('rma-1', body);
    await eventually('both deliveries are handled', () => handled() === 2);

    expect(consumer.stats).toMatchObject({ applied: 1, duplicates: 1, retried: 0, deadLettered: 0 });
    expect(await onHand('SKU-A')).toBe(13);
    const events = await eventsOf('ret:rma-1');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'StockReturned',
      onHandDelta: 3,
      reason: 'damaged box',
      reference: 'RMA-1',
      actor: `amqp:${topology.main}`,
    });
    await expectConsistent(env.store);
  });

  it('retries a failing message with backoff, dead-letters it after the last attempt, and a replay applies it once', async () => {
    const sentAt = Date.now();
    await send('rma-2', { sku: 'SKU-B', location: 'WH1', quantity: 4 });
    await eventually('the message is dead-lettered', () => consumer.stats.deadLettered === 1);
    // It waited in each retry queue in turn (50 ms, then 100 ms) before its next attempt.
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(150);

    expect(consumer.stats).toMatchObject({ applied: 0, retried: attemptsMax - 1, deadLettered: 1 });
    const listed = await letters.list();
    expect(listed.total).toBe(1);
    expect(listed.letters[0]).toMatchObject({ messageId: 'rma-2', attempts: attemptsMax, code: 'UNKNOWN_ITEM' });
    expect(await eventsOf('ret:rma-2')).toEqual([]);
    // Listing hands every message back.
    expect((await letters.list()).total).toBe(1);
    expect(await letters.show('rma-2')).toHaveLength(1);

    // The item is registered late; the replay resets the attempts and the return takes effect.
    expectAccepted(await env.engine.execute({ type: 'RegisterItem', id: 'reg-b', sku: 'SKU-B' }));
    expect(await letters.replay('rma-2')).toBe(1);
    await eventually('the replayed message is applied', () => consumer.stats.applied === 1);
    expect((await letters.list()).total).toBe(0);
    expect(await onHand('SKU-B')).toBe(4);

    // A copy of it dead-lettered again (at-least-once moves may duplicate) and replayed changes nothing.
    await send('rma-2', { sku: 'SKU-B', location: 'WH1', quantity: 4 }, topology.dead);
    expect(await letters.replay(undefined)).toBe(1);
    await eventually('the second replay is handled', () => consumer.stats.duplicates === 1);
    expect(await onHand('SKU-B')).toBe(4);
    expect(await eventsOf('ret:rma-2')).toHaveLength(1);
    expect(consumer.stats.deadLettered).toBe(1);
    await expectConsistent(env.store);
  });

  it('dead-letters malformed messages at once, with the reason, and changes nothing', async () => {
    await send('bad-json', Buffer.from('{"sku": "SKU-A",'));
    await send(undefined, { sku: 'SKU-A', location: 'WH1', quantity: 1 });
    await send('bad-quantity', { sku: 'SKU-A', location: 'WH1', quantity: 0 });
    await send('bad-member', { sku: 'SKU-A', location: 'WH1', quantity: 1, actor: 'someone-else' });
    await eventually('all four are dead-lettered', () => consumer.stats.deadLettered === 4);

    expect(consumer.stats).toMatchObject({ applied: 0, retried: 0 });
    const { letters: dead } = await letters.list();
    expect(dead.map((letter) => [letter.messageId, letter.code, letter.attempts])).toEqual(
      expect.arrayContaining([
        ['bad-json', 'MALFORMED', 1],
        [undefined, 'MALFORMED', 1],
        ['bad-quantity', 'MALFORMED', 1],
        ['bad-member', 'MALFORMED', 1],
      ]),
    );
    expect(dead.find((letter) => letter.messageId === 'bad-member')?.reason).toContain('actor');
    expect(await onHand('SKU-A')).toBe(10);
  });
  it('retries while the store is out of reach, then dead-letters; a replay once it is back applies the return', async () => {
    // A second store on the same database, closed: every read of it fails as the store being out of reach.
    const unreachable = env.db.open();
    await unreachable.close();
    await consumer.close();
    consumer = new ReturnsConsumer(rabbit, env.engine, unreachable, {
      topology,
      attemptsMax,
      concurrency: 4,
      log: silentLog,
    });
    await consumer.start();
    await send('rma-3', { sku: 'SKU-A', location: 'WH1', quantity: 2 });
    await eventually('the message is dead-lettered', () => consumer.stats.deadLettered === 1);
    expect(consumer.stats).toMatchObject({ applied: 0, retried: attemptsMax - 1 });
    expect((await letters.list()).letters[0]).toMatchObject({
      messageId: 'rma-3',
      attempts: attemptsMax,
      code: 'UNAVAILABLE',
    });
    expect(await onHand('SKU-A')).toBe(10);

    await consumer.close();
    consumer = new ReturnsConsumer(rabbit, env.engine, env.store, {
      topology,
      attemptsMax,
      concurrency: 4,
      log: silentLog,
    });
    await consumer.start();
    expect(await letters.replay('rma-3')).toBe(1);
    await eventually('the replayed message is applied', () => consumer.stats.applied === 1);
    expect(await onHand('SKU-A')).toBe(12);
    await expectConsistent(env.store);
  });
});
