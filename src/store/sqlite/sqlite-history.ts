import { rmSync } from 'node:fs';
import type Database from 'better-sqlite3';
import BetterSqlite from 'better-sqlite3';
import type { Log } from '../../log.js';
import { SqliteThread } from './sqlite-thread.js';

// The item history's index, off the write path. In the database itself an index on (sku,
// position) is written by every batch: each cold item's entry dirties a page of its own, and on
// W1 the index alone took over a third of a batch's statements and about half of its commit. Here the
// ledger carries no such index; a thread of the writing store's own keeps one in a file beside
// the database (`<file>-history`), a batch of positions at a time in (sku, position) order, so a
// page is written once for many entries, and on the other core.
//
// The file holds `item_history (sku, position)` and its head: every ledger event up to the head
// is in it. A reader takes the positions up to the head from it and scans the ledger itself
// past the head, in one read transaction, so that a history is whole however far the index
// lags, or if no thread runs at all. The index is derived: it may be deleted at any time, and is
// built again from the ledger. The head names the event at its position (sku and command id);
// when the store migrates, an index whose head the ledger no longer holds there (the database
// was restored from an older copy) is emptied, to be built again from the start.

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
  const db = new BetterSqlite(historyPath);
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('journal_mode = WAL');
    db.exec(historySchemaSql);
  } finally {
    db.close();
  }
}

/**
 * Empties the index if the ledger no longer holds, at the index's head, the event the head
 * names. `reader` is a connection with the index attached as `history`.
 */
export function forgetStaleHistory(reader: Database.Database, historyPath: string, busyTimeoutMs: number): void {
  const head = reader
    .prepare(
      `SELECT h.position AS position, l.position IS NOT NULL AS held FROM history.history_head h
       LEFT JOIN ledger l ON l.position = h.position AND l.sku = h.sku AND l.command_id = h.command_id
       WHERE h.id = 1`,
    )
    .get() as { position: number; held: number } | undefined;
  if (head === undefined || head.position === 0 || head.held === 1) return;
  const db = new BetterSqlite(historyPath);
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.transaction(() => {
      db.exec("DELETE FROM item_history; UPDATE history_head SET position = 0, sku = '', command_id = '' WHERE id = 1");
    }).immediate();
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

export function startHistoryIndexer(options: HistoryIndexerOptions, log: Log): SqliteThread {
  return new SqliteThread(workerEntry, options, 'item history', log);
}
