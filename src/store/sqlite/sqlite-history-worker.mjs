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
const clear = history.prepare('DELETE FROM item_history');
const insert = history.prepare('INSERT OR IGNORE INTO item_history (sku, position) VALUES (?, ?)');
const moveHead = history.prepare('UPDATE history_head SET position = ?, sku = ?, command_id = ? WHERE id = 1');

/** Whether the ledger still holds, at the head's position, the event the head names. */
function holds(head) {
  if (head.position === 0) return true;
  const event = eventAt.get(head.position);
  return event !== undefined && event.sku === head.sku && event.commandId === head.commandId;
}

/** Reads what the index lacks, in one snapshot of the database. */
const readNew = main.transaction((head) => {
  const top = ledgerHead.get() ?? 0;
  const valid = head.position <= top && holds(head);
  const from = valid ? head.position : 0;
  const to = Math.min(top, from + eventsPerPassMax);
  if (to <= from) return { valid, from, to, events: [], last: undefined, more: false };
  return { valid, from, to, events: eventsBetween.all(from, to), last: eventAt.get(to), more: to < top };
});

const write = history.transaction((head, found) => {
  // Another process's thread may have moved the head since it was read: the next pass reads again.
  const now = indexHead.get();
  if (now.position !== head.position || now.sku !== head.sku || now.commandId !== head.commandId) return;
  if (!found.valid) clear.run();
  for (const event of found.events) insert.run(event.sku, event.position);
  moveHead.run(found.to, found.last?.sku ?? '', found.last?.commandId ?? '');
});

/** One pass; true if the ledger holds more than it indexed. */
function pass() {
  const head = indexHead.get();
  const found = readNew(head);
  if (found.valid && found.to <= found.from) return false;
  write.immediate(head, found);
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
