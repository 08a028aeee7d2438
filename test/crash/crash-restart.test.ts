import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase, testDialects } from '../support/dialects.js';
import { countByCommand, wholeLedger } from '../support/engine-harness.js';
import { type ServerProcess, startServer, verifyCli } from '../support/server-process.js';

// A server killed with SIGKILL in the middle of a load run, then restarted: nothing answered
// is lost, nothing is applied twice, and resending the unanswered commands completes each once.

interface Sent {
  readonly path: string;
  readonly body: { id: string } & Record<string, unknown>;
  /** Ledger events the command writes when it takes effect. */
  readonly events: number;
}

const skus = Array.from({ length: 12 }, (_, i) => `CR-${i}`);
const location = 'WH1';

/** Units of commands that one sender sends in order (a commit only after its reservation). */
function workload(count: number): Sent[][] {
  const units: Sent[][] = [];
  for (let i = 0; i < count; i += 1) {
    if (i % 10 === 9) {
      const sku = skus[i % skus.length] as string;
      units.push([{ path: '/v1/receipts', body: { id: `rcv-${i}`, sku, location, quantity: 5 }, events: 1 }]);
      continue;
    }
    const lines = [0, 1, 2]
      .slice(0, 1 + (i % 3))
      .map((k) => ({ sku: skus[(i + k * 5) % skus.length], location, quantity: 1 + (k % 2) }));
    const unit: Sent[] = [{ path: '/v1/reservations', body: { id: `res-${i}`, lines }, events: lines.length }];
    if (i % 4 === 0)
      unit.push({ path: `/v1/reservations/res-${i}/commit`, body: { id: `com-${i}` }, events: lines.length });
    units.push(unit);
  }
  return units;
}

/** The admin key the first start printed. */
let adminKey = '';

async function post(base: string, sent: Sent): Promise<Response> {
  return fetch(base + sent.path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
    body: JSON.stringify(sent.body),
  });
}

describe.each(testDialects())('crash and restart: %s', (dialect) => {
  let db: TestDatabase | undefined;
  let server: ServerProcess | undefined;
  afterEach(async () => {
    server?.child.kill('SIGKILL');
    await server?.exited;
    await db?.drop();
  });

  it('loses and duplicates nothing when the server is killed mid-load', async () => {
    db = await createTestDatabase(dialect);
    server = await startServer(db);
    adminKey = server.key ?? '';
    expect(adminKey).not.toBe('');
    for (const sku of skus) {
      expect((await post(server.base, { path: '/v1/items', body: { id: `reg-${sku}`, sku }, events: 0 })).status).toBe(
        201,
      );
      const receipt = {
        path: '/v1/receipts',
        body: { id: `init-${sku}`, sku, location, quantity: 1_000_000 },
        events: 1,
      };
      expect((await post(server.base, receipt)).status).toBe(201);
    }

    const units = workload(5000);
    const commands = units.flat();
    const answered = new Set<string>();
    const base = server.base;
    let next = 0;
    let killed = false;
    const sender = async () => {
      while (next < units.length) {
        for (const sent of units[next++] as Sent[]) {
          try {
            const response = await post(base, sent);
            const body = (await response.json()) as { code?: string };
            // With stock to spare, every command that is answered at all succeeds.
            expect(response.ok, `${sent.path} ${JSON.stringify(body)}`).toBe(true);
            answered.add(sent.body.id);
          } catch (error) {
            if (!killed) throw error;
            break;
          }
          if (!killed && answered.size >= 1500) {
            killed = true;
            server?.child.kill('SIGKILL');
          }
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, sender));
    expect(killed).toBe(true);
    await server.exited;
    const unanswered = commands.filter((sent) => !answered.has(sent.body.id));
    expect(unanswered.length).toBeGreaterThan(0);

    // Restarted on the same database: consistent before anything is resent.
    server = await startServer(db);
    const afterCrash = await verifyCli(db);
    expect(afterCrash.report).toContain('verify: OK');
    expect(afterCrash.code).toBe(0);
    const store = db.open();
    try {
      const counts = countByCommand(await wholeLedger(store));
      for (const sent of commands) {
        const seen = counts.get(sent.body.id) ?? 0;
        if (answered.has(sent.body.id)) expect(seen, sent.body.id).toBe(sent.events);
        // An unanswered command took effect whole or not at all.
        else expect([0, sent.events], sent.body.id).toContain(seen);
      }

      // Resending the unanswered commands, with the same ids, completes each exactly once. Units
      // go concurrently, as a client's retries would; a unit's commands in order.
      const resend = units.map((unit) => unit.filter((sent) => !answered.has(sent.body.id)));
      const restarted = server.base;
      let nextUnit = 0;
      const resender = async () => {
        while (nextUnit < resend.length) {
          for (const sent of resend[nextUnit++] as Sent[]) {
            const response = await post(restarted, sent);
            expect(response.ok, `${sent.body.id}: ${await response.text()}`).toBe(true);
          }
        }
      };
      await Promise.all(Array.from({ length: 32 }, resender));
      const final = countByCommand(await wholeLedger(store));
      for (const sent of commands) expect(final.get(sent.body.id) ?? 0, sent.body.id).toBe(sent.events);
    } finally {
      await store.close();
    }
    const afterResend = await verifyCli(db);
    expect(afterResend.code).toBe(0);
  });
});
