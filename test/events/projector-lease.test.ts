import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectorLeaseName } from '../../src/compose/read-side.js';
import { createRuntime, type Runtime } from '../../src/compose/runtime.js';
import { loadConfig } from '../../src/config.js';
import { createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { createTestReadDatabase, type TestReadDatabase } from '../support/read-dbs.js';

// Two instances on one store and one read database: one projects at a time, by a lease in the
// store, and the other stands by; when the holder stops, it gives the lease up and the other
// takes over from the checkpoints.

describe('two instances sharing a read database', () => {
  let store: TestDatabase;
  let readDb: TestReadDatabase;
  const runtimes: Runtime[] = [];

  beforeAll(async () => {
    store = await createTestDatabase('sqlite');
    readDb = createTestReadDatabase('sqlite');
    const env = {
      ...store.env,
      SKULD_READ_DATABASE_URL: readDb.url,
      SKULD_PROJECTOR: 'on',
      SKULD_ENGINE_THREAD: 'off',
      SKULD_LOG_LEVEL: 'silent',
    };
    for (let n = 0; n < 2; n += 1) runtimes.push(await createRuntime(loadConfig(env)));
  });

  afterAll(async () => {
    for (const runtime of runtimes) await runtime.close();
    await readDb.drop();
    await store.drop();
  });

  async function receive(runtime: Runtime, id: string, quantity: number): Promise<void> {
    const answer = await runtime.engine.execute({ type: 'ReceiveStock', id, sku: 'SKU-1', location: 'L1', quantity });
    expect(answer.outcome.ok).toBe(true);
  }

  it('projects through one of them, and through the other once the first has stopped', async () => {
    const [first, second] = runtimes as [Runtime, Runtime];
    expect((await first.engine.execute({ type: 'RegisterItem', id: 'reg-1', sku: 'SKU-1' })).outcome.ok).toBe(true);
    await receive(first, 'rcv-1', 5);
    await first.readSide.caughtUp(30_000);
    const name = projectorLeaseName(first.config);
    const holder = (await first.store.leases.get(name))?.holder;
    expect(holder).toEqual(expect.any(String));

    // The first instance's projector took the lease at its first page, before the second started.
    const [leader, standby] = [first, second];
    await receive(standby, 'rcv-2', 7);
    await standby.readSide.caughtUp(30_000);
    expect((await standby.store.leases.get(name))?.holder).toBe(holder);

    await leader.close();
    runtimes.splice(runtimes.indexOf(leader), 1);
    await receive(standby, 'rcv-3', 1);
    await standby.readSide.caughtUp(30_000);
    const next = (await standby.store.leases.get(name))?.holder;
    expect(next).toEqual(expect.any(String));
    expect(next).not.toBe(holder);
    const status = await standby.readSide.status();
    expect(status.models.map((m) => m.position)).toEqual(status.models.map(() => status.head));
  });
});
