import { spawn } from 'node:child_process';
import type { TestDatabase } from './dialects.js';
import { captureOutput, recordCredential } from './run-logs.js';
import { skuldArgs } from './server-process.js';

// `skuld serve` whose every line of stdout a test reads (the log lines, the banner), from the
// first: a test of what the process logs and prints.

export interface ServedProcess {
  readonly base: string;
  /** The gRPC address the banner printed; undefined without SKULD_GRPC_PORT. */
  readonly grpcUrl: string | undefined;
  /** The admin key of the first start. */
  readonly key: string;
  /** Every line of stdout so far (it grows while the process runs). */
  readonly lines: readonly string[];
  stop(): Promise<void>;
}

const keyShape = /skuld_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/;

/** Starts `skuld serve` on a fresh store (it prints its first key); resolves once the banner is out. */
export async function serveWithOutput(db: TestDatabase, env: Record<string, string>): Promise<ServedProcess> {
  const child = spawn(process.execPath, [...skuldArgs, 'serve'], {
    env: { ...process.env, ...db.env, SKULD_PORT: '0', SKULD_SEED: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  captureOutput(child, 'serve');
  const lines: string[] = [];
  let partial = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 60_000;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  for (;;) {
    const text = lines.join('\n');
    const base = /serving on (https?:\/\/\S+)/.exec(text)?.[1];
    const key = keyShape.exec(text)?.[0];
    const health = /health: /.test(text);
    if (base !== undefined && key !== undefined && health) {
      recordCredential(key);
      const grpcUrl = /gRPC: +(https?:\/\/\S+)/.exec(text)?.[1];
      const stop = async () => {
        child.kill('SIGTERM');
        await exited;
      };
      return { base, grpcUrl, key, lines, stop };
    }
    if (exitCode !== undefined) throw new Error(`skuld serve exited with ${exitCode}:\n${text}\n${errors}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`skuld serve did not start:\n${text}\n${errors}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
