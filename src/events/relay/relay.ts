import type { LedgerEvent } from '../../domain/index.js';
import type { Log } from '../../log.js';
import type { StoreReads } from '../../store/port.js';

// The relay: the ledger is the outbox. Positions are gap-free and become visible in position
// order (the engine claims them under the ledger head's lock, held to commit), so a relay needs
// nothing but a checkpoint: it reads the events after it, publishes them in order, waits for the
// destination to confirm every one, and only then moves the checkpoint. A crash between the two
// publishes a page again: delivery is at least once, and consumers dedupe by position (or by the
// event's id, which is the same event in every copy).

/** Where a relay publishes: a broker, a stream, this process's listeners. */
export interface EventSink {
  /** Names the destination in leases, logs and metrics: `rabbitmq`, `nats`, `in-process`. */
  readonly destination: string;
  /** Publishes the events in order; resolves once the destination has confirmed every one. */
  publish(events: readonly LedgerEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** Whether this relay may publish now, and from where: a lease across instances, or this process alone. */
export interface RelayClaim {
  /** The position to publish after while this relay holds its destination; null while another does. */
  hold(now: number): Promise<number | null>;
  /** Records that everything up to `position` is published; false when the claim was lost meanwhile. */
  advance(position: number, now: number): Promise<boolean>;
  release(): Promise<void>;
}

export type RelayState = 'starting' | 'active' | 'standby' | 'failing' | 'stopped';

export interface RelayStatus {
  readonly destination: string;
  readonly state: RelayState;
  /** The last position published and confirmed by this relay (its checkpoint while active). */
  readonly position: number;
  readonly published: number;
  readonly failures: number;
  readonly lastError: string | null;
}

export interface RelayOptions {
  readonly source: Pick<StoreReads, 'readLedger'>;
  readonly sink: EventSink;
  readonly claim: RelayClaim;
  readonly clock: () => number;
  readonly log: Log;
  /** Most events read and published at once. */
  readonly pageMax: number;
  /** Pause when the ledger has nothing new, or another instance holds the destination. */
  readonly pollMs: number;
  /** A publish not confirmed in this time has failed: a broker that vanished must not stall the relay. */
  readonly publishTimeoutMs: number;
  /** Longest pause between attempts after failures (they double from pollMs). */
  readonly retryMsMax: number;
}

export class Relay {
  private readonly options: RelayOptions;
  private state: RelayState = 'starting';
  private position = 0;
  private published = 0;
  private failures = 0;
  private failingSince = 0;
  private lastError: string | null = null;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(options: RelayOptions) {
    this.options = options;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // A relay pausing between rounds stops at once, not at the end of its pause.
    this.wake?.();
    await this.running;
    await this.options.claim.release().catch((error: unknown) => {
      this.options.log.warn({ err: error, destination: this.destination }, 'relay: lease not released');
    });
    await this.options.sink.close();
    this.state = 'stopped';
  }

  get destination(): string {
    return this.options.sink.destination;
  }

  status(): RelayStatus {
    const { state, position, published, failures, lastError } = this;
    return { destination: this.destination, state, position, published, failures, lastError };
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.step();
      } catch (error) {
        await this.failed(error);
      }
    }
  }

  /** One round: hold the destination, read a page after the checkpoint, publish, advance. */
  private async step(): Promise<void> {
    const { claim, source, sink, clock, pageMax, pollMs, publishTimeoutMs } = this.options;
    const after = await claim.hold(clock());
    if (after === null) {
      this.state = 'standby';
      await this.pause(pollMs);
      return;
    }
    this.position = after;
    const page = await source.readLedger(after, pageMax);
    if (page.length === 0) {
      this.recovered();
      await this.pause(pollMs);
      return;
    }
    await withTimeout(
      sink.publish(page),
      publishTimeoutMs,
      `${sink.destination} did not confirm within ${publishTimeoutMs} ms`,
    );
    const last = (page[page.length - 1] as LedgerEvent).position;
    if (!(await claim.advance(last, clock()))) {
      this.options.log.warn({ destination: sink.destination, position: last }, 'relay: lease lost; standing by');
      return;
    }
    this.position = last;
    this.published += page.length;
    this.recovered();
  }

  private recovered(): void {
    if (this.state === 'failing') {
      this.options.log.info(
        { destination: this.destination, failedMs: this.options.clock() - this.failingSince },
        'relay: publishing again',
      );
    }
    this.state = 'active';
    this.failures = 0;
  }

  /** A failure is logged and counted, and the same page is tried again after a growing pause. */
  private async failed(error: unknown): Promise<void> {
    if (this.state !== 'failing') this.failingSince = this.options.clock();
    this.state = 'failing';
    this.failures += 1;
    this.lastError = error instanceof Error ? error.message : String(error);
    const { pollMs, retryMsMax, log } = this.options;
    const pauseMs = Math.min(retryMsMax, pollMs * 2 ** Math.min(this.failures, 16));
    log.error(
      { err: error, destination: this.destination, failures: this.failures, retryInMs: pauseMs },
      'relay: publish failed',
    );
    await this.pause(pauseMs);
  }

  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }
}

/** The promise, or a rejection once `ms` have passed; a late settlement is ignored. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
