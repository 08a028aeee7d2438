import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.js';
import { Projector } from '../events/read-side/projector.js';
import { LeasedClaim } from '../events/relay/relay-claims.js';
import type { ProjectorFromWorker, ProjectorToWorker } from './projector-thread.js';
import { openReadDb, projectorLeaseName, projectorSettings } from './read-side.js';
import { createLog, openStore } from './runtime.js';

// The projector's thread: its own store connections (only the ledger is read) and its own
// connection to the read database. SQLite's statements block the thread that runs them, so a
// catch-up over millions of events runs here and never stalls the thread that serves HTTP. The
// thread that started it has migrated both databases.

if (parentPort === null) throw new Error('projector-worker.ts runs as a worker thread (see projector-thread.ts)');
const port = parentPort;
const config = (workerData as { config: Config }).config;
const send = (message: ProjectorFromWorker) => port.postMessage(message);

/**
 * How long the projector's lease lasts unrenewed: a dead instance's read database is taken over
 * after it. The holder renews it every third of it, one store write every few seconds.
 */
const leaseTtlMs = 10_000;

const log = createLog(config);
const store = openStore(config, log);
const readDb = openReadDb(config);
const holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
const lease = new LeasedClaim(store.leases, projectorLeaseName(config), holder, leaseTtlMs);
/** Until when an instance that found the lease held asks no more: a third of its time, like a renewal. */
let standbyUntil = 0;

async function holdsLease(): Promise<boolean> {
  const now = Date.now();
  if (now < standbyUntil) return false;
  const held = (await lease.hold(now)) !== null;
  if (!held) standbyUntil = now + leaseTtlMs / 3;
  return held;
}

const projector = new Projector({
  ...projectorSettings(config),
  ledger: store,
  readDb,
  shouldRun: holdsLease,
  onCrossings: (crossings) => send({ kind: 'crossings', crossings }),
  log,
});

port.on('message', (message: ProjectorToWorker) => {
  if (message.kind !== 'stop') return;
  void projector
    .stop()
    .then(() => lease.release())
    .then(() => readDb.close())
    .then(() => store.close())
    .finally(() => send({ kind: 'stopped' }));
});
projector.start(config.projectorIdleMs);
send({ kind: 'ready' });
