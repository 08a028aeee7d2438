import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey } from '../../src/auth/key-admin.js';
import { createTestDatabase, type TestDatabase, testDialects } from '../support/dialects.js';
import { redisUrl } from '../support/global-setup.js';
import { recordCredential } from '../support/run-logs.js';
import { type ServerProcess, startServer } from '../support/server-process.js';

// Two `skuld serve` processes on one database and one Redis: a principal's requests spread over
// both draw on one budget, and so do an address's failed authentications; another principal is
// unaffected. (auth-limits.test.ts covers the same with two apps in one process, and Redis killed.)

const budget = 4;
const failuresPerMinute = 6;

describe('rate limits shared by two server processes through Redis', () => {
  let db: TestDatabase;
  const servers: ServerProcess[] = [];
  const keys = { busy: '', quiet: '' };
  beforeAll(async () => {
    // Two processes on one SQLite file would share its single writer; PostgreSQL is what instances share.
    db = await createTestDatabase(testDialects().includes('postgres') ? 'postgres' : 'sqlite');
    const env = {
      SKULD_LOG_LEVEL: 'info',
      SKULD_RATE_LIMIT_REDIS_URL: redisUrl,
      SKULD_RATE_LIMIT_REDIS_PREFIX: `skuld-test:${randomUUID()}:`,
      SKULD_RATE_LIMIT_PER_SECOND: '1',
      SKULD_RATE_LIMIT_BURST: String(budget),
      SKULD_AUTH_FAILURES_PER_MINUTE: String(failuresPerMinute),
    };
    // The first start migrates the store and makes the first key; the second finds both.
    servers.push(await startServer(db, env));
    servers.push(await startServer(db, env));
    const store = db.open();
    try {
      for (const name of ['busy', 'quiet'] as const) {
        const created = await createKey(store.keys, {
          name: `${name}-${randomUUID().slice(0, 8)}`,
          roles: ['auditor'],
          createdBy: 'test',
          now: Date.now(),
          expiresAt: null,
        });
        recordCredential(created.key);
        keys[name] = created.key;
      }
    } finally {
      await store.close();
    }
  });
  afterAll(async () => {
    for (const server of servers) server.child.kill('SIGTERM');
    await Promise.all(servers.map((server) => server.exited));
    await db?.drop();
  });

  /** GET /v1/items with each credential in turn, on each server in turn. */
  async function spread(credentials: readonly string[]): Promise<Response[]> {
    const responses: Response[] = [];
    for (const [i, key] of credentials.entries()) {
      const base = (servers[i % servers.length] as ServerProcess).base;
      const response = await fetch(`${base}/v1/items`, { headers: { authorization: `Bearer ${key}` } });
      await response.arrayBuffer();
      responses.push(response);
    }
    return responses;
  }

  it("limits a principal's requests over both processes to its one budget; another principal is unaffected", async () => {
    const responses = await spread(Array(budget + 2).fill(keys.busy));
    expect(responses.map((response) => response.status)).toEqual([...Array(budget).fill(200), ...Array(2).fill(429)]);
    for (const refused of responses.slice(budget)) {
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect((await spread([keys.quiet, keys.quiet])).map((response) => response.status)).toEqual([200, 200]);
  });

  it("limits an address's failed authentications over both processes to one budget", async () => {
    const guesses = Array.from({ length: failuresPerMinute + 4 }, () => {
      return `skuld_${randomUUID().replaceAll('-', '').slice(0, 16)}_${'A'.repeat(43)}`;
    });
    const statuses = (await spread(guesses)).map((response) => response.status);
    expect(statuses).toEqual([...Array(failuresPerMinute).fill(401), ...Array(4).fill(429)]);
  });
});
