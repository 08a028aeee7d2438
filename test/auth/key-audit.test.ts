import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyIdOf } from '../../src/auth/api-keys.js';
import { cliActor, runKeys } from '../../src/cli/keys.js';
import { firstKeyIfNone } from '../../src/cli/serve.js';
import type { Runtime } from '../../src/compose/runtime.js';
import type { Store } from '../../src/store/port.js';
import { openTestStore } from '../support/dialects.js';
import { recordCredential } from '../support/run-logs.js';

// Who made and revoked each key is recorded with it, as the ledger records who changed stock:
// the first start's admin key as `system`, `skuld keys create | revoke` as the user running
// them (`cli:<user>`).

describe('the audit of keys', () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ store, cleanup } = await openTestStore('sqlite'));
  });
  afterAll(async () => cleanup?.());

  it('records the first key as made by the system, and keys made and revoked on the command line by their user', async () => {
    const runtime = { store } as unknown as Runtime;
    const first = (await firstKeyIfNone(runtime)) as string;
    recordCredential(first);
    const printed = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(
        await runKeys(runtime, { kind: 'create', name: 'dock-3', roles: ['scanner'], expiresInDays: undefined }),
      ).toBe(0);
      const created = String(printed.mock.calls.at(-1)?.[0]).split('\n')[1] as string;
      recordCredential(created);
      const id = keyIdOf(created) as string;
      expect(await runKeys(runtime, { kind: 'revoke', id })).toBe(0);
      const audit = await store.keys.auditEvents(0, 100);
      // In the order they were made, unless two fell in one millisecond: compared as a set.
      const events = audit.map(({ action, subject, actor }) => ({ action, subject, actor }));
      expect(events).toHaveLength(3);
      expect(events).toEqual(
        expect.arrayContaining([
          { action: 'key.created', subject: keyIdOf(first), actor: 'system' },
          { action: 'key.created', subject: id, actor: cliActor() },
          { action: 'key.revoked', subject: id, actor: cliActor() },
        ]),
      );
      expect(cliActor()).toMatch(/^cli:[A-Za-z0-9._-]+$/);
    } finally {
      printed.mockRestore();
    }
  });
});
