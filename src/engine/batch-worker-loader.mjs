// Starts the writer thread from the TypeScript sources: registers tsx's loader in this thread,
// then loads the thread's module named by workerData.entry.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
