import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/index.js';
import { Engine } from '../../src/engine/engine.js';
import { NatsSink } from '../../src/events/relay/nats-sink.js';
import { RabbitmqSink } from '../../src/events/relay/rabbitmq-sink.js';
import { type EventSink, Relay, type RelayState } from '../../src/events/relay/relay.js';
import { LeasedClaim } from '../../src/events/relay/relay-claims.js';
import { silentLog } from '../../src/log.js';
import type { Store } from '../../src/store/port.js';
import { openTestStore } from '../support/dialects.js';
import { eventually } from '../support/eventually.js';
import { natsUrl } from '../support/nats.js';
import { rabbitmqUrl } from '../support/rabbitmq.js';
import { brokersForSuite, consumeExchange, deleteStream, readStream, uniqueName } from '../support/relayed.js';

// The broker itself stops and starts again while the relay publishes: RabbitMQ's application
// and the NATS server are restarted for real. The relay's publishes time out instead of hanging,
// it retries, and once the broker is back every event is there, in order. Each test leaves its
// broker running as it found it.

const run = promisify(execFile);

const rabbitmq = {
  stop: () => run('rabbitmqctl', ['stop_app']),
  start: async () => {
    await run('rabbitmqctl', ['start_app']);
    await run('rabbitmqctl', ['await_startup']);
  },
};

/** The NATS server as CI starts it (.ci/run): JetStream on, its store kept on disk across restarts. */
const natsServer = {
  args: ['-a', '127.0.0.1', '-p', '4222', '-js', '-sd', '/var/lib/nats-server', '-l', '/var/log/nats-server.log'],
  stop: () => run('start-stop-daemon', ['--stop', '--oknodo', '--retry', '10', '--exec', '/usr/sbin/nats-server']),
  start: () =>
    run('start-stop-daemon', [
      '--start',
      '--oknodo',
      '--background',
      '--exec',
      '/usr/sbin/nats-server',
      '--',
      ...natsServer.args,
    ]),
};

const skus = ['B-1', 'B-2', 'B-3', 'B-4'];

async function writeLoad(engine: Engine, tag: string, rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    const commands: Command[] = skus.map((sku) => ({
      type: 'ReceiveStock',
      id: `${tag}-${round}-${sku}`,
      sku,
      location: 'WH1',
      quantity: 1,
    }));
    for (const answer of await Promise.all(commands.map((command) => engine.execute(command)))) {
      expect(answer.outcome.ok).toBe(true);
    }
  }
}

function relayOf(store: Store, sink: EventSink, name: string): { relay: Relay; states: Set<RelayState> } {
  const relay = new Relay({
    source: store,
    sink,
    claim: new LeasedClaim(store.leases, name, 'outage-test', 30_000),
    clock: Date.now,
    log: silentLog,
    pageMax: 50,
    pollMs: 20,
    publishTimeoutMs: 1_000,
    retryMsMax: 500,
  });
  const states = new Set<RelayState>();
  const timer = setInterval(() => states.add(relay.status().state), 10);
  const stop = relay.stop.bind(relay);
  relay.stop = async () => {
    clearInterval(timer);
    await stop();
  };
  return { relay, states };
}

describe('the relay across a broker restart (PostgreSQL)', () => {
  const brokers = brokersForSuite();
  let store: Store;
  let engine: Engine;
  let cleanup: (() => Promise<void>) | undefined;
  const stops: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
    await engine?.close();
    await cleanup?.();
  });

  const registered = async () => {
    ({ store, cleanup } = await openTestStore('postgres'));
    engine = Engine.on(store);
    for (const sku of skus)
      expect((await engine.execute({ type: 'RegisterItem', id: `reg-${sku}`, sku })).outcome.ok).toBe(true);
  };

  it('delivers every event to RabbitMQ when its application stops and starts again', async () => {
    await registered();
    const exchange = uniqueName('skuld-test-events');
    const consumer = await consumeExchange(brokers.rabbit, exchange);
    stops.push(consumer.close);
    const { relay, states } = relayOf(
      store,
      new RabbitmqSink({ url: rabbitmqUrl, log: silentLog, exchange }),
      'relay:rabbitmq',
    );
    relay.start();
    stops.push(() => relay.stop());
    await writeLoad(engine, 'before', 10);
    try {
      await rabbitmq.stop();
      await writeLoad(engine, 'during', 10);
      await eventually('the relay noticed', () => relay.status().state === 'failing', 30_000);
    } finally {
      await rabbitmq.start();
    }
    await writeLoad(engine, 'after', 10);
    const head = await store.headPosition();
    await eventually('every event arrived', () => consumer.deliveries.distinct === head, 60_000);
    await consumer.deliveries.expectWhole(store);
    expect(states).toContain('failing');
    expect(relay.status().state).toBe('active');
  });

  it('delivers every event to JetStream when the NATS server stops and starts again', async () => {
    await registered();
    const stream = uniqueName('SKULD_TEST').replace('-', '_');
    const subject = `skuld.test.${stream}`;
    stops.push(() => deleteStream(brokers.nats, stream));
    const sink = new NatsSink({ url: natsUrl, log: silentLog, stream, subject, timeoutMs: 1_000 });
    const { relay, states } = relayOf(store, sink, 'relay:nats');
    relay.start();
    stops.push(() => relay.stop());
    await writeLoad(engine, 'before', 10);
    try {
      await natsServer.stop();
      await writeLoad(engine, 'during', 10);
      await eventually('the relay noticed', () => relay.status().state === 'failing', 30_000);
    } finally {
      await natsServer.start();
    }
    await writeLoad(engine, 'after', 10);
    const head = await store.headPosition();
    await eventually('the relay caught up', () => relay.status().position === head, 60_000);
    // The test's own connection reconnects on its own schedule: read once JetStream answers on it.
    const answers = () =>
      jetstreamManager(brokers.nats, { timeout: 1_000 }).then(
        () => true,
        () => false,
      );
    await eventually('the test connection reaches JetStream again', answers, 60_000);
    const stored = await readStream(brokers.nats, stream);
    expect(stored.duplicates).toBe(0);
    await stored.expectWhole(store);
    expect(states).toContain('failing');
  });
});
