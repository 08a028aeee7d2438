import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyMatches } from '../../src/auth/api-keys.js';
import { createKey, revokeKey } from '../../src/auth/key-admin.js';
import type { Store } from '../../src/store/port.js';
import { openTestStore, testDialects } from '../support/dialects.js';

// The key store port, the same on every dialect: a key is stored as a hash with its name, roles
// and times; revocation happens once; every creation and revocation is an audit event.

describe.each(testDialects())('key store on %s', (dialect) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ store, cleanup } = await openTestStore(dialect));
  });
  afterAll(async () => cleanup?.());

  it('stores a key as its hash, lists and counts keys, records uses coarsely', async () => {
    expect(await store.keys.countKeys()).toBe(0);
    const now = 1_700_000_000_000;
    const { key, record } = await createKey(store.keys, {
      name: 'svc-orders',
      roles: ['orders', 'auditor'],
      createdBy: 'test',
      now,
      expiresAt: now + 86_400_000,
    });
    const stored = await store.keys.getKey(record.id);
    expect(stored).toEqual(record);
    expect(JSON.stringify(stored)).not.toContain(key.slice('skuld_'.length + 17));
    expect(keyMatches(key, Buffer.from(stored?.hash ?? '', 'hex'))).toBe(true);
    expect(keyMatches(`${key.slice(0, -1)}x`, Buffer.from(stored?.hash ?? '', 'hex'))).toBe(false);
    expect(await store.keys.getKey('0123456789abcdef')).toBeUndefined();
    expect(await store.keys.countKeys()).toBe(1);
    expect((await store.keys.listKeys()).map((k) => k.id)).toEqual([record.id]);

    await store.keys.touchKey(record.id, now + 10, now - 60_000);
    await store.keys.touchKey(record.id, now + 20, now - 60_000);
    expect((await store.keys.getKey(record.id))?.lastUsedAt).toBe(now + 10);
    await store.keys.touchKey(record.id, now + 70_000, now + 10_000);
    expect((await store.keys.getKey(record.id))?.lastUsedAt).toBe(now + 70_000);
  });

  it('revokes a key once and records creation and revocation', async () => {
    const now = 1_700_000_100_000;
    const { record } = await createKey(store.keys, {
      name: 'scanner-7',
      roles: ['scanner'],
      createdBy: 'ops',
      now,
      expiresAt: null,
    });
    expect(await revokeKey(store.keys, record.id, 'cli:ops', now + 1)).toBe(true);
    expect(await revokeKey(store.keys, record.id, 'cli:ops', now + 2)).toBe(false);
    expect(await revokeKey(store.keys, 'ffffffffffffffff', 'cli:ops', now + 2)).toBe(false);
    expect(await store.keys.getKey(record.id)).toMatchObject({
      revokedAt: now + 1,
      revokedBy: 'cli:ops',
      expiresAt: null,
    });
    const audit = await store.keys.auditEvents(now - 1, 100);
    expect(audit.map(({ action, subject, actor, at }) => ({ action, subject, actor, at }))).toEqual([
      { action: 'key.created', subject: record.id, actor: 'ops', at: now },
      { action: 'key.revoked', subject: record.id, actor: 'cli:ops', at: now + 1 },
    ]);
  });
});
