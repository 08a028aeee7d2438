import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { capturedKinds } from './run-logs.js';

// The check at the end of a run: no line the run captured (run-logs.ts) holds an API key, a JWT
// or a secret a test wrote down. The shapes are checked whatever was written down, so a key made
// where no test could record it (a child process's first start) is found as well. One exception:
// a process's stdout may show a key alone on its line, or in the curl example beside it, as
// `skuld serve` does on a first start and `skuld keys create` does (through `skuld system`, after
// the `[process]` prefix it gives its processes' lines): that is the terminal, shown once by
// design, not a log line.

export const keyShape = /skuld_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/;
export const jwtShape = /eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/;
const shownOnce = [
  /^(\[[a-z0-9-]+\] )?\s*skuld_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\s*$/,
  /^(\[[a-z0-9-]+\] )?\s*curl -H 'authorization: Bearer skuld_[0-9a-f]{16}_[A-Za-z0-9_-]{43}' \S+\s*$/,
];
/** How long a key's secret part is: a line holding it alone (without the `skuld_<id>_`) leaks it too. */
const keySecretLength = 43;

export interface Leak {
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

/** What the run wrote down: the values themselves, and the secret part of each key among them. */
export interface Credentials {
  readonly values: ReadonlySet<string>;
  readonly keySecrets: ReadonlySet<string>;
}

export function credentialsOf(values: Iterable<string>): Credentials {
  const all = new Set([...values].filter((value) => value !== ''));
  const keySecrets = new Set(
    [...all].filter((value) => keyShape.test(value)).map((key) => key.slice(-keySecretLength)),
  );
  return { values: all, keySecrets };
}

/** The leaks in one captured file's text. `terminal`: the text is a process's stdout. */
export function leaksIn(text: string, file: string, credentials: Credentials, terminal: boolean): Leak[] {
  const leaks: Leak[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const what = leakOf(line, credentials);
    if (what === undefined) continue;
    if (terminal && shownOnce.some((pattern) => pattern.test(line))) continue;
    leaks.push({ file, line: index + 1, what });
  }
  return leaks;
}

function leakOf(line: string, credentials: Credentials): string | undefined {
  if (keyShape.test(line)) return 'an API key';
  if (jwtShape.test(line)) return 'a JWT';
  for (const word of line.match(/[A-Za-z0-9_-]{43,}/g) ?? []) {
    for (let at = 0; at + keySecretLength <= word.length; at += 1) {
      if (credentials.keySecrets.has(word.slice(at, at + keySecretLength))) return "an API key's secret part";
    }
  }
  for (const value of credentials.values) {
    if (line.includes(value)) return `a credential written down by a test (${value.slice(0, 8)}…)`;
  }
  return undefined;
}

/** What a run captured, per test file (its path relative to the run's folder). */
export interface Captured {
  readonly suites: ReadonlyMap<string, { lines: number; credentials: number }>;
  readonly leaks: readonly Leak[];
}

/** Reads every file of the run's folder and finds the leaks. */
export function checkRun(runDir: string): Captured {
  const files = readdirSync(runDir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
  const recorded: string[] = [];
  for (const file of files.filter((entry) => entry.name.endsWith(capturedKinds.credentials))) {
    recorded.push(...readFileSync(join(file.parentPath, file.name), 'utf8').split('\n'));
  }
  const credentials = credentialsOf(recorded);
  const suites = new Map<string, { lines: number; credentials: number }>();
  const leaks: Leak[] = [];
  for (const file of files) {
    const path = join(file.parentPath, file.name);
    const suite = relative(runDir, file.parentPath);
    const counts = suites.get(suite) ?? { lines: 0, credentials: 0 };
    suites.set(suite, counts);
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n').filter((line) => line !== '').length;
    if (file.name.endsWith(capturedKinds.credentials)) {
      counts.credentials += lines;
      continue;
    }
    counts.lines += lines;
    leaks.push(...leaksIn(text, relative(runDir, path), credentials, file.name.endsWith(capturedKinds.stdout)));
  }
  return { suites, leaks };
}

/** Test files that must capture log lines and write down credentials whenever they run: the authentication suites. */
export const authSuites = [
  'test/http/auth.test.ts',
  'test/http/auth-limits.test.ts',
  'test/http/auth-processes.test.ts',
  'test/cli/keys.test.ts',
];

/**
 * What is wrong with a run's captured logs: every leak (where, and what, never the credential),
 * and every sign that the check would prove nothing: an authentication suite of `ran` (test files,
 * relative paths) that captured no line or wrote down no credential. (Other suites may log
 * nothing: an app built with `logger: false` still has its keys written down and looked for.)
 */
export function runProblems(runDir: string, ran: readonly string[]): string[] {
  const { suites, leaks } = checkRun(runDir);
  const problems: string[] = [];
  for (const suite of authSuites.filter((file) => ran.includes(file))) {
    const captured = suites.get(suite) ?? { lines: 0, credentials: 0 };
    if (captured.lines === 0 || captured.credentials === 0) {
      problems.push(
        `${suite} ran, but the check has nothing of it (log lines: ${captured.lines}, credentials: ${captured.credentials})`,
      );
    }
  }
  problems.push(...leaks.map((leak) => `${leak.file}:${leak.line}: ${leak.what}`));
  return problems;
}
