import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { type ServedProcess, serveWithOutput } from '../support/served.js';

// Three `skuld serve` processes on one PostgreSQL database: each lists all three at
// GET /v1/instances, healthy; one stopped takes itself out of the list; one killed stays,
// unhealthy once it has missed three heartbeats.

interface Listed {
  readonly id: string;
  readonly httpUrl: string;
  readonly healthy: boolean;
}

const heartbeatMs = 200;

describe('GET /v1/instances with three instances on one PostgreSQL', () => {
  let db: TestDatabase;
  const servers: ServedProcess[] = [];
  let key: string;

  const list = async (server: ServedProcess): Promise<Listed[]> => {
    const response = await fetch(`${server.base}/v1/instances`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { instances: Listed[] }).instances;
  };
  const until = async (what: string, check: () => Promise<boolean>) => {
    const deadline = Date.now() + 15_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    const env = { SKULD_HEARTBEAT_INTERVAL_MS: String(heartbeatMs), SKULD_LOG_LEVEL: 'warn' };
    // The first start makes the admin key; the others share its store.
    servers.push(await serveWithOutput(db, env));
    key = servers[0]?.key as string;
    expect(key).toBeDefined();
    servers.push(await serveWithOutput(db, env), await serveWithOutput(db, env));
  });
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await db?.drop();
  });

  it('lists every instance, a stopped one no more, a killed one unhealthy', async () => {
    const [first, second, third] = servers as [ServedProcess, ServedProcess, ServedProcess];
    await until('three healthy instances', async () => {
      const listed = await list(second);
      return listed.length === 3 && listed.every((instance) => instance.healthy);
    });
    expect(new Set((await list(first)).map((instance) => instance.httpUrl))).toEqual(
      new Set(servers.map((server) => server.base)),
    );
    await second.stop();
    await until('two instances', async () => (await list(first)).length === 2);
    expect((await list(first)).map((instance) => instance.httpUrl).sort()).toEqual([first.base, third.base].sort());
    await third.kill();
    await until('the killed instance unhealthy', async () => {
      const listed = await list(first);
      const killed = listed.find((instance) => instance.httpUrl === third.base);
      const alive = listed.find((instance) => instance.httpUrl === first.base);
      return killed?.healthy === false && alive?.healthy === true;
    });
  });
});
