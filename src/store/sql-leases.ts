import { type Lease, type LeaseStore, StoreError } from './port.js';
import type { KeyDatabase, KeyTransaction } from './sql-keys.js';

// Leases, with the same SQL on every dialect. A lease names a job that must run in one instance
// at a time across all of them (a relay per destination, the reconciliation schedule): its row
// says who holds it and until when, and carries the job's checkpoint, which only the holder may
// move. A holder that dies stops renewing; once its lease has expired, the next instance to ask
// takes it over and resumes from the checkpoint. Every change is a conditional UPDATE of one row,
// so two instances asking at once are serialized by the row: one wins, the other sees it.

interface LeaseRow {
  name: string;
  holder: string;
  expires_at: number | string;
  position: number | string;
}

function leaseFromRow(row: LeaseRow): Lease {
  return {
    name: row.name,
    holder: row.holder,
    expiresAt: Number(row.expires_at),
    position: Number(row.position),
  };
}

const selectSql = 'SELECT name, holder, expires_at, position FROM leases WHERE name = ?';

export class SqlLeases implements LeaseStore {
  private readonly db: KeyDatabase;

  constructor(db: KeyDatabase) {
    this.db = db;
  }

  async acquire(name: string, holder: string, now: number, until: number): Promise<boolean> {
    await this.create(name, holder);
    return this.db.transaction(async (tx) => {
      await tx.run('UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at <= ?)', [
        holder,
        until,
        name,
        holder,
        now,
      ]);
      return (await current(tx, name))?.holder === holder;
    });
  }

  async release(name: string, holder: string): Promise<void> {
    await this.db.transaction((tx) =>
      // Expired at once rather than deleted: the checkpoint stays for whoever takes it next.
      tx.run('UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?', [name, holder]),
    );
  }

  async get(name: string): Promise<Lease | undefined> {
    const [row] = await this.db.rows<LeaseRow>(selectSql, [name]);
    return row === undefined ? undefined : leaseFromRow(row);
  }

  async advance(name: string, holder: string, now: number, position: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const changed = await tx.run(
        'UPDATE leases SET position = ? WHERE name = ? AND holder = ? AND expires_at > ? AND position <= ?',
        [position, name, holder, now, position],
      );
      return changed === 1;
    });
  }

  /** The lease's row, free (expired at 0) with its checkpoint at 0, unless it exists already. */
  private async create(name: string, holder: string): Promise<void> {
    if ((await this.get(name)) !== undefined) return;
    try {
      await this.db.transaction((tx) =>
        tx.run('INSERT INTO leases (name, holder, expires_at, position) VALUES (?, ?, ?, 0)', [name, holder, 0]),
      );
    } catch (error) {
      // Another instance created it first: it is there, which is all this wanted.
      if (!(error instanceof StoreError && error.kind === 'conflict')) throw error;
    }
  }
}

async function current(tx: KeyTransaction, name: string): Promise<Lease | undefined> {
  const [row] = await tx.rows<LeaseRow>(selectSql, [name]);
  return row === undefined ? undefined : leaseFromRow(row);
}
