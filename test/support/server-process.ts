import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestDatabase } from './dialects.js';
import { captureOutput, recordCredential, recordOutput } from './run-logs.js';

const run = promisify(execFile);

/**
 * `skuld` from the sources, through tsx: what the tests run is what they read, never a dist/
 * built before the last change (bin/skuld.js runs dist/).
 */
export const skuldArgs = ['--import', 'tsx', 'src/cli/main.ts'] as const;

export interface ServerProcess {
  readonly base: string;
  /** The admin key a first start prints; undefined when the store had keys already. */
  readonly key: string | undefined;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
}

/** Starts `skuld serve` on the database on a free port; resolves once it is listening. */
export async function startServer(db: TestDatabase, env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...skuldArgs, 'serve'], {
    env: { ...process.env, ...db.env, SKULD_PORT: '0', SKULD_SEED: 'off', SKULD_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  captureOutput(child, 'serve');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /serving on (https?:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening:\n${output}`)));
  });
  const key = keysIn(output)[0];
  if (key !== undefined) recordCredential(key);
  return { base, key, child, exited };
}

/** Runs `skuld <args>` with the environment added; returns its exit code and output. */
export async function runSkuld(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await run(process.execPath, [...skuldArgs, ...args], { env: { ...process.env, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: unknown) => {
      const failure = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failure.code ?? -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? String(error) };
    },
  );
  recordOutput(`skuld-${args[0] ?? ''}`, result.stdout, result.stderr);
  for (const key of keysIn(result.stdout)) recordCredential(key);
  return result;
}

/** The API keys a process printed (a first start, `skuld keys create`). */
function keysIn(output: string): string[] {
  return output.match(/skuld_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/g) ?? [];
}

/** Runs `skuld verify` on the database; returns its exit code and report. */
export async function verifyCli(db: TestDatabase): Promise<{ code: number; report: string }> {
  const { code, stdout, stderr } = await runSkuld(['verify'], db.env);
  return { code, report: code === 0 || stdout !== '' ? stdout : stderr };
}
