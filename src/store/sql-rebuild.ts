import type { LedgerEvent, Level } from '../domain/index.js';
import type { LevelRebuildStore, RebuildSwap } from './port.js';
import { eventFromRow, type LedgerRow } from './rows.js';
import { ledgerColumns } from './sql.js';
import type { KeyDatabase, KeyParam, KeyTransaction } from './sql-keys.js';

// `skuld rebuild`'s table, with the same SQL on every dialect but for how the swap takes its
// locks and how an UPDATE joins another table. The levels rebuilt from the ledger are written to
// `levels_rebuild` while the service runs; then one transaction that holds every level and the
// ledger head (so no batch commits meanwhile) folds in the events committed since, and makes
// `levels` equal to `levels_rebuild`: the rows that differ are updated, missing ones inserted,
// rows no event explains deleted. The levels table keeps its indexes, settings and locks' order.

/** How a dialect takes the swap's locks and joins the two tables in an UPDATE. */
export interface RebuildDialect {
  /** Statements that make the transaction the only writer of the levels, ending with the ledger head's lock. */
  readonly lock: readonly string[];
  /** Sets each level to its rebuilt row where they differ; returns rows changed. */
  readonly updateFromRebuilt: string;
}

const changed = (a: string) =>
  `(${a}.on_hand <> r.on_hand OR ${a}.reserved <> r.reserved OR ${a}.incoming <> r.incoming OR ${a}.version <> r.version)`;

/** `UPDATE … FROM`, as PostgreSQL and SQLite spell it. */
export const updateFromSql = `UPDATE levels
  SET on_hand = r.on_hand, reserved = r.reserved, incoming = r.incoming, version = r.version
  FROM levels_rebuild r WHERE levels.sku = r.sku AND levels.location = r.location AND ${changed('levels')}`;

/** `UPDATE … JOIN`, as MySQL spells it. */
export const updateJoinSql = `UPDATE levels l JOIN levels_rebuild r ON l.sku = r.sku AND l.location = r.location
  SET l.on_hand = r.on_hand, l.reserved = r.reserved, l.incoming = r.incoming, l.version = r.version WHERE ${changed('l')}`;

const insertMissingSql = `INSERT INTO levels (sku, location, on_hand, reserved, incoming, version, fence)
  SELECT r.sku, r.location, r.on_hand, r.reserved, r.incoming, r.version, 0 FROM levels_rebuild r
  WHERE NOT EXISTS (SELECT 1 FROM levels l WHERE l.sku = r.sku AND l.location = r.location)`;

const deleteUnexplainedSql = `DELETE FROM levels
  WHERE NOT EXISTS (SELECT 1 FROM levels_rebuild r WHERE r.sku = levels.sku AND r.location = levels.location)`;

/** Rows a multi-row INSERT carries: 6 values each, far below every dialect's bound on parameters. */
export const rebuildRowsPerInsertMax = 1_000;

export class SqlRebuild implements LevelRebuildStore {
  private readonly db: KeyDatabase;
  private readonly dialect: RebuildDialect;

  constructor(db: KeyDatabase, dialect: RebuildDialect) {
    this.db = db;
    this.dialect = dialect;
  }

  async clear(): Promise<void> {
    await this.db.transaction((tx) => tx.run('DELETE FROM levels_rebuild', []));
  }

  async add(levels: readonly Level[]): Promise<void> {
    await this.db.transaction((tx) => insertRebuilt(tx, levels));
  }

  swap(through: number, finish: (tail: readonly LedgerEvent[]) => readonly Level[]): Promise<RebuildSwap> {
    return this.db.transaction(async (tx) => {
      for (const statement of this.dialect.lock) await tx.rows(statement, []);
      const [headRow] = await tx.rows<{ position: number | string }>(
        'SELECT position FROM ledger_head WHERE id = 1',
        [],
      );
      const head = Number(headRow?.position ?? 0);
      const tail = (
        await tx.rows<LedgerRow>(
          `SELECT ${ledgerColumns} FROM ledger WHERE position > ? AND position <= ? ORDER BY position`,
          [through, head],
        )
      ).map(eventFromRow);
      const touched = finish(tail);
      for (const level of touched) {
        await tx.run('DELETE FROM levels_rebuild WHERE sku = ? AND location = ?', [level.sku, level.location]);
      }
      await insertRebuilt(tx, touched);
      const updated = await tx.run(this.dialect.updateFromRebuilt, []);
      const inserted = await tx.run(insertMissingSql, []);
      const deleted = await tx.run(deleteUnexplainedSql, []);
      return { head, tailEvents: tail.length, updated, inserted, deleted };
    });
  }
}

async function insertRebuilt(tx: KeyTransaction, levels: readonly Level[]): Promise<void> {
  for (let from = 0; from < levels.length; from += rebuildRowsPerInsertMax) {
    const rows = levels.slice(from, from + rebuildRowsPerInsertMax);
    const params: KeyParam[] = [];
    for (const l of rows) params.push(l.sku, l.location, l.onHand, l.reserved, l.incoming, l.version);
    await tx.run(
      `INSERT INTO levels_rebuild (sku, location, on_hand, reserved, incoming, version) VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
      params,
    );
  }
}
