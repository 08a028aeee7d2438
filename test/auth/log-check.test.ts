import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKey } from '../../src/auth/api-keys.js';
import { credentialsOf, leaksIn, runProblems } from '../support/log-check.js';

// The check the end of every run makes on the logs it captured (test/support/log-check.ts),
// given planted credentials: it must find each, say where without repeating it, and refuse to
// pass when the authentication suites captured nothing.

const planted = generateKey({ name: 'planted', roles: ['admin'], createdBy: 'test', now: 0, expiresAt: null }).key;
const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdmMtb3JkZXJzIn0.c2lnbmF0dXJl';
const secret = 'a-shared-secret-of-at-least-32-characters!';
const logLine = (message: string) => JSON.stringify({ level: 30, msg: message });

describe('finding a credential in a captured file', () => {
  const credentials = credentialsOf([planted, secret]);

  it('finds a key, a JWT, the secret part of a written-down key and a written-down secret', () => {
    const lines = [
      logLine('request completed'),
      logLine(`authorization: Bearer ${planted}`),
      logLine(`token ${jwt}`),
      logLine(`secret part ${planted.slice(-43)}`),
      logLine(`configured with ${secret}`),
    ];
    const leaks = leaksIn(lines.join('\n'), 'x.log', credentials, false);
    expect(leaks.map((leak) => [leak.line, leak.what])).toEqual([
      [2, 'an API key'],
      [3, 'a JWT'],
      [4, "an API key's secret part"],
      [5, expect.stringMatching(/^a credential written down by a test/)],
    ]);
    expect(JSON.stringify(leaks)).not.toContain(planted.slice(-43));
  });

  it('lets a key shown once stand on the terminal (stdout), never in a log line or on stderr', () => {
    const banner = [`  ${planted}`, `  curl -H 'authorization: Bearer ${planted}' http://127.0.0.1:3000/v1/items`];
    expect(leaksIn(banner.join('\n'), 'serve.out', credentials, true)).toEqual([]);
    expect(leaksIn(banner.join('\n'), 'serve.err', credentials, false)).toHaveLength(2);
    expect(leaksIn(logLine(planted), 'serve.out', credentials, true)).toHaveLength(1);
  });
});

describe("a run's captured logs", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A run's folder with these files (path within it → lines). */
  function run(files: Record<string, readonly string[]>): string {
    const dir = mkdtempSync(join(tmpdir(), 'skuld-log-check-'));
    dirs.push(dir);
    for (const [path, lines] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), `${lines.join('\n')}\n`);
    }
    return dir;
  }

  const suite = 'test/http/auth.test.ts';
  const clean = { [`${suite}/1.log`]: [logLine('request completed')], [`${suite}/1.credentials`]: [planted] };

  it('passes a clean run', () => {
    expect(runProblems(run(clean), [suite])).toEqual([]);
  });

  it('fails a run with a planted key, naming the file and line', () => {
    const dir = run({ ...clean, 'test/http/reads.test.ts/2.log': [logLine('ok'), logLine(`key ${planted}`)] });
    expect(runProblems(dir, [suite])).toEqual(['test/http/reads.test.ts/2.log:2: an API key']);
  });

  it('fails a run whose authentication suites captured nothing to check', () => {
    expect(runProblems(run({}), [suite])).toEqual([
      `${suite} ran, but the check has nothing of it (log lines: 0, credentials: 0)`,
    ]);
    const unwritten = run({ [`${suite}/1.log`]: [logLine('request completed')] });
    expect(runProblems(unwritten, [suite])).toEqual([
      `${suite} ran, but the check has nothing of it (log lines: 1, credentials: 0)`,
    ]);
  });
});
