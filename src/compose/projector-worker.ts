import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.js';
import { Projector } from '../events/read-side/projector.js';
import type { ProjectorFromWorker, ProjectorToWorker } from './projector-thread.js';
import { openReadDb, projectorSettings } from './read-side.js';
import { createLog, openStore } from './runtime.js';

// The projector's thread: its own store connections (only the ledger is read) and its own
// connection to the read database. SQLite's statements block the thread that runs them, so a
// catch-up over millions of events runs here and never stalls the thread that serves HTTP. The
// thread that started it has migrated both databases.

if (parentPort === null) throw new Error('projector-worker.ts runs as a worker thread (see projector-thread.ts)');
const port = parentPort;
const config = (workerData as { config: Config }).config;
const send = (message: ProjectorFromWorker) => port.postMessage(message);

const log = createLog(config);
const store = openStore(config, log);
const readDb = openReadDb(config);
const projector = new Projector({
  ...projectorSettings(config),
  ledger: store,
  readDb,
  onCrossings: (crossings) => send({ kind: 'crossings', crossings }),
  log,
});

port.on('message', (message: ProjectorToWorker) => {
  if (message.kind !== 'stop') return;
  void projector
    .stop()
    .then(() => readDb.close())
    .then(() => store.close())
    .finally(() => send({ kind: 'stopped' }));
});
projector.start(config.projectorIdleMs);
send({ kind: 'ready' });
