import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SqliteThread } from './sqlite-thread.js';

// The item history's index, off the write path. In the database itself an index on (sku,
// position) is written by every batch: each cold item's entry dirties a page of its own, and on
// W1 the index alone took a third of a batch's statements and half of its commit. Here the
// ledger carries no such index; a thread of the writing store's own keeps one in a file beside
// the database (`<file>-history`), a batch of positions at a time in (sku, position) order, so a
// page is written once for many entries, and on the other core.
//
// The file holds `item_history (sku, position)` and its head: every ledger event up to the head
// is in it. A reader takes the positions up to the head from it and scans the ledger itself
// past the head, in one read transaction, so that a history is whole however far the index
// lags, or if no thread runs at all. The index is derived: it may be deleted at any time, and is
// built again from the ledger. The head names the event at its position (sku and command id);
// if the ledger no longer holds that event there (the database was restored from an older
// copy), readers ignore the index and the thread builds it again from the start.

/** The index's file, beside the database's (its own `-wal` and `-shm` beside it). */
export function historyPathOf(path: string): string {
  return `${path}-history`;
}

const historySchemaSql = `
  CREATE TABLE IF NOT EXISTS item_history (
    sku TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (sku, position)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS history_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL,
    sku TEXT NOT NULL,
    command_id TEXT NOT NULL
  );
  INSERT OR IGNORE INTO history_head (id, position, sku, command_id) VALUES (1, 0, '', '');
`;

/**
 * Creates the index's file and tables if missing (WAL: readers never wait for the thread). A
 * file that is not a database, or a damaged one, is only a lost index: it is removed and
 * started again, to be built from the ledger.
 */
export function prepareHistory(historyPath: string, busyTimeoutMs: number): void {
  try {
    createHistory(historyPath, busyTimeoutMs);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'SQLITE_NOTADB' && code !== 'SQLITE_CORRUPT') throw error;
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${historyPath}${suffix}`, { force: true });
    createHistory(historyPath, busyTimeoutMs);
  }
}

function createHistory(historyPath: string, busyTimeoutMs: number): void {
  const db = new Database(historyPath);
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('journal_mode = WAL');
    db.exec(historySchemaSql);
  } finally {
    db.close();
  }
}

export interface HistoryIndexerOptions {
  readonly path: string;
  readonly historyPath: string;
  /** Pause between passes once the index has caught up with the ledger. */
  readonly intervalMs: number;
  readonly busyTimeoutMs: number;
  /** Ledger events indexed per transaction of the index at most. */
  readonly eventsPerPassMax: number;
}

const workerEntry = new URL('./sqlite-history-worker.mjs', import.meta.url);

export function startHistoryIndexer(options: HistoryIndexerOptions): SqliteThread {
  return new SqliteThread(workerEntry, options);
}
