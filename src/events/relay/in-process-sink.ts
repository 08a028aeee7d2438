import type { LedgerEvent } from '../../domain/index.js';
import type { Log } from '../../log.js';
import type { EventSink } from './relay.js';

/** Called with each page of committed events, in position order. */
export type EventListener = (events: readonly LedgerEvent[]) => void;

/**
 * The default destination: listeners in this process (a live view, a cache, a test), each page
 * handed to every one in order. A listener that throws is logged and does not hold the others up
 * or fail the page: it is its own consumer.
 */
export class InProcessSink implements EventSink {
  readonly destination = 'in-process';
  private readonly listeners = new Set<EventListener>();
  private readonly log: Log;

  constructor(log: Log) {
    this.log = log;
  }

  /** Adds a listener; returns what removes it. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async publish(events: readonly LedgerEvent[]): Promise<void> {
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (error) {
        this.log.error({ err: error }, 'relay: an in-process listener failed');
      }
    }
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
