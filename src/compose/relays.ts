import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config, RelayDestination } from '../config.js';
import { InProcessSink } from '../events/relay/in-process-sink.js';
import { NatsSink } from '../events/relay/nats-sink.js';
import { RabbitmqSink } from '../events/relay/rabbitmq-sink.js';
import { type EventSink, Relay, type RelayClaim, type RelayStatus } from '../events/relay/relay.js';
import { LeasedClaim, LocalClaim } from '../events/relay/relay-claims.js';
import type { Log } from '../log.js';
import { StartupError } from '../startup-error.js';
import type { Store } from '../store/port.js';

// The relays of a process, one per configured destination (SKULD_RELAY). A broker is shared by
// every instance, so its relay runs under a lease in the store (one instance publishes, the
// others stand by); this process's own listeners get a relay of their own that needs none.

/** The lease of a destination's relay: one per database and destination. */
export function relayLeaseName(destination: string): string {
  return `relay:${destination}`;
}

/** Longest pause between attempts after failures. */
const relayRetryMsMax = 5_000;

export interface Relays {
  /** This process's listeners: fed when SKULD_RELAY names `in-process`. */
  readonly inProcess: InProcessSink;
  readonly relays: readonly Relay[];
  start(): void;
  status(): RelayStatus[];
  close(): Promise<void>;
}

/** Refuses a destination whose broker is not configured, before anything starts. */
export function checkRelayConfig(config: Pick<Config, 'relay' | 'amqpUrl' | 'natsUrl'>): void {
  if (config.relay.includes('rabbitmq') && config.amqpUrl === '') {
    throw new StartupError('CONFIG_INVALID', 'SKULD_RELAY names rabbitmq, but SKULD_AMQP_URL is not set');
  }
  if (config.relay.includes('nats') && config.natsUrl === '') {
    throw new StartupError('CONFIG_INVALID', 'SKULD_RELAY names nats, but SKULD_NATS_URL is not set');
  }
}

/** The configuration has passed checkRelayConfig: createRuntime asks it before it opens anything. */
export function createRelays(config: Config, parts: { store: Store; log: Log; clock: () => number }): Relays {
  const { store, log, clock } = parts;
  const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const inProcess = new InProcessSink(log);
  const relays = config.relay.map((destination) => {
    const sink = sinkOf(destination, config, log, inProcess);
    const claim: RelayClaim =
      destination === 'in-process'
        ? new LocalClaim(store)
        : new LeasedClaim(store.leases, relayLeaseName(destination), holder, config.relayLeaseTtlMs);
    return new Relay({
      source: store,
      sink,
      claim,
      clock,
      log,
      pageMax: config.relayPageMax,
      pollMs: config.relayPollMs,
      publishTimeoutMs: config.relayPublishTimeoutMs,
      retryMsMax: relayRetryMsMax,
    });
  });
  return {
    inProcess,
    relays,
    start: () => {
      for (const relay of relays) relay.start();
    },
    status: () => relays.map((relay) => relay.status()),
    close: async () => {
      await Promise.all(relays.map((relay) => relay.stop()));
      await inProcess.close();
    },
  };
}

function sinkOf(destination: RelayDestination, config: Config, log: Log, inProcess: InProcessSink): EventSink {
  switch (destination) {
    case 'in-process':
      return inProcess;
    case 'rabbitmq':
      return new RabbitmqSink({ url: config.amqpUrl, log, exchange: config.relayAmqpExchange });
    case 'nats':
      return new NatsSink({
        url: config.natsUrl,
        log,
        stream: config.relayNatsStream,
        subject: config.relayNatsSubject,
        timeoutMs: config.relayPublishTimeoutMs,
      });
  }
}
