import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/index.js';
import { Engine } from '../../src/engine/engine.js';
import { NatsSink } from '../../src/events/relay/nats-sink.js';
import { RabbitmqSink } from '../../src/events/relay/rabbitmq-sink.js';
import { type EventSink, Relay, type RelayClaim } from '../../src/events/relay/relay.js';
import { LeasedClaim, LocalClaim } from '../../src/events/relay/relay-claims.js';
import { silentLog } from '../../src/log.js';
import type { Store } from '../../src/store/port.js';
import { openTestStore, type TestDatabase, testDialects } from '../support/dialects.js';
import { eventually } from '../support/eventually.js';
import { natsUrl } from '../support/nats.js';
import { rabbitmqUrl } from '../support/rabbitmq.js';
import { brokersForSuite, consumeExchange, deleteStream, readStream, uniqueName } from '../support/relayed.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

// The relay publishes the ledger to RabbitMQ and NATS JetStream with at-least-once delivery: in
// position order, every event, through a dropped connection and a lost lease, resuming from its
// checkpoint. Real brokers; a TCP proxy in front of each cuts the link while the broker runs on.

const skus = Array.from({ length: 12 }, (_, i) => `R-${i}`);

/** Receipts and reservations over the items at two locations, `rounds` waves of concurrent commands. */
async function writeLoad(engine: Engine, tag: string, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    const commands: Command[] = skus.flatMap((sku, i): Command[] => [
      { type: 'ReceiveStock', id: `${tag}-r${round}-${sku}`, sku, location: i % 2 === 0 ? 'WH1' : 'WH2', quantity: 5 },
      {
        type: 'ReserveStock',
        id: `${tag}-o${round}-${sku}`,
        lines: [{ sku, location: i % 2 === 0 ? 'WH1' : 'WH2', quantity: 1 }],
        reference: `order-${round}`,
      },
    ]);
    const answers = await Promise.all(commands.map((command) => engine.execute(command)));
    for (const answer of answers) expect(answer.outcome.ok, JSON.stringify(answer.outcome)).toBe(true);
  }
}

async function registered(store: Store): Promise<Engine> {
  const engine = Engine.on(store);
  for (const sku of skus)
    expect((await engine.execute({ type: 'RegisterItem', id: `reg-${sku}`, sku })).outcome.ok).toBe(true);
  return engine;
}

function relayOf(store: Store, sink: EventSink, claim: RelayClaim, publishTimeoutMs = 2_000): Relay {
  return new Relay({
    source: store,
    sink,
    claim,
    clock: Date.now,
    log: silentLog,
    pageMax: 97,
    pollMs: 10,
    publishTimeoutMs,
    retryMsMax: 200,
  });
}

const viaProxy = (url: string, proxy: TcpProxy) => {
  const parsed = new URL(url);
  parsed.port = String(proxy.port);
  return parsed.toString();
};

