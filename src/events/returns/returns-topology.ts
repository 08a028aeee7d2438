// The queues of returns on RabbitMQ: the main queue the consumer reads, one retry queue per
// backoff tier, and the dead-letter queue an operator inspects and replays from. All are quorum
// queues (replicated, and the only kind with a delivery limit); RabbitMQ 3.10 has no
// delayed-message plugin, so a delay is a queue whose messages expire into the main queue.

export interface ReturnsTopology {
  readonly main: string;
  /** One queue per delay, shortest first: a message waits there, then expires into `main`. */
  readonly retries: readonly { readonly queue: string; readonly delayMs: number }[];
  readonly dead: string;
}

/**
 * Deliveries of one enqueued message before the broker dead-letters it. Failed attempts do not
 * count here (each one is a new message in a retry queue, counted in `attemptsHeader`): this
 * bounds only what never reaches a verdict, such as a consumer that dies with the message in
 * hand, or a republish that keeps failing. RabbitMQ 3.x also counts the prefetched messages a
 * closing channel returns, so the limit stays well above a few restarts' worth.
 */
export const mainDeliveryLimit = 20;
/**
 * Listing the dead letters takes them and hands them back, which a quorum queue counts as a
 * delivery; RabbitMQ 4 drops a message past its default limit of 20. This limit is explicit
 * and far beyond any number of inspections, so a dead letter leaves only by replay.
 */
export const deadDeliveryLimit = 1_000_000;
/** Most backoff tiers (retry queues). */
export const retryTiersMax = 10;

/** Failed attempts so far; set by the consumer when it republishes, reset by a replay. */
export const attemptsHeader = 'x-skuld-attempts';
/** The stable code of the last failure: MALFORMED, or an error code (UNKNOWN_ITEM, UNAVAILABLE…). */
export const errorCodeHeader = 'x-skuld-error';
export const errorMessageHeader = 'x-skuld-error-message';
/** When the last attempt failed (epoch ms). */
export const failedAtHeader = 'x-skuld-failed-at';

export function returnsTopology(queue: string, retryDelaysMs: readonly number[]): ReturnsTopology {
  const delays = [...new Set(retryDelaysMs)].sort((a, b) => a - b).slice(0, retryTiersMax);
  return {
    main: queue,
    // The delay is in the name: a queue's arguments cannot change once declared, so another
    // delay is another queue, and the old one still drains into the main queue.
    retries: delays.map((delayMs) => ({ queue: `${queue}.retry.${delayMs}ms`, delayMs })),
    dead: `${queue}.dead`,
  };
}

/** The retry queue of the attempt that just failed (1 for the first): later attempts wait longer. */
export function retryQueueOf(topology: ReturnsTopology, failedAttempts: number): string | undefined {
  const tiers = topology.retries;
  if (tiers.length === 0) return undefined;
  return tiers[Math.min(failedAttempts, tiers.length) - 1]?.queue;
}

export interface QueueDeclaration {
  readonly queue: string;
  readonly durable: true;
  readonly arguments: Record<string, string | number>;
}

/** Dead-lettering that waits for the target queue's confirm, so nothing is lost between queues. */
function deadLetterTo(queue: string): Record<string, string> {
  return {
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': queue,
    'x-dead-letter-strategy': 'at-least-once',
    // At-least-once dead-lettering needs this overflow mode (RabbitMQ refuses it with drop-head).
    'x-overflow': 'reject-publish',
  };
}

export function queueDeclarations(topology: ReturnsTopology): QueueDeclaration[] {
  const quorum = { 'x-queue-type': 'quorum' };
  return [
    { queue: topology.dead, durable: true, arguments: { ...quorum, 'x-delivery-limit': deadDeliveryLimit } },
    ...topology.retries.map(({ queue, delayMs }) => ({
      queue,
      durable: true as const,
      arguments: { ...quorum, 'x-message-ttl': delayMs, ...deadLetterTo(topology.main) },
    })),
    mainDeclaration(topology),
  ];
}

export function mainDeclaration(topology: ReturnsTopology): QueueDeclaration {
  return {
    queue: topology.main,
    durable: true,
    arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': mainDeliveryLimit, ...deadLetterTo(topology.dead) },
  };
}
