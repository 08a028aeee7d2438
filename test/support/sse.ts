import { createParser } from 'eventsource-parser';

// A client of GET /v1/events/stream over real HTTP: fetch() with the body read as it comes,
// parsed by eventsource-parser (what the dashboard uses in the browser).

export interface StreamedEvent {
  readonly id: string;
  readonly data: string;
}

export interface SseStream {
  readonly status: number;
  readonly headers: Headers;
  readonly events: StreamedEvent[];
  readonly comments: string[];
  /** Settles when the server ends the stream (or the client closed it); rejects on a reset. */
  readonly ended: Promise<void>;
  /** Waits until `done` holds, at most `timeoutMs`. */
  until(done: () => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
}

export async function openStream(url: string, headers: Record<string, string>): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers, signal: abort.signal });
  const events: StreamedEvent[] = [];
  const comments: string[] = [];
  const parser = createParser({
    onEvent: (event) => events.push({ id: event.id ?? '', data: event.data }),
    onComment: (comment) => comments.push(comment),
  });
  const ended = (async () => {
    if (response.body === null) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  })();
  // A rejection is looked at by whoever awaits `ended`; until then it must not count as unhandled.
  ended.catch(() => {});
  return {
    status: response.status,
    headers: response.headers,
    events,
    comments,
    ended,
    until: async (done, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`the stream did not get there in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close: () => abort.abort(),
  };
}
