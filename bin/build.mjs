#!/usr/bin/env node
// Builds dist/, what `npm start` and bin/skuld.js run: the TypeScript sources compiled by tsc,
// and beside them the plain JavaScript files that threads load by their path (*.mjs). npm runs
// it after `npm install` and `npm ci` (the `prepare` script). `node bin/build.mjs <dir>` builds
// into another directory. First it generates the gRPC contract's TypeScript (proto/ -> src/grpc/gen/,
// by buf and protoc-gen-es), which tsc and the type check then see like any source.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(root, process.argv[2] ?? 'dist');

const bin = join(root, 'node_modules', '.bin');
try {
  execFileSync(join(bin, 'buf'), ['generate'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` },
  });
} catch (error) {
  console.error(`build: buf generate failed (exit code ${error.status})`);
  process.exit(1);
}

// A module removed from src/ must not live on in dist/.
rmSync(outDir, { recursive: true, force: true });
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir], {
    stdio: 'inherit',
  });
} catch (error) {
  // tsc has printed what it refused.
  console.error(`build: tsc failed (exit code ${error.status})`);
  process.exit(1);
}
cpSync(join(root, 'src'), outDir, {
  recursive: true,
  filter: (path) => statSync(path).isDirectory() || path.endsWith('.mjs'),
});

// The dashboard: one page, its script and style sheets bundled with their libraries (no CDN: it
// works on a closed network), file names hashed by content so the server can let browsers keep
// them for good.
const { build } = await import('vite');
try {
  await build({
    root: join(root, 'web'),
    base: '/dashboard/',
    configFile: false,
    logLevel: 'warn',
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: { outDir: join(outDir, 'web'), emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  });
} catch (error) {
  console.error(`build: the dashboard's bundle failed: ${error.message}`);
  process.exit(1);
}
