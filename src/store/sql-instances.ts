import { type InstanceRecord, type InstanceStore, StoreError } from './port.js';
import type { KeyDatabase } from './sql-keys.js';

// Heartbeats of the inventory instances sharing a store, with the same SQL on every dialect: one
// row per instance, written by that instance only, so no two writers ever meet on a row.

interface InstanceRow {
  id: string;
  http_url: string;
  grpc_url: string | null;
  started_at: number | string;
  last_seen_at: number | string;
}

function instanceFromRow(row: InstanceRow): InstanceRecord {
  return {
    id: row.id,
    httpUrl: row.http_url,
    grpcUrl: row.grpc_url,
    startedAt: Number(row.started_at),
    lastSeenAt: Number(row.last_seen_at),
  };
}

export class SqlInstances implements InstanceStore {
  private readonly db: KeyDatabase;

  constructor(db: KeyDatabase) {
    this.db = db;
  }

  async beat(instance: InstanceRecord): Promise<void> {
    const { id, httpUrl, grpcUrl, startedAt, lastSeenAt } = instance;
    const updated = await this.db.transaction((tx) =>
      tx.run('UPDATE instances SET http_url = ?, grpc_url = ?, last_seen_at = ? WHERE id = ?', [
        httpUrl,
        grpcUrl,
        lastSeenAt,
        id,
      ]),
    );
    if (updated > 0) return;
    try {
      await this.db.transaction((tx) =>
        tx.run('INSERT INTO instances (id, http_url, grpc_url, started_at, last_seen_at) VALUES (?, ?, ?, ?, ?)', [
          id,
          httpUrl,
          grpcUrl,
          startedAt,
          lastSeenAt,
        ]),
      );
    } catch (error) {
      // The row is there (MySQL counts an UPDATE that changed nothing as 0 rows): it was seen.
      if (!(error instanceof StoreError && error.kind === 'conflict')) throw error;
    }
  }

  async list(limit: number): Promise<InstanceRecord[]> {
    const rows = await this.db.rows<InstanceRow>(
      'SELECT id, http_url, grpc_url, started_at, last_seen_at FROM instances ORDER BY last_seen_at DESC, id LIMIT ?',
      [limit],
    );
    return rows.map(instanceFromRow);
  }

  forget(seenBefore: number): Promise<number> {
    return this.db.transaction((tx) => tx.run('DELETE FROM instances WHERE last_seen_at < ?', [seenBefore]));
  }

  async remove(id: string): Promise<void> {
    await this.db.transaction((tx) => tx.run('DELETE FROM instances WHERE id = ?', [id]));
  }
}
