import { type Connection, type Consumer, ConsumerStatus } from 'rabbitmq-client';
import type { ErrorCode, ReturnStock } from '../../domain/index.js';
import type { CommandExecutor } from '../../engine/executor.js';
import type { Log } from '../../log.js';
import type { StoreReads } from '../../store/port.js';
import { bodyBytes, ConfirmedPublisher, copyOf, ownHeaders, type QueuedMessage } from './confirmed-publisher.js';
import { parseReturnMessage } from './return-message.js';
import {
  attemptsHeader,
  errorCodeHeader,
  errorMessageHeader,
  failedAtHeader,
  mainDeclaration,
  queueDeclarations,
  type ReturnsTopology,
  retryQueueOf,
} from './returns-topology.js';

// Returns that arrive as messages become ReturnStock commands whose id is the message's id, so a
// message delivered twice (a redelivery, a replay, a duplicate publish) changes stock once. A
// failure that time may cure is retried through the backoff queues; one that it cannot cure, or
// the last allowed attempt, goes to the dead-letter queue with its reason.

export interface ReturnsConsumerOptions {
  readonly topology: ReturnsTopology;
  /** Attempts before a message that keeps failing is dead-lettered (1: no retry). */
  readonly attemptsMax: number;
  /** Messages handled at once; twice as many are prefetched. */
  readonly concurrency: number;
  readonly log: Log;
  readonly clock?: () => number;
}

/** Refusals that a later attempt may not meet: the store or the engine was out of reach or busy. */
const transientCodes: ReadonlySet<ErrorCode> = new Set([
  'UNAVAILABLE',
  'OVERLOADED',
  'CONCURRENCY_CONFLICT',
  'INTERNAL',
]);

export type Verdict =
  | { readonly kind: 'applied'; readonly replayed: boolean }
  | { readonly kind: 'retry' | 'dead'; readonly code: string; readonly message: string };

export interface ReturnsStats {
  applied: number;
  /** Messages whose command had taken effect already (a redelivery or a replay). */
  duplicates: number;
  retried: number;
  deadLettered: number;
  /** Handlings that threw (a republish that failed): the message went back to the queue. */
  errors: number;
}

export class ReturnsConsumer {
  private readonly connection: Connection;
  private readonly executor: CommandExecutor;
  private readonly items: Pick<StoreReads, 'getItem'>;
  private readonly options: ReturnsConsumerOptions;
  private readonly publisher: ConfirmedPublisher;
  private readonly actor: string;
  private consumer: Consumer | undefined;
  private redeclare: (() => void) | undefined;
  private started: Promise<void> = Promise.resolve();
  readonly stats: ReturnsStats = { applied: 0, duplicates: 0, retried: 0, deadLettered: 0, errors: 0 };

  constructor(
    connection: Connection,
    executor: CommandExecutor,
    items: Pick<StoreReads, 'getItem'>,
    options: ReturnsConsumerOptions,
  ) {
    this.connection = connection;
    this.executor = executor;
    this.items = items;
    this.options = options;
    this.publisher = new ConfirmedPublisher(connection);
    // The ledger's actor is the consumer's own principal, whatever the message says.
    this.actor = `amqp:${options.topology.main}`;
  }

  /**
   * Declares the queues and starts consuming; resolves once the consumer is ready (never while
   * RabbitMQ is out of reach: the client keeps reconnecting, so a caller need not wait).
   */
  start(): Promise<void> {
    if (this.consumer !== undefined) return this.started;
    const { topology, concurrency, log } = this.options;
    const declarations = queueDeclarations(topology);
    const consumer = this.connection.createConsumer(
      {
        queue: topology.main,
        queueOptions: mainDeclaration(topology),
        // Both set on purpose: the client's defaults are no bound and requeue-on-throw.
        concurrency,
        qos: { prefetchCount: concurrency * 2 },
        // A handler throws only when the republish that records a verdict fails (RabbitMQ in
        // trouble): the message must stay in the queue, and the delivery limit bounds the loop.
        requeue: true,
        lazy: true,
      },
      (message) => this.handle(message),
    );
    consumer.on('error', (error: unknown) =>
      log.error({ err: error, queue: topology.main }, 'the returns consumer failed'),
    );
    this.started = new Promise<void>((resolve) => consumer.once('ready', () => resolve()));
    // Every queue, on every (re)connection, before consuming: the dead-letter and retry queues
    // must exist before the first message is routed to them.
    const declare = () =>
      this.declare(declarations).catch((error: unknown) =>
        log.error({ err: error, queue: topology.main }, 'the returns queues could not be declared'),
      );
    void declare().then(() => consumer.start());
    this.redeclare = () => void declare();
    this.connection.on('connection', this.redeclare);
    this.consumer = consumer;
    return this.started;
  }

