import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { runSkuld, startServer } from '../support/server-process.js';

// `skuld keys create | list | revoke`, and the admin key a first start prints once.

const keyPattern = /(skuld_([0-9a-f]{16})_[A-Za-z0-9_-]{43})/;

describe('skuld keys', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterAll(async () => db?.drop());

  it('creates a key shown once, lists it without its secret, revokes it once', async () => {
    const created = await runSkuld(
      ['keys', 'create', '--name', 'dock-3', '--role', 'scanner', '--role', 'orders'],
      db.env,
    );
    expect(created.code, created.stderr).toBe(0);
    const [, key, id] = keyPattern.exec(created.stdout) ?? [];
    expect(key).toBeDefined();

    const listed = await runSkuld(['keys', 'list'], db.env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\tdock-3\\tscanner,orders\\tactive\\t`, 'm'));
    expect(listed.stdout).not.toContain(key);
    expect(listed.stdout).not.toContain((key as string).slice('skuld_'.length + 17));

    expect((await runSkuld(['keys', 'revoke', id as string], db.env)).code).toBe(0);
    expect((await runSkuld(['keys', 'list'], db.env)).stdout).toMatch(
      new RegExp(`^${id}\\tdock-3\\t\\S+\\trevoked\\t`, 'm'),
    );
    const again = await runSkuld(['keys', 'revoke', id as string], db.env);
    expect(again.code).toBe(1);
  });

  it('refuses an unknown role and a missing name with CONFIG_INVALID', async () => {
    const role = await runSkuld(['keys', 'create', '--name', 'x', '--role', 'root'], db.env);
    expect([role.code, role.stderr]).toEqual([1, expect.stringMatching(/^skuld: CONFIG_INVALID: unknown role "root"/)]);
    const name = await runSkuld(['keys', 'create', '--role', 'admin'], db.env);
    expect([name.code, name.stderr]).toEqual([1, expect.stringMatching(/^skuld: CONFIG_INVALID: --name/)]);
  });
});

describe('the first start', () => {
  it('creates an admin key and prints it once; a later start prints none', async () => {
    const db = await createTestDatabase('sqlite');
    try {
      const first = await startServer(db);
      first.child.kill('SIGTERM');
      await first.exited;
      expect(first.key).toMatch(keyPattern);

      const second = await startServer(db);
      try {
        expect(second.key).toBeUndefined();
        expect((await fetch(`${second.base}/v1/items`)).status).toBe(401);
        const items = await fetch(`${second.base}/v1/items`, { headers: { authorization: `Bearer ${first.key}` } });
        expect(items.status).toBe(200);
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
    } finally {
      await db.drop();
    }
  });
});
