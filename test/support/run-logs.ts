import type { ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import { expect } from 'vitest';
import type { Log } from '../../src/log.js';

// What the tests log, kept for the end of the run. The apps and runtimes the helpers build log
// into the run's folder, the processes they start have their output copied there, and every
// credential a test issues is written down beside them, each under the test file's own path
// (`<run>/test/http/auth.test.ts/…`). The global teardown then fails the run if any line holds a
// credential (log-check.ts).

/** Set by the global setup for every test process (and, through the environment, their children). */
export const runDirVariable = 'SKULD_TEST_RUN_DIR';

/** What a captured file is, by its name's ending. */
export const capturedKinds = { log: '.log', stdout: '.out', stderr: '.err', credentials: '.credentials' } as const;

/** The folder of the test file this process runs, in the run's folder; made on first use. */
function suiteDir(): string {
  const run = process.env[runDirVariable];
  if (run === undefined) throw new Error(`${runDirVariable} is not set: the global setup of vitest.config.ts sets it`);
  const testPath = expect.getState().testPath;
  if (testPath === undefined) throw new Error('no test file is running in this process');
  const dir = join(run, relative(process.cwd(), testPath));
  mkdirSync(dir, { recursive: true });
  return dir;
}

let logFile: pino.DestinationStream | undefined;

/** One file of log lines per test process, written synchronously: a killed process loses none. */
function logDestination(): pino.DestinationStream {
  logFile ??= pino.destination({ dest: join(suiteDir(), `${process.pid}${capturedKinds.log}`), sync: true });
  return logFile;
}

/** pino options for an app (buildApp's `logger`) that log into the run's folder. */
export function capturedLogger(level: pino.LevelWithSilent = 'info'): {
  level: string;
  stream: pino.DestinationStream;
} {
  return { level, stream: logDestination() };
}

/** A runtime's log (createRuntime's `log`) into the run's folder. */
export function capturedLog(level: pino.LevelWithSilent = 'info'): Log {
  return pino({ level }, logDestination());
}

/** Writes lines a test logged its own way (an in-memory stream) into the run's folder too. */
export function captureLogLines(text: string): void {
  logDestination().write(text.endsWith('\n') ? text : `${text}\n`);
}

let outputs = 0;

/** Copies what a child process writes on stdout and stderr into the run's folder, as it comes. */
export function captureOutput(child: ChildProcess, label: string): void {
  outputs += 1;
  const base = join(suiteDir(), `${label}-${process.pid}-${outputs}`);
  child.stdout?.pipe(createWriteStream(base + capturedKinds.stdout));
  child.stderr?.pipe(createWriteStream(base + capturedKinds.stderr));
}

/** Keeps what a finished process wrote (`execFile`'s stdout and stderr) in the run's folder. */
export function recordOutput(label: string, stdout: string, stderr: string): void {
  outputs += 1;
  const base = join(suiteDir(), `${label}-${process.pid}-${outputs}`);
  writeFileSync(base + capturedKinds.stdout, stdout);
  writeFileSync(base + capturedKinds.stderr, stderr);
}

/** Writes down a credential (an API key, a token, a secret) a test issued or sent: no log line may hold it. */
export function recordCredential(value: string): void {
  appendFileSync(join(suiteDir(), `${process.pid}${capturedKinds.credentials}`), `${value}\n`);
}
