import { Connection } from 'rabbitmq-client';
import type { Config } from '../config.js';
import type { CommandExecutor } from '../engine/executor.js';
import { ReturnsConsumer } from '../events/returns/returns-consumer.js';
import { type ReturnsTopology, returnsTopology } from '../events/returns/returns-topology.js';
import type { Log } from '../log.js';
import type { Store } from '../store/port.js';

// The event side's long-running parts of `skuld serve`, made from the configuration: the returns
// consumer (with SKULD_AMQP_URL). Nothing connects until start(), so commands that only migrate
// or verify never reach for a broker.

/** A RabbitMQ connection that reconnects by itself; its errors are logged, never thrown. */
export function amqpConnection(config: Pick<Config, 'amqpUrl'>, log: Log): Connection {
  const connection = new Connection({ url: config.amqpUrl, connectionName: 'skuld' });
  connection.on('error', (error: unknown) => log.error({ err: error }, 'RabbitMQ connection error'));
  return connection;
}

export function returnsTopologyOf(config: Pick<Config, 'returnsQueue' | 'returnsRetryDelaysMs'>): ReturnsTopology {
  return returnsTopology(config.returnsQueue, config.returnsRetryDelaysMs);
}

export interface EventJobs {
  /** Starts what is configured: the returns consumer when SKULD_AMQP_URL is set. */
  start(): void;
  /** Stops taking messages and waits for those in hand: call it before the executor closes. */
  close(): Promise<void>;
}

export function createEventJobs(
  config: Config,
  parts: { readonly store: Store; readonly engine: CommandExecutor; readonly log: Log },
): EventJobs {
  let connection: Connection | undefined;
  let returns: ReturnsConsumer | undefined;
  return {
    start() {
      if (config.amqpUrl === '' || returns !== undefined) return;
      connection = amqpConnection(config, parts.log);
      returns = new ReturnsConsumer(connection, parts.engine, parts.store, {
        topology: returnsTopologyOf(config),
        attemptsMax: config.returnsAttemptsMax,
        concurrency: config.returnsConcurrency,
        log: parts.log,
      });
      // Not awaited: with RabbitMQ down the consumer waits for it, and serving must not.
      void returns.start();
    },
    async close() {
      await returns?.close();
      await connection?.close();
      returns = undefined;
      connection = undefined;
    },
  };
}
