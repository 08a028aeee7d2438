import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.js';
import { openStore } from '../runtime.js';
import { StoreError } from '../store/port.js';
import { InProcessRunner } from './batch-runner.js';
import type { WorkerReply, WorkerRequest } from './worker-runner.js';

// The writer thread: one store connection, one batch at a time, answers posted back.

const { config, itemCacheMax } = workerData as { config: Config; itemCacheMax: number };
const port = parentPort;
if (port === null) throw new Error('batch-worker runs as a worker thread');

const store = openStore(config);
const runner = new InProcessRunner(store, itemCacheMax);
const reply = (message: WorkerReply) => port.postMessage(message);

port.on('message', async (request: WorkerRequest) => {
  if (request.kind === 'close') {
    await store.close();
    reply({ kind: 'closed' });
    port.close();
    return;
  }
  try {
    reply({ kind: 'answers', id: request.id, answers: await runner.run(request.batch, request.context) });
  } catch (error) {
    const failure = error instanceof StoreError ? error : new StoreError('internal', String(error), { cause: error });
    reply({
      kind: 'failed',
      id: request.id,
      error: { errorKind: failure.kind, code: failure.code, message: failure.message },
    });
  }
});
reply({ kind: 'ready' });
