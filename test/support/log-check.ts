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

/**
 * What the run wrote down, as the check looks for it: keys and tokens by their shapes (a key's
 * secret part also alone), any other value (a JWT secret) as it is. Each line is matched against
 * the few other values alone: a run writes down a key per app it builds, too many to look for
 * one by one in every line.
 */
export interface Credentials {
  readonly others: ReadonlySet<string>;
  readonly keySecrets: ReadonlySet<string>;
}

export function credentialsOf(values: Iterable<string>): Credentials {
  const all = [...new Set(values)].filter((value) => value !== '');
  const whole = (shape: RegExp) => (value: string) => shape.exec(value)?.[0] === value;
  const keys = all.filter(whole(keyShape));
  const others = all.filter((value) => !whole(keyShape)(value) && !whole(jwtShape)(value));
  return { others: new Set(others), keySecrets: new Set(keys.map((key) => key.slice(-keySecretLength))) };
}

/** The leaks in one captured file's text. `terminal`: the text is a process's stdout. */
export function leaksIn(text: string, file: string, credentials: Credentials, terminal: boolean): Leak[] {
  // Most files hold nothing like a credential: they are read whole once, not line by line.
  if (leakOf(text, credentials) === undefined) return [];
  const leaks: Leak[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const what = leakOf(line, credentials);
    if (what === undefined) continue;
    if (terminal && shownOnce.some((pattern) => pattern.test(line))) continue;
    leaks.push({ file, line: index + 1, what });
  }
  return leaks;
}

/** What credential a text holds, if any. Plain scans first: a file of logs is tens of megabytes. */
function leakOf(text: string, credentials: Credentials): string | undefined {
  if (text.includes('skuld_') && keyShape.test(text)) return 'an API key';
  if (text.includes('eyJ') && jwtShape.test(text)) return 'a JWT';
  if (holdsKeySecret(text, credentials.keySecrets)) return "an API key's secret part";
  for (const value of credentials.others) {
    if (text.includes(value)) return `a credential written down by a test (${value.slice(0, 8)}…)`;
  }
  return undefined;
}

/** Whether a run of base64url characters in the text holds one of the secrets (each as long as a key's). */
function holdsKeySecret(text: string, secrets: ReadonlySet<string>): boolean {
  let start = 0;
  for (let at = 0; at <= text.length; at += 1) {
    if (at < text.length && isBase64Url(text.charCodeAt(at))) continue;
    for (let from = start; from + keySecretLength <= at; from += 1) {
      if (secrets.has(text.slice(from, from + keySecretLength))) return true;
    }
    start = at + 1;
  }
  return false;
}

function isBase64Url(code: number): boolean {
  return (
    (code >= 48 && code <= 57) ||
    (code >= 65 && code <= 90) ||
    (code >= 97 && code <= 122) ||
    code === 45 ||
    code === 95
  );
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
  'test/grpc/access.test.ts',
  'test/grpc/serve.test.ts',
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
