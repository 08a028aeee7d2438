// The SQLite item history's thread (see sqlite-history.ts): it reads the ledger's new events on
// a read-only connection to the database and writes their (sku, position) into the index's own
// file, in that order, with the index's head, in one transaction of that file per pass. It never
// takes the database's write lock. Plain JavaScript: it needs nothing but the driver.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, historyPath, intervalMs, busyTimeoutMs, eventsPerPassMax } = workerData;
const main = new Database(path, { readonly: true });
main.pragma(`busy_timeout = ${busyTimeoutMs}`);
const history = new Database(historyPath);
history.pragma(`busy_timeout = ${busyTimeoutMs}`);
// The index is built again from the ledger whatever it loses: a commit need not wait for the disk.
history.pragma('synchronous = NORMAL');

const indexHead = history.prepare('SELECT position, sku, command_id AS commandId FROM history_head WHERE id = 1');
const ledgerHead = main.prepare('SELECT position FROM ledger_head WHERE id = 1').pluck();
const eventAt = main.prepare('SELECT sku, command_id AS commandId FROM ledger WHERE position = ?');
const eventsBetween = main.prepare(
  'SELECT sku, position FROM ledger WHERE position > ? AND position <= ? ORDER BY sku, position',
);
const insert = history.prepare('INSERT OR IGNORE INTO item_history (sku, position) VALUES (?, ?)');
const moveHead = history.prepare('UPDATE history_head SET position = ?, sku = ?, command_id = ? WHERE id = 1');

/**
 * The events past `from` that the index lacks, at most a pass's worth, read in one snapshot of
 * the database; undefined if there are none. (The store checked the head against the ledger
 * when it migrated.)
 */
const readNew = main.transaction((from) => {
  const top = ledgerHead.get() ?? 0;
  const to = Math.min(top, from + eventsPerPassMax);
  if (to <= from) return undefined;
  return { to, events: eventsBetween.all(from, to), last: eventAt.get(to), more: to < top };
});

const write = history.transaction((from, found) => {
  // Another process's thread may have moved the head since it was read: the next pass reads again.
  if (indexHead.get().position !== from) return;
  for (const event of found.events) insert.run(event.sku, event.position);
  moveHead.run(found.to, found.last.sku, found.last.commandId);
});

/** One pass; true if the ledger holds more than it indexed. */
function pass() {
  const from = indexHead.get().position;
  const found = readNew(from);
  if (found === undefined) return false;
  write.immediate(from, found);
  return found.more;
}

let timer;
let stopping = false;
function run() {
  timer = undefined;
  let more = false;
  try {
    more = pass();
  } catch (error) {
    // A busy file or a passing I/O error: readers scan the ledger past the head meanwhile.
    parentPort?.postMessage({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
  }
  if (!stopping) timer = setTimeout(run, more ? 0 : intervalMs);
}

timer = setTimeout(run, 0);
parentPort?.on('message', (message) => {
  if (message?.kind !== 'stop') return;
  stopping = true;
  if (timer !== undefined) clearTimeout(timer);
  main.close();
  history.close();
  parentPort?.postMessage({ kind: 'stopped' });
});