describe.each(testDialects())('the relay on %s', (dialect) => {
  const brokers = brokersForSuite();
  let rabbitProxy: TcpProxy;
  let natsProxy: TcpProxy;
  let store: Store;
  let db: TestDatabase;
  let cleanup: (() => Promise<void>) | undefined;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    rabbitProxy = await startTcpProxy(Number(new URL(rabbitmqUrl).port || 5672));
    natsProxy = await startTcpProxy(Number(new URL(natsUrl).port || 4222));
  });
  afterAll(async () => {
    await rabbitProxy?.close();
    await natsProxy?.close();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await cleanup?.();
  });

  it('publishes every event to RabbitMQ in order, through a dropped connection, and resumes from its checkpoint', async () => {
    ({ store, db, cleanup } = await openTestStore(dialect));
    const exchange = uniqueName('skuld-test-events');
    const consumer = await consumeExchange(brokers.rabbit, exchange);
    stops.push(consumer.close);
    const engine = await registered(store);
    stops.push(() => engine.close());
    const sink = () => new RabbitmqSink({ url: viaProxy(rabbitmqUrl, rabbitProxy), log: silentLog, exchange });
    const first = relayOf(store, sink(), new LeasedClaim(store.leases, 'relay:rabbitmq', 'first', 5_000));
    first.start();
    await writeLoad(engine, 'a', 10);
    const connections = rabbitProxy.connections;
    rabbitProxy.cut();
    await writeLoad(engine, 'b', 10);
    await eventually(
      'the first relay caught up',
      async () => first.status().position === (await store.headPosition()),
      30_000,
    );
    await first.stop();
    expect((await store.leases.get('relay:rabbitmq'))?.position).toBe(await store.headPosition());

    // Stopped cleanly, it gave its lease up: the next relay resumes from the checkpoint at once.
    await writeLoad(engine, 'c', 5);
    const second = relayOf(store, sink(), new LeasedClaim(store.leases, 'relay:rabbitmq', 'second', 5_000));
    second.start();
    stops.push(() => second.stop());
    const head = await store.headPosition();
    await eventually('every event arrived', () => consumer.deliveries.distinct === head, 30_000);
    await consumer.deliveries.expectWhole(store);
    expect(rabbitProxy.connections, 'the client connected again after the cut').toBeGreaterThan(connections);
  });

  it('publishes every event to JetStream once, stream sequence = position, through a dropped connection and a replay', async () => {
    ({ store, db, cleanup } = await openTestStore(dialect));
    const stream = uniqueName('SKULD_TEST').replace('-', '_');
    const subject = `skuld.test.${stream}`;
    stops.push(() => deleteStream(brokers.nats, stream));
    const engine = await registered(store);
    stops.push(() => engine.close());
    const sink = () =>
      new NatsSink({ url: viaProxy(natsUrl, natsProxy), log: silentLog, stream, subject, timeoutMs: 2_000 });
    const relay = relayOf(store, sink(), new LeasedClaim(store.leases, 'relay:nats', 'one', 5_000));
    relay.start();
    stops.push(() => relay.stop());
    await writeLoad(engine, 'a', 10);
    const connections = natsProxy.connections;
    natsProxy.cut();
    await writeLoad(engine, 'b', 10);
    const head = await store.headPosition();
    await eventually('the relay caught up', () => relay.status().position === head, 30_000);

    // Published again from the start, past any duplicate window: the stream takes none of it twice.
    const replay = relayOf(store, sink(), new LocalClaim(store, 0));
    replay.start();
    await eventually('the replay went through', () => replay.status().position === head, 30_000);
    await replay.stop();
    expect(natsProxy.connections, 'the client connected again after the cut').toBeGreaterThan(connections);
    const stored = await readStream(brokers.nats, stream);
    expect(stored.duplicates).toBe(0);
    await stored.expectWhole(store);
  });

  it.skipIf(dialect === 'sqlite')(
    'publishes through one relay of two racing for the lease, and the other takes over when it stops',
    async () => {
      ({ store, db, cleanup } = await openTestStore(dialect));
      const exchange = uniqueName('skuld-test-events');
      const consumer = await consumeExchange(brokers.rabbit, exchange);
      stops.push(consumer.close);
      const engine = await registered(store);
      stops.push(() => engine.close());
      const stores = [store, db.open()];
      stops.push(() => (stores[1] as Store).close());
      const relays = stores.map((each, i) =>
        relayOf(
          each,
          new RabbitmqSink({ url: rabbitmqUrl, log: silentLog, exchange }),
          new LeasedClaim(each.leases, 'relay:rabbitmq', `racer-${i}`, 5_000),
        ),
      );
      for (const relay of relays) relay.start();
      await writeLoad(engine, 'a', 10);
      const head = await store.headPosition();
      await eventually('one relay caught up', () => relays.some((relay) => relay.status().position === head), 30_000);
      const [active, standby] = relays[0]?.status().state === 'active' ? relays : [...relays].reverse();
      expect(standby?.status().state).toBe('standby');
      expect(standby?.status().published).toBe(0);
      await active?.stop();
      await writeLoad(engine, 'b', 5);
      const after = await store.headPosition();
      await eventually('the other took over', () => standby?.status().position === after, 30_000);
      stops.push(async () => standby?.stop());
      await eventually('every event arrived', () => consumer.deliveries.distinct === after, 30_000);
      // One publisher at a time, each page confirmed before the checkpoint moved: nothing twice.
      expect(consumer.deliveries.duplicates).toBe(0);
      await consumer.deliveries.expectWhole(store);
    },
  );
});
