#!/usr/bin/env node
// Runs the compiled JavaScript in dist/, which `npm install` builds (`npm run build` again after
// changing the sources; `npm run dev` runs the sources themselves).
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('skuld: BUILD_MISSING: dist/ has not been built: run `npm run build` (npm install does it)');
  process.exit(1);
}
await import(main.href);
