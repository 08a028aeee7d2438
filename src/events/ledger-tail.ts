import type { LedgerEvent } from '../domain/index.js';
import type { StoreReads } from '../store/port.js';

// Following the ledger from a position, for a stream that never ends (the HTTP event stream).
// The history is read from the store a page at a time, at the reader's pace. Once caught up, the
// follower takes the pages this process's in-process relay hands its listeners: that relay
// already reads every commit of every instance (one query per poll for the whole process), so a
// thousand followers cost no more store reads than one. Pages are contiguous and in position
// order (the ledger's positions are gap-free and visible in commit order), so a follower that
// finds a page starting past its cursor knows it missed some (it joined between two pages, or
// its queue overflowed) and reads the gap from the store.

/** Pages of committed events as they are relayed in this process (the in-process relay's listeners). */
export interface LedgerFeed {
  subscribe(listener: (events: readonly LedgerEvent[]) => void): () => void;
}

export interface LedgerTailOptions {
  readonly source: Pick<StoreReads, 'readLedger'>;
  /** The in-process relay's pages; undefined when this process runs no in-process relay. */
  readonly feed: LedgerFeed | undefined;
  /** Most events read from the store at once (and the most a follower keeps queued from the feed). */
  readonly pageMax: number;
  /**
   * How long a caught-up follower waits before it reads the store anyway. With a feed this only
   * covers a relay that has stopped; without one it is how fresh the follower is.
   */
  readonly idleReadMs: number;
}

/** A caught-up follower reads the store this often anyway when the in-process relay feeds it (a stopped relay). */
const feedSafetyReadMs = 1_000;

/** What a process's followers need: its store, its relay settings, and its in-process relay's feed. */
export interface TailSource {
  readonly config: { readonly relay: readonly string[]; readonly relayPageMax: number; readonly relayPollMs: number };
  readonly store: Pick<StoreReads, 'readLedger'>;
  readonly relays: { readonly inProcess: LedgerFeed };
}

/**
 * How this process follows the ledger: on the in-process relay's pages when it runs one (no store
 * read per follower), else by reading the store at the relays' poll interval.
 */
export function tailOptionsOf({ config, store, relays }: TailSource): LedgerTailOptions {
  const inProcess = config.relay.includes('in-process');
  return {
    source: store,
    feed: inProcess ? relays.inProcess : undefined,
    pageMax: config.relayPageMax,
    idleReadMs: inProcess ? feedSafetyReadMs : config.relayPollMs,
  };
}

/**
 * Yields pages of events after `after`, in position order with no gap and no repeat, until
 * `signal` aborts. The caller consumes at its own pace: while it does not ask for the next page,
 * at most `pageMax` events wait in memory (beyond, the queue is dropped and the gap read from the
 * store later), so a slow consumer never makes memory grow.
 */
export async function* followLedger(
  options: LedgerTailOptions,
  after: number,
  signal: AbortSignal,
): AsyncGenerator<readonly LedgerEvent[]> {
  const { source, feed, pageMax, idleReadMs } = options;
  const queue = new FeedQueue(pageMax);
  const unsubscribe = feed?.subscribe((events) => queue.push(events));
  let cursor = after;
  try {
    while (!signal.aborted) {
      const queued = queue.takeAfter(cursor);
      if (queued !== undefined) {
        cursor = (queued.at(-1) as LedgerEvent).position;
        yield queued;
        continue;
      }
      if (queue.takeGap() || feed === undefined) {
        const page = await source.readLedger(cursor, pageMax);
        if (page.length > 0) {
          cursor = (page.at(-1) as LedgerEvent).position;
          queue.readUpTo(cursor);
          yield page;
        }
        // A full page: there may be more behind it.
        if (page.length === pageMax) queue.markGap();
      }
      if (signal.aborted || queue.hasWork()) continue;
      await queue.arrival(idleReadMs, signal);
    }
  } finally {
    unsubscribe?.();
  }
}

/**
 * The feed's pages a follower has not taken yet: at most `eventsMax` events, contiguous. An
 * overflow or a page that does not continue the queue drops it and marks the store to be read.
 */
class FeedQueue {
  private readonly eventsMax: number;
  private events: LedgerEvent[] = [];
  /** Set when events may be missing between the cursor and the queue: the store is read first. */
  private gap = true;
  private wake: (() => void) | undefined;

  constructor(eventsMax: number) {
    this.eventsMax = eventsMax;
  }

  push(page: readonly LedgerEvent[]): void {
    const last = this.events.at(-1);
    const first = page[0];
    if (first === undefined) return;
    if (last !== undefined && first.position !== last.position + 1) {
      this.dropAll();
    } else if (this.events.length + page.length > this.eventsMax) {
      this.dropAll();
    } else {
      this.events.push(...page);
    }
    this.wake?.();
  }

  /** The queued events after the cursor when they continue it; undefined when there are none or the store must be read. */
  takeAfter(cursor: number): LedgerEvent[] | undefined {
    const fresh = this.events.filter((event) => event.position > cursor);
    this.events = [];
    if (fresh.length === 0) return undefined;
    if ((fresh[0] as LedgerEvent).position !== cursor + 1) {
      this.gap = true;
      return undefined;
    }
    return fresh;
  }

  /** Whether the store must be read before the queue can be trusted; clears the mark. */
  takeGap(): boolean {
    const gap = this.gap;
    this.gap = false;
    return gap;
  }

  markGap(): void {
    this.gap = true;
  }

  /** The store has been read up to `position`: queued events up to it are done. */
  readUpTo(position: number): void {
    this.events = this.events.filter((event) => event.position > position);
  }

  /** Whether a page is queued or the store must be read: no need to wait. */
  hasWork(): boolean {
    return this.events.length > 0 || this.gap;
  }

  /** Resolves when a page arrives, after `waitMs`, or when the signal aborts. */
  arrival(waitMs: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(() => {
        // Nothing came in time: read the store in case the relay stopped.
        this.gap = true;
        done();
      }, waitMs);
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private dropAll(): void {
    this.events = [];
    this.gap = true;
  }
}
