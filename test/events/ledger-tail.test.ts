import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../src/domain/index.js';
import { followLedger } from '../../src/events/ledger-tail.js';
import { InProcessSink } from '../../src/events/relay/in-process-sink.js';
import { silentLog } from '../../src/log.js';

// followLedger against a ledger held in an array and the in-process relay's real sink: whatever
// the interleaving of history, live pages, a consumer that stalls (its queue overflowing) and a
// follower that joins between two pages, every position comes once, in order.

function ledgerOf(events: LedgerEvent[]) {
  return {
    readLedger: async (after: number, limit: number) =>
      events.filter((event) => event.position > after).slice(0, limit),
  };
}

const event = (position: number) => ({ position, type: 'StockReceived', sku: 'S', location: 'L' }) as LedgerEvent;

/** Appends `count` events and hands them to the sink in pages of `pageSize`, as the relay would. */
async function commit(events: LedgerEvent[], sink: InProcessSink, count: number, pageSize: number) {
  const fresh = Array.from({ length: count }, (_, index) => event(events.length + index + 1));
  events.push(...fresh);
  for (let start = 0; start < fresh.length; start += pageSize) await sink.publish(fresh.slice(start, start + pageSize));
}

describe('following the ledger', () => {
  it('gives history, then live pages, each position once, through a stalled consumer and overflows', async () => {
    const events: LedgerEvent[] = [];
    const sink = new InProcessSink(silentLog);
    const pageMax = 8;
    await commit(events, sink, 30, 5);
    const stop = new AbortController();
    const seen: number[] = [];
    const follower = (async () => {
      for await (const page of followLedger(
        { source: ledgerOf(events), feed: sink, pageMax, idleReadMs: 60_000 },
        3,
        stop.signal,
      )) {
        seen.push(...page.map((e) => e.position));
        // Stalls now and then: live pages pile up beyond pageMax and the queue is dropped.
        if (seen.length % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        if (seen.at(-1) === 230) stop.abort();
      }
    })();
    for (let round = 0; round < 20; round += 1) {
      await commit(events, sink, 10, 1 + (round % 4));
      await new Promise((resolve) => setTimeout(resolve, round % 2));
    }
    // The idle read is a minute away: only the follower's own gap handling can bring it there in time.
    const late = setTimeout(() => stop.abort(), 5_000);
    await follower;
    clearTimeout(late);
    expect(seen).toEqual(Array.from({ length: 227 }, (_, index) => index + 4));
  });

  it('reads what its overflowing queue dropped as soon as its consumer asks again', async () => {
    const events: LedgerEvent[] = [];
    const sink = new InProcessSink(silentLog);
    await commit(events, sink, 4, 4);
    const stop = new AbortController();
    const pages = followLedger(
      { source: ledgerOf(events), feed: sink, pageMax: 8, idleReadMs: 60_000 },
      0,
      stop.signal,
    );
    expect((await pages.next()).value?.map((e: LedgerEvent) => e.position)).toEqual([1, 2, 3, 4]);
    // The consumer holds off while 20 events come live: more than the queue keeps.
    await commit(events, sink, 20, 5);
    const seen: number[] = [];
    const late = setTimeout(() => stop.abort(), 2_000);
    while (seen.at(-1) !== 24) {
      const next = await pages.next();
      if (next.done === true) break;
      seen.push(...next.value.map((e) => e.position));
    }
    clearTimeout(late);
    await pages.return(undefined);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, index) => index + 5));
  });

  it('reads the store when no feed is there, every idle interval', async () => {
    const events: LedgerEvent[] = [];
    const sink = new InProcessSink(silentLog);
    await commit(events, sink, 3, 3);
    const stop = new AbortController();
    const seen: number[] = [];
    const follower = (async () => {
      for await (const page of followLedger(
        { source: ledgerOf(events), feed: undefined, pageMax: 2, idleReadMs: 10 },
        0,
        stop.signal,
      )) {
        seen.push(...page.map((e) => e.position));
        if (seen.at(-1) === 6) stop.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 30));
    events.push(event(4), event(5), event(6));
    await follower;
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
