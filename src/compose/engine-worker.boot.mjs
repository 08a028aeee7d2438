// The engine thread starts here. Built (dist/), the worker is the compiled JavaScript beside this
// file. From the sources (tests, benchmarks, `npm run dev`) it is TypeScript, run through tsx's
// loader, which a worker thread does not inherit from the thread that starts it.
import { existsSync } from 'node:fs';

const compiled = new URL('./engine-worker.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./engine-worker.ts');
}
