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
  /** The admin key of the first start; undefined when the store had keys already. */
  readonly key: string | undefined;
  /** Whether the process has exited. */
  readonly exited: Promise<number | null>;
  /** Every line of stdout so far (it grows while the process runs). */
  readonly lines: readonly string[];
  /** SIGTERM: the process stops as an operator stops it. */
  stop(): Promise<void>;
  /** SIGKILL: the process is gone at once, as in a crash. */
  kill(): Promise<void>;
}

const keyShape = /skuld_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/;

/** Starts `skuld serve`; resolves once its banner is out. */
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
    if (base !== undefined && health) {
      if (key !== undefined) recordCredential(key);
      const grpcUrl = /gRPC: +(https?:\/\/\S+)/.exec(text)?.[1];
      const signal = (name: NodeJS.Signals) => async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill(name);
        await exited;
      };
      return { base, grpcUrl, key, lines, exited, stop: signal('SIGTERM'), kill: signal('SIGKILL') };
    }
    if (exitCode !== undefined) throw new Error(`skuld serve exited with ${exitCode}:\n${text}\n${errors}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`skuld serve did not start:\n${text}\n${errors}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
