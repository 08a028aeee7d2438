// The SQL of the SQLite store: its write statements, prepared once per writer connection, and
// the reads that differ from the other dialects'.

import type Database from 'better-sqlite3';
import { commandColumns, ledgerColumns, reservationColumns } from '../sql.js';

const qualifiedLedgerColumns = ledgerColumns
  .split(', ')
  .map((column) => `l.${column}`)
  .join(', ');
/** Indexed events of an item: (after, through], the index's head at most. */
export const indexedHistorySql = `
  SELECT ${qualifiedLedgerColumns} FROM history.item_history h
  JOIN ledger l ON l.position = h.position AND l.sku = h.sku
  WHERE h.sku = ? AND h.position > ? AND h.position <= ? ORDER BY h.position LIMIT ?`;
/** Events of an item past the index's head: a scan of the ledger from there. */
export const unindexedHistorySql = `
  SELECT ${ledgerColumns} FROM ledger WHERE position > ? AND sku = ? ORDER BY position LIMIT ?`;

const reservationSql = `SELECT ${reservationColumns} FROM commands WHERE id = ? AND status IS NOT NULL`;

/** The write session's statements on the writer connection. */
export function prepareWriteStatements(db: Database.Database) {
  const prepare = (sql: string) => db.prepare(sql);
  return {
    item: prepare('SELECT * FROM items WHERE sku = ?'),
    reservation: prepare(reservationSql),
    level: prepare('SELECT * FROM levels WHERE sku = ? AND location = ?'),
    command: prepare('SELECT * FROM commands WHERE id = ?'),
    claim: prepare('UPDATE ledger_head SET position = position + ? WHERE id = 1 RETURNING position'),
    insertItem: prepare(
      'INSERT INTO items (sku, name, allow_backorder, created_at, low_stock_threshold) VALUES (?, ?, ?, ?, ?)',
    ),
    insertLevel: prepare(
      'INSERT INTO levels (sku, location, on_hand, reserved, incoming, version, fence) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    updateLevel: prepare(
      'UPDATE levels SET on_hand = ?, reserved = ?, incoming = ?, version = ? WHERE sku = ? AND location = ?',
    ),
    // Compare-and-set: the version read, and a fencing token newer than the last one written.
    swapLevel: prepare(
      `UPDATE levels SET on_hand = ?, reserved = ?, incoming = ?, version = ?, fence = MAX(fence, ?)
       WHERE sku = ? AND location = ? AND version = ? AND fence < ?`,
    ),
    updateReservation: prepare(
      'UPDATE commands SET status = ?, lines = ?, resolved_at = ? WHERE id = ? AND status IS NOT NULL',
    ),
    insertEvent: prepare(`INSERT INTO ledger (${ledgerColumns}) VALUES (${Array(22).fill('?').join(', ')})`),
    insertCommand: prepare(`INSERT INTO commands (${commandColumns}) VALUES (${Array(10).fill('?').join(', ')})`),
  };
}

export type WriteStatements = ReturnType<typeof prepareWriteStatements>;
