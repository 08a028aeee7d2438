// The SQLite checkpointer's thread (see sqlite-checkpointer.ts): every interval, a PASSIVE
// checkpoint on a connection of its own copies committed WAL frames into the database file. It
// never waits for the writer or the readers, and its reads, writes and syncs block only this
// thread. Plain JavaScript: it needs nothing but the driver.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, intervalMs, busyTimeoutMs } = workerData;
const db = new Database(path);
db.pragma(`busy_timeout = ${busyTimeoutMs}`);

function checkpoint() {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    // A busy database or a passing I/O error: the writer's own checkpoints are the backstop.
    parentPort?.postMessage({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
  }
}

const timer = setInterval(checkpoint, intervalMs);
parentPort?.on('message', (message) => {
  if (message?.kind !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort?.postMessage({ kind: 'stopped' });
});
