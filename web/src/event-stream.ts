import { createParser } from 'eventsource-parser';
import { authHeaders, type LedgerEvent } from './api';

// The ledger's live stream (GET /v1/events/stream). EventSource cannot send the Authorization
// header, so the stream is read with fetch() and parsed by eventsource-parser. When it ends or
// fails, it is opened again after a second with Last-Event-ID: the server resumes right after
// the last event received, so nothing is missed and nothing comes twice.

const reconnectMs = 1_000;

export interface StreamHandlers {
  onEvents(events: LedgerEvent[]): void;
  onState(state: 'connecting' | 'live' | 'retrying', detail?: string): void;
}

/** Follows the ledger after `after` until the returned function is called. */
export function followEvents(after: number, handlers: StreamHandlers): () => void {
  const stop = new AbortController();
  let last = after;
  const run = async () => {
    while (!stop.signal.aborted) {
      handlers.onState('connecting');
      try {
        await readOnce(last, stop.signal, handlers, (position) => {
          last = position;
        });
        handlers.onState('retrying', 'the stream ended');
      } catch (error) {
        if (stop.signal.aborted) return;
        handlers.onState('retrying', error instanceof Error ? error.message : String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, reconnectMs));
    }
  };
  void run();
  return () => stop.abort();
}

async function readOnce(
  after: number,
  signal: AbortSignal,
  handlers: StreamHandlers,
  seen: (position: number) => void,
): Promise<void> {
  const headers = { ...authHeaders(), accept: 'text/event-stream', 'last-event-id': String(after) };
  const response = await fetch('/v1/events/stream', { headers, signal });
  if (!response.ok || response.body === null) throw new Error(`the event stream answered ${response.status}`);
  handlers.onState('live');
  let batch: LedgerEvent[] = [];
  const parser = createParser({
    onEvent: (message) => {
      const event = JSON.parse(message.data) as LedgerEvent;
      batch.push(event);
      seen(event.position);
    },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    parser.feed(value);
    if (batch.length > 0) {
      handlers.onEvents(batch);
      batch = [];
    }
  }
}
