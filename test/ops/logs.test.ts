import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { type ServedProcess, serveWithOutput } from '../support/served.js';

// SKULD_LOG_FORMAT=pretty: `skuld serve` (PostgreSQL) logs for a terminal, not JSON, the same
// records with the same fields; at debug, every engine batch (from the engine thread) too.

async function waitForLine(lines: readonly string[], what: string, test: (line: string) => boolean): Promise<number> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const index = lines.findIndex(test);
    if (index >= 0) return index;
    if (Date.now() > deadline) throw new Error(`no line ${what} in:\n${lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('skuld serve with SKULD_LOG_FORMAT=pretty at debug', () => {
  let db: TestDatabase;
  let server: ServedProcess;

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    server = await serveWithOutput(db, { SKULD_LOG_FORMAT: 'pretty', SKULD_LOG_LEVEL: 'debug' });
  });
  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  it('renders each request as a readable line with its fields below, never as JSON', async () => {
    const response = await fetch(`${server.base}/v1/items/PRETTY-1`, {
      headers: { authorization: `Bearer ${server.key}`, 'x-request-id': 'pretty-1' },
    });
    expect(response.status).toBe(404);
    const { lines } = server;
    const at = await waitForLine(
      lines,
      'of the request',
      (line) => /INFO.*request completed/.test(line) && !line.startsWith('{'),
    );
    const fields = lines.slice(at + 1, at + 12).join('\n');
    expect(fields).toMatch(/requestId: "pretty-1"/);
    expect(fields).toMatch(/route: "\/v1\/items\/:sku"/);
    expect(fields).toMatch(/statusCode: 404/);
    expect(fields).toMatch(/principal: "key:admin"/);
    expect(fields).toMatch(/durationMs: \d/);
    expect(lines.some((line) => line.startsWith('{"level"'))).toBe(false);
  });

  it('logs each engine batch at debug, from the engine thread', async () => {
    const registered = await fetch(`${server.base}/v1/items`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'pretty-item', sku: 'PRETTY-2' }),
    });
    expect(registered.status).toBe(201);
    const { lines } = server;
    const at = await waitForLine(lines, 'of a batch', (line) => /DEBUG.*batch answered/.test(line));
    const fields = lines.slice(at + 1, at + 6).join('\n');
    expect(fields).toMatch(/commands: 1/);
    expect(fields).toMatch(/batchMs: \d/);
  });
});
