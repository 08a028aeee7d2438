// The engine thread starts here. Like bin/skuld.js, it runs the TypeScript sources through tsx's
// loader, which a worker thread does not inherit from the thread that starts it.
import { register } from 'tsx/esm/api';

register();
await import('./engine-worker.ts');
