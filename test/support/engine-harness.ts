import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Command, CommandOutcome, LedgerEvent } from '../../src/domain/index.js';
import type { CommandExecutor, EngineStats } from '../../src/engine/executor.js';
import type { Store } from '../../src/store/port.js';
import { verify } from '../../src/verify/verify.js';
import type { TestDatabase } from './dialects.js';

/** Registers the items and receives `onHand` of each at `location`; fails on any rejection. */
export async function stock(
  engine: CommandExecutor,
  skus: readonly string[],
  location: string,
  onHand: number,
): Promise<void> {
  const setup: Command[] = skus.flatMap((sku): Command[] => [
    { type: 'RegisterItem', id: `reg-${sku}`, sku },
    { type: 'ReceiveStock', id: `rcv-${sku}-${location}`, sku, location, quantity: onHand },
  ]);
  for (const command of setup) {
    const { outcome } = await engine.execute(command);
    expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
  }
}

/** Every event of the ledger, in position order. */
export async function wholeLedger(store: Store): Promise<LedgerEvent[]> {
  const events: LedgerEvent[] = [];
  for (;;) {
    const page = await store.readLedger(
      events.length === 0 ? 0 : (events[events.length - 1] as LedgerEvent).position,
      5000,
    );
    events.push(...page);
    if (page.length < 5000) return events;
  }
}

/** Ledger events per command id: a command that took effect once has one per level it touched. */
export function countByCommand(ledger: readonly Pick<LedgerEvent, 'commandId'>[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of ledger) counts.set(event.commandId, (counts.get(event.commandId) ?? 0) + 1);
  return counts;
}

/** The invariants of design.md, checked on the stored state and the ledger. */
export async function expectInvariants(store: Store): Promise<void> {
  const report = await verify(store);
  expect(report.mismatches).toEqual([]);
  expect(report.ok).toBe(true);
  const levels = await store.scanLevels(undefined, 1_000_000);
  for (const level of levels) {
    expect(level.reserved).toBeGreaterThanOrEqual(0);
    expect(level.reserved).toBeLessThanOrEqual(level.onHand);
  }
}

export interface WorkerResult {
  readonly answers: { id: string; ok: boolean; code: string | null; replayed: boolean }[];
  readonly stats: EngineStats;
  readonly startedAt: number;
  readonly finishedAt: number;
}

/** One engine process's share of a concurrent run: its database settings and its commands. */
export interface WorkerJob {
  readonly db: TestDatabase;
  readonly commands: readonly Command[];
  readonly inFlight: number;
}

/**
 * Runs each job in an engine process of its own, all on the same database and all at once: each
 * starts sending only when every process has opened its store (`ready` on stdout, then `go`).
 */
export async function runInProcesses(jobs: readonly WorkerJob[]): Promise<WorkerResult[]> {
  const workers = jobs.map((job) => {
    const file = join(tmpdir(), `skuld-load-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ commands: job.commands, inFlight: job.inFlight }));
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/load-worker.ts', file], {
      env: { ...process.env, ...job.db.env, SKULD_SEED: 'off' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const ready = new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.startsWith('ready\n')) resolve();
      });
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<WorkerResult>((resolve, reject) => {
      child.once('error', reject);
      // 'close', not 'exit': the answers are one long line, read only once stdout has ended.
      child.once('close', (code, signal) => {
        rmSync(file, { force: true });
        // The service's own log lines may come before and after it.
        const last = stdout.split('\n').findLast((line) => line.startsWith('{"answers":')) ?? '';
        if (code === 0 && last !== '') resolve(JSON.parse(last) as WorkerResult);
        else reject(new Error(`engine worker exited with ${code ?? signal}:\n${stderr}`));
      });
    });
    return { child, ready: Promise.race([ready, exited.then(() => undefined)]), exited };
  });
  try {
    await Promise.all(workers.map((worker) => worker.ready));
    for (const { child } of workers) child.stdin.end('go\n');
    return await Promise.all(workers.map((worker) => worker.exited));
  } catch (error) {
    for (const { child } of workers) child.kill('SIGKILL');
    throw error;
  }
}

/** Outcomes of commands sent all at once to one engine. */
export function executeAll(engine: CommandExecutor, commands: readonly Command[]): Promise<CommandOutcome[]> {
  return Promise.all(commands.map(async (command) => (await engine.execute(command)).outcome));
}

/** A small seeded PRNG, so a failing run can be replayed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}
