import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';

// HTTP/1.1 spoken by hand over a TCP socket, for what app.inject() cannot send: malformed
// messages, conflicting framing, a request that stops halfway, a connection held open.

export interface RawAnswer {
  /** 0 when the server closed the connection without answering. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Listens on a free port of the loopback interface and returns it. */
export async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as { port: number }).port;
}

/** One response parsed off the front of the bytes, or undefined while it is incomplete. */
function parse(data: Buffer): { answer: RawAnswer; length: number } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = end + 4 + Number(headers['content-length'] ?? 0);
  if (data.length < length) return undefined;
  const body = data.subarray(end + 4, length).toString('utf8');
  return { answer: { status: Number(statusLine.split(' ')[1]), headers, body }, length };
}

export class RawConnection {
  private data = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private isClosed = false;
  /** Resolves when the connection closes, with the time since it opened (ms). */
  readonly closed: Promise<number>;

  private constructor(private readonly socket: Socket) {
    const openedAt = performance.now();
    socket.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk]);
      this.wake?.();
    });
    // A reset as the server closes after its answer is expected; the answer is in the data.
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        this.wake?.();
        resolve(performance.now() - openedAt);
      }),
    );
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** The next whole response; status 0 when the server closes before sending one. */
  async response(): Promise<RawAnswer> {
    for (;;) {
      const parsed = parse(this.data);
      if (parsed !== undefined) {
        this.data = this.data.subarray(parsed.length);
        return parsed.answer;
      }
      if (this.isClosed) return { status: 0, headers: {}, body: this.data.toString('utf8') };
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Whether the server closes the connection within this long (ms). */
  async closedWithin(ms: number): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), delay(ms).then(() => false)]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Sends one request on a fresh connection; returns the answer once the server has closed it. */
export async function exchange(port: number, request: string, closeWithinMs: number): Promise<RawAnswer> {
  const connection = await RawConnection.open(port);
  connection.write(request);
  const answer = await connection.response();
  const closed = await connection.closedWithin(closeWithinMs);
  connection.destroy();
  expect(closed, 'the server closes the connection').toBe(true);
  return answer;
}

/** Asserts a problem answered on the raw socket, as expectProblem does for inject(). */
export function expectRawProblem(answer: RawAnswer, status: number, code: string): Record<string, unknown> {
  expect(answer.status, answer.body).toBe(status);
  expect(answer.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  const body = JSON.parse(answer.body);
  expect(body).toMatchObject({ status, code, type: `urn:skuld:problem:${code.toLowerCase().replaceAll('_', '-')}` });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(answer.headers['x-request-id']);
  expect(body.requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  return body;
}
