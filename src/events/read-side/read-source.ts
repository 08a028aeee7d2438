import type { Log } from '../../log.js';
import { StartupError } from '../../startup-error.js';
import { resetModels } from './projector.js';
import type { ReadDb } from './read-db.js';
import { readModelNames } from './read-models.js';

// A read database follows one store. Its checkpoints are positions in that store's ledger: fed
// from another store, the read models would mix two ledgers without a trace. The first process
// to use it records the store's identity. A process of another store is refused when the read
// database was named (SKULD_READ_DATABASE_URL); the default file, derived data in a place of the
// process's choosing, is emptied instead, to be rebuilt from this store's ledger.

export async function claimReadDatabase(
  db: ReadDb,
  source: string,
  options: { readonly named: boolean; readonly log: Log },
): Promise<void> {
  const other = await db.transaction(async (tx) => {
    const [row] = await tx.rows<{ source: string }>('SELECT source FROM read_source WHERE id = 1', []);
    if (row === undefined) await tx.run('INSERT INTO read_source (id, source) VALUES (1, ?)', [source]);
    if (row === undefined || row.source === source || options.named) return row?.source;
    await resetModels(tx, readModelNames, Date.now());
    await tx.run('UPDATE read_source SET source = ? WHERE id = 1', [source]);
    return row.source;
  });
  if (other === undefined || other === source) return;
  if (options.named) {
    throw new StartupError(
      'CONFIG_INVALID',
      `SKULD_READ_DATABASE_URL holds the read models of another store (${other}, not ${source}): give each store a read database of its own`,
    );
  }
  options.log.warn(
    { previous: other, source },
    'the read database followed another store: it is rebuilt from this one',
  );
}
