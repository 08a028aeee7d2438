import type { Channel, Connection, SyncMessage } from 'rabbitmq-client';
import { bodyBytes, ConfirmedPublisher, copyOf, ownHeaders } from './confirmed-publisher.js';
import {
  attemptsHeader,
  errorCodeHeader,
  errorMessageHeader,
  failedAtHeader,
  queueDeclarations,
  type ReturnsTopology,
} from './returns-topology.js';

// The operator's view of the dead-letter queue: list, show and replay. Reading takes messages
// without acknowledging them and hands every one not replayed back when done (a nack with
// requeue, then the channel closes, which would return them anyway), so a listing, even one
// that crashes, loses nothing. A replay publishes a copy to the main queue with its attempts
// reset and acknowledges the dead letter only after the broker confirms the copy.

/** Most dead letters one listing reads. */
export const deadLettersListedMax = 1000;
/** Most dead letters one replay (of an id, or of all) moves. */
export const deadLettersReplayedMax = 100_000;

export interface DeadLetter {
  readonly messageId: string | undefined;
  /** Failed attempts (the consumer's count); 0 when the broker dead-lettered it without one. */
  readonly attempts: number;
  /** MALFORMED, an error code, or the broker's reason (`delivery_limit`) when the consumer gave none. */
  readonly code: string;
  readonly reason: string;
  readonly failedAt: number | undefined;
  readonly body: string;
  readonly headers: Readonly<Record<string, unknown>>;
}

function deadLetterOf(message: SyncMessage): DeadLetter {
  const headers = message.headers ?? {};
  const text = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined);
  const attempts = headers[attemptsHeader];
  const failedAt = headers[failedAtHeader];
  return {
    messageId: message.messageId,
    attempts: typeof attempts === 'number' ? attempts : 0,
    code: text(errorCodeHeader) ?? text('x-first-death-reason') ?? 'unknown',
    reason: text(errorMessageHeader) ?? '',
    failedAt: typeof failedAt === 'number' ? failedAt : undefined,
    body: bodyBytes(message).toString('utf8'),
    headers,
  };
}

/** What a replay leaves of a dead letter's headers: its own, without the failed attempts. */
function replayHeaders(message: SyncMessage): Record<string, unknown> {
  const headers = ownHeaders(message);
  for (const name of [attemptsHeader, errorCodeHeader, errorMessageHeader, failedAtHeader]) delete headers[name];
  return headers;
}

export class DeadLetters {
  private readonly connection: Connection;
  private readonly topology: ReturnsTopology;

  constructor(connection: Connection, topology: ReturnsTopology) {
    this.connection = connection;
    this.topology = topology;
  }

  /** The dead letters in queue order (at most `max`), and how many the queue holds. */
  async list(max = deadLettersListedMax): Promise<{ letters: DeadLetter[]; total: number }> {
    const letters: DeadLetter[] = [];
    const total = await this.scan(max, async (message) => {
      letters.push(deadLetterOf(message));
      return false;
    });
    return { letters, total };
  }

  /** Every dead letter with this message id (a message may have been dead-lettered twice). */
  async show(messageId: string): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    await this.scan(deadLettersReplayedMax, async (message) => {
      if (message.messageId === messageId) letters.push(deadLetterOf(message));
      return false;
    });
    return letters;
  }

  /** Moves the dead letters with this message id (every one: undefined) to the main queue; returns how many. */
  async replay(messageId: string | undefined): Promise<number> {
    const publisher = new ConfirmedPublisher(this.connection);
    let replayed = 0;
    try {
      await this.scan(deadLettersReplayedMax, async (message) => {
        if (messageId !== undefined && message.messageId !== messageId) return false;
        await publisher.publish(this.topology.main, copyOf(message, replayHeaders(message)), bodyBytes(message));
        replayed += 1;
        return true;
      });
    } finally {
      await publisher.close();
    }
    return replayed;
  }

  /**
   * Takes up to `max` of the messages the queue holds now (not those dead-lettered meanwhile,
   * such as a replayed message that failed again) and acknowledges those `visit` says it took.
   * Returns how many messages the queue held.
   */
  private async scan(max: number, visit: (message: SyncMessage) => Promise<boolean>): Promise<number> {
    const channel: Channel = await this.connection.acquire();
    try {
      // Declared as the consumer declares them (a no-op when they exist), so that a broker the
      // consumer never reached answers with an empty queue rather than NOT_FOUND.
      let messageCount = 0;
      for (const declaration of queueDeclarations(this.topology)) {
        const declared = await channel.queueDeclare(declaration);
        if (declaration.queue === this.topology.dead) messageCount = declared.messageCount;
      }
      for (let taken = 0; taken < Math.min(messageCount, max); taken += 1) {
        const message = await channel.basicGet({ queue: this.topology.dead, noAck: false });
        if (message === undefined) break;
        if (await visit(message)) channel.basicAck({ deliveryTag: message.deliveryTag });
      }
      return messageCount;
    } finally {
      if (channel.active) {
        channel.basicNack({ deliveryTag: 0, multiple: true, requeue: true });
        await channel.close();
      }
    }
  }
}
