import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Connection } from 'rabbitmq-client';
import type { Config } from '../config.js';
import type { CommandExecutor } from '../engine/executor.js';
import { type JobLease, ReconciliationJob, recordVerifyRun } from '../events/reconciliation/reconciliation-job.js';
import { ReturnsConsumer } from '../events/returns/returns-consumer.js';
import { type ReturnsTopology, returnsTopology } from '../events/returns/returns-topology.js';
import type { Log } from '../log.js';
import type { Store } from '../store/port.js';

// The event side's long-running parts of `skuld serve`, made from the configuration: the returns
// consumer (with SKULD_AMQP_URL) and the scheduled reconciliation (with SKULD_RECONCILE_SCHEDULE).
// Nothing connects or runs until start(), so commands that only migrate or verify never do.

/** The lease's name in the store's leases table: one reconciliation schedule per database. */
export const reconciliationLeaseName = 'reconciliation';
/** The actor of the reports the schedule records. */
const reconciliationActor = 'reconciliation';

/** A RabbitMQ connection that reconnects by itself; its errors are logged, never thrown. */
export function amqpConnection(config: Pick<Config, 'amqpUrl'>, log: Log): Connection {
  const connection = new Connection({ url: config.amqpUrl, connectionName: 'skuld' });
  connection.on('error', (error: unknown) => log.error({ err: error }, 'RabbitMQ connection error'));
  return connection;
}

export function returnsTopologyOf(config: Pick<Config, 'returnsQueue' | 'returnsRetryDelaysMs'>): ReturnsTopology {
  return returnsTopology(config.returnsQueue, config.returnsRetryDelaysMs);
}

/** The reconciliation lease as this process holds it: its holder name is unique per process. */
function reconciliationLease(store: Store): JobLease {
  const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  return {
    acquire: (now, until) => store.leases.acquire(reconciliationLeaseName, holder, now, until),
    release: () => store.leases.release(reconciliationLeaseName, holder),
  };
}

export interface EventJobs {
  /** The scheduled reconciliation, when SKULD_RECONCILE_SCHEDULE sets one. */
  readonly reconciliation: ReconciliationJob | undefined;
  /** Starts what is configured: the returns consumer when SKULD_AMQP_URL is set, the schedule. */
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
  const { store, log } = parts;
  const reconciliation =
    config.reconcileSchedule === ''
      ? undefined
      : new ReconciliationJob({
          schedule: config.reconcileSchedule,
          lease: reconciliationLease(store),
          run: async () => {
            const report = await recordVerifyRun(store, reconciliationActor, Date.now());
            const line = { report: report.id, findings: report.findings };
            if (report.findings > 0) log.error(line, report.summary);
            else log.info(line, report.summary);
          },
          log,
        });
  return {
    reconciliation,
    start() {
      reconciliation?.start();
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
      await reconciliation?.stop();
      await returns?.close();
      await connection?.close();
      returns = undefined;
      connection = undefined;
    },
  };
}
