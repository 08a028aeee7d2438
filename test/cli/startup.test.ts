import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/compose/runtime.js';
import { loadConfig } from '../../src/config.js';
import { runSkuld } from '../support/server-process.js';

// A start that cannot go ahead ends at once, with a coded reason and exit status 1, and leaves
// nothing behind: no database file, no seed.

describe('a refused start', () => {
  let dir: string;
  let database: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'skuld-start-'));
    database = `sqlite:${join(dir, 'skuld.db')}`;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('on a port another process listens on exits with PORT_IN_USE, before opening or seeding the store', async () => {
    const occupier: Server = createServer();
    await new Promise<void>((resolve) => occupier.listen({ host: '127.0.0.1', port: 0 }, resolve));
    try {
      const { port } = occupier.address() as { port: number };
      const { code, stderr } = await runSkuld(['serve', '--port', String(port), '--database-url', database]);
      expect(code).toBe(1);
      expect(stderr).toMatch(new RegExp(`^skuld: PORT_IN_USE: .*127\\.0\\.0\\.1:${port}`, 'm'));
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await new Promise((resolve) => occupier.close(resolve));
    }
  });

  it('with a strategy the store does not support exits with STRATEGY_UNSUPPORTED and creates no file', async () => {
    const { code, stderr } = await runSkuld(['serve', '--port', '0', '--strategy', 'pessimistic'], {
      SKULD_DATABASE_URL: database,
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^skuld: STRATEGY_UNSUPPORTED: the pessimistic strategy needs row locks and concurrent writers, which sqlite does not have/m,
    );
    await expect(
      createRuntime(loadConfig({ SKULD_DATABASE_URL: database, SKULD_STRATEGY: 'optimistic' })),
    ).rejects.toMatchObject({
      code: 'STRATEGY_UNSUPPORTED',
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('with an invalid setting exits with CONFIG_INVALID, naming the variable and the flag', async () => {
    const { code, stderr } = await runSkuld(['serve'], { SKULD_DATABASE_URL: database, SKULD_PORT: 'eighty' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^skuld: CONFIG_INVALID: SKULD_PORT \/ --port: /m);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('with a relay to a broker it has no address for exits with CONFIG_INVALID and creates no file', async () => {
    for (const [relay, variable] of [
      ['rabbitmq', 'SKULD_AMQP_URL'],
      ['in-process,nats', 'SKULD_NATS_URL'],
    ]) {
      const { code, stderr } = await runSkuld(['serve'], {
        SKULD_DATABASE_URL: database,
        SKULD_RELAY: relay as string,
      });
      expect(code).toBe(1);
      expect(stderr).toMatch(new RegExp(`^skuld: CONFIG_INVALID: SKULD_RELAY names .*${variable} is not set`, 'm'));
      expect(readdirSync(dir)).toEqual([]);
    }
  });
});
