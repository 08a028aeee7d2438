import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureOutput } from '../support/run-logs.js';

// What `npm install` builds is what production runs: compiled JavaScript in both threads and the
// SQLite threads' plain modules beside it, with no TypeScript loader. Built here into a directory
// of its own (below node_modules, so that its imports resolve), never over dist/.

const run = promisify(execFile);
const outDir = join('node_modules', '.cache', `skuld-build-test-${process.pid}`);

/** Every file below dir, relative to it. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

describe('the build', () => {
  beforeAll(async () => {
    await run(process.execPath, ['bin/build.mjs', outDir]);
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('holds JavaScript only: the compiled sources and the modules threads load by path', () => {
    const files = filesBelow(outDir);
    expect(files).toContain('cli/main.js');
    expect(files).toContain('compose/engine-worker.js');
    for (const worker of [
      'compose/engine-worker.boot.mjs',
      'store/sqlite/sqlite-checkpoint-worker.mjs',
      'store/sqlite/sqlite-history-worker.mjs',
    ]) {
      expect(files).toContain(worker);
    }
    const code = files.filter((file) => !file.startsWith('web/'));
    expect(code.filter((file) => !file.endsWith('.js') && !file.endsWith('.mjs'))).toEqual([]);
  });

  it('bundles the dashboard: one page, its script and styles under content-hashed names, nothing from elsewhere', () => {
    const web = filesBelow(join(outDir, 'web'));
    expect(web).toHaveLength(3);
    expect(web).toContain('index.html');
    expect(web.filter((file) => /^assets\/index-[\w-]{8}\.js$/.test(file))).toHaveLength(1);
    expect(web.filter((file) => /^assets\/index-[\w-]{8}\.css$/.test(file))).toHaveLength(1);
    const page = readFileSync(join(outDir, 'web', 'index.html'), 'utf8');
    for (const asset of web.filter((file) => file.startsWith('assets/'))) expect(page).toContain(`/dashboard/${asset}`);
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it('serves from the compiled JavaScript: the engine thread and the SQLite threads start without TypeScript', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skuld-build-'));
    // The engine thread's entry falls back to TypeScript only where no compiled worker is beside
    // it; here there is no .ts to fall back to, so a write answered proves the compiled one ran.
    const child = spawn(process.execPath, [join(outDir, 'cli', 'main.js'), 'serve'], {
      env: {
        ...process.env,
        SKULD_DATABASE_URL: `sqlite:${join(dir, 'skuld.db')}`,
        SKULD_PORT: '0',
        SKULD_LOG_LEVEL: 'warn',
        SKULD_ENGINE_THREAD: 'on',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    captureOutput(child, 'serve-built');
    try {
      let output = '';
      const base = await new Promise<string>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          const match = /serving on (http:\/\/\S+)/.exec(output);
          if (match?.[1] !== undefined) resolve(match[1]);
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) => reject(new Error(`the built server exited with ${code}:\n${output}`)));
      });
      // Seeding wrote through the engine thread; the history read goes through the SQLite index.
      expect(output).toMatch(/seeded demo data/);
      // The first start printed an admin key, once.
      const key = /(skuld_[0-9a-f]{16}_[A-Za-z0-9_-]{43})/.exec(output)?.[1];
      expect(key).toBeDefined();
      const authorization = `Bearer ${key}`;
      const history = await fetch(`${base}/v1/items/SKU-001/history`, { headers: { authorization } });
      expect(history.status).toBe(200);
      const reserve = await fetch(`${base}/v1/reservations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ id: 'build-order-1', lines: [{ sku: 'SKU-001', location: 'WH-EAST', quantity: 1 }] }),
      });
      expect(reserve.status).toBe(201);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
