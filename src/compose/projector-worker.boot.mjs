// The projector thread starts here, as the engine thread does (engine-worker.boot.mjs): built,
// the compiled JavaScript beside this file; from the sources, the TypeScript through tsx.
import { existsSync } from 'node:fs';

const compiled = new URL('./projector-worker.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./projector-worker.ts');
}