  /** Stops taking messages and waits for those in hand; call before the executor closes. */
  async close(): Promise<void> {
    if (this.redeclare !== undefined) this.connection.off('connection', this.redeclare);
    await this.consumer?.close();
    this.consumer = undefined;
    await this.publisher.close();
  }

  private async declare(declarations: ReturnType<typeof queueDeclarations>): Promise<void> {
    for (const declaration of declarations) await this.connection.queueDeclare(declaration);
  }

  /** One delivery: decide it, then record the verdict (a republish) before acknowledging it. */
  async handle(message: QueuedMessage): Promise<ConsumerStatus> {
    const attempts = failedAttempts(message) + 1;
    const verdict = await this.decide(message);
    const { log, attemptsMax, topology } = this.options;
    if (verdict.kind === 'applied') {
      if (verdict.replayed) this.stats.duplicates += 1;
      else this.stats.applied += 1;
      return ConsumerStatus.ACK;
    }
    const retryQueue =
      verdict.kind === 'retry' && attempts < attemptsMax ? retryQueueOf(topology, attempts) : undefined;
    const context = { messageId: message.messageId, attempts, code: verdict.code, reason: verdict.message };
    try {
      if (retryQueue !== undefined) {
        await this.republish(message, retryQueue, attempts, verdict);
        this.stats.retried += 1;
        log.warn({ ...context, retryQueue }, 'a return failed; it will be retried');
      } else {
        await this.republish(message, topology.dead, attempts, verdict);
        this.stats.deadLettered += 1;
        log.error(context, 'a return was dead-lettered');
      }
    } catch (error) {
      this.stats.errors += 1;
      throw error;
    }
    return ConsumerStatus.ACK;
  }

  private async decide(message: QueuedMessage): Promise<Verdict> {
    const parsed = parseReturnMessage(message.messageId, message.body, this.actor);
    if (!parsed.ok) return { kind: 'dead', code: 'MALFORMED', message: parsed.reason };
    return this.apply(parsed.command);
  }

  private async apply(command: ReturnStock): Promise<Verdict> {
    // An unknown item is refused by the engine and that refusal is stored under the command id,
    // which would answer every later attempt. The item is looked up first instead: items are
    // never removed, so one found now is there when the engine decides.
    try {
      if ((await this.items.getItem(command.sku)) === undefined) {
        return { kind: 'retry', code: 'UNKNOWN_ITEM', message: `item ${command.sku} is not registered` };
      }
    } catch (error) {
      return { kind: 'retry', code: 'UNAVAILABLE', message: (error as Error).message };
    }
    const { outcome, replayed } = await this.executor.execute(command);
    if (outcome.ok) return { kind: 'applied', replayed };
    const { code, message } = outcome.error;
    // A stored refusal is the command's first result for good: a resend is answered the same.
    const kind = !replayed && transientCodes.has(code) ? 'retry' : 'dead';
    return { kind, code, message };
  }

  private republish(
    message: QueuedMessage,
    queue: string,
    attempts: number,
    verdict: Exclude<Verdict, { kind: 'applied' }>,
  ) {
    const headers = {
      ...ownHeaders(message),
      [attemptsHeader]: attempts,
      [errorCodeHeader]: verdict.code,
      [errorMessageHeader]: verdict.message,
      [failedAtHeader]: (this.options.clock ?? Date.now)(),
    };
    return this.publisher.publish(queue, copyOf(message, headers), bodyBytes(message));
  }
}

/** Failed attempts recorded on the message by earlier handlings (none on a first delivery). */
export function failedAttempts(message: QueuedMessage): number {
  const value = message.headers?.[attemptsHeader];
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;
}
