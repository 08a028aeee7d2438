import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/index.js';
import { Sweeper } from '../../src/engine/sweeper.js';
import type { Log } from '../../src/log.js';
import { SqliteThread } from '../../src/store/sqlite/sqlite-thread.js';
import { expectRejected, openTestEngine } from '../support/test-engine.js';

// Nothing fails silently: every background failure is logged and counted, and a burst of
// refusals is logged once per batch with its count, not once per command.

interface Entry {
  readonly level: 'error' | 'warn' | 'info';
  readonly context: Record<string, unknown>;
  readonly message: string;
}

function recorder(): { log: Log; entries: Entry[] } {
  const entries: Entry[] = [];
  const at =
    (level: Entry['level']) =>
    (context: object, message: string): void => {
      entries.push({ level, context: context as Record<string, unknown>, message });
    };
  return { log: { error: at('error'), warn: at('warn'), info: at('info'), debug() {} }, entries };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('failures are logged and counted', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('logs an overflowing queue once per batch, with the number refused', async () => {
    const { log, entries } = recorder();
    const opened = await openTestEngine('sqlite', { queueDepthMax: 10, log });
    cleanups.push(opened.cleanup);
    const receipts: Command[] = Array.from({ length: 50 }, (_, i) => ({
      type: 'ReceiveStock',
      id: `rcv-${i}`,
      sku: 'NONE',
      location: 'L1',
      quantity: 1,
    }));
    const answers = await Promise.all(receipts.map((command) => opened.engine.execute(command)));
    for (const answer of answers.slice(10)) expectRejected(answer, 'OVERLOADED');
    expect(opened.engine.stats.overloaded).toBe(40);
    expect(entries).toEqual([
      { level: 'warn', context: { refused: 40, queueDepthMax: 10 }, message: 'the engine queue was full: OVERLOADED' },
    ]);
  });

  it('logs and counts a sweep that fails, and sweeps again', async () => {
    const { log, entries } = recorder();
    const opened = await openTestEngine('sqlite');
    await opened.store.close();
    const sweeper = new Sweeper(opened.engine, opened.store, {
      intervalMs: 5,
      sweepBatchMax: 10,
      clock: opened.clock.read,
      log,
    });
    cleanups.push(async () => {
      await sweeper.stop();
      await opened.db.drop();
    });
    sweeper.start();
    await until(() => sweeper.stats.failures >= 2, 'two failed sweeps');
    expect(entries[0]).toMatchObject({ level: 'error', message: 'the expiry sweep failed', context: { failures: 1 } });
    expect(String(entries[0]?.context.err)).toContain('closed');
  });

  it("logs and counts a SQLite thread's failed passes", async () => {
    const { log, entries } = recorder();
    const dir = mkdtempSync(join(tmpdir(), 'skuld-thread-'));
    const entry = join(dir, 'failing-worker.mjs');
    // A thread whose every pass fails, speaking the threads' protocol.
    writeFileSync(
      entry,
      `import { parentPort } from 'node:worker_threads';
       const timer = setInterval(() => parentPort.postMessage({ kind: 'error', message: 'disk I/O error' }), 5);
       parentPort.on('message', () => { clearInterval(timer); parentPort.postMessage({ kind: 'stopped' }); });`,
    );
    const thread = new SqliteThread(pathToFileURL(entry), {}, 'test thread', log);
    cleanups.push(async () => {
      await thread.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    await until(() => thread.errors >= 2, 'two failed passes');
    expect(entries[0]).toMatchObject({
      level: 'warn',
      context: { thread: 'test thread', cause: 'disk I/O error', errors: 1 },
    });
  });
});
