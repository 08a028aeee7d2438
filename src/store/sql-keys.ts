import { type ApiKeyRecord, type AuditEvent, type KeyStore, keysListMax } from './port.js';
import type { SqlParam } from './sql-reads.js';

// API keys and their audit events, with the same SQL on every dialect (`?` placeholders). A
// dialect supplies how it runs a query and a short transaction; key writes are rare (create,
// revoke, a use recorded at most once a minute per key), so they never touch the write path.

/** A value bound to a placeholder of the key tables: NULL stands for "never" and "nobody". */
export type KeyParam = SqlParam | null;

export interface KeyTransaction {
  rows<T>(sql: string, params: readonly KeyParam[]): Promise<T[]>;
  /** Runs a statement; returns the rows it changed. */
  run(sql: string, params: readonly KeyParam[]): Promise<number>;
}

export interface KeyDatabase {
  rows<T>(sql: string, params: readonly KeyParam[]): Promise<T[]>;
  transaction<T>(work: (tx: KeyTransaction) => Promise<T>): Promise<T>;
}

interface KeyRow {
  id: string;
  name: string;
  hash: string;
  roles: string;
  created_at: number | string;
  created_by: string;
  expires_at: number | string | null;
  last_used_at: number | string | null;
  revoked_at: number | string | null;
  revoked_by: string | null;
}

interface AuditRow {
  id: string;
  at: number | string;
  actor: string;
  action: string;
  subject: string;
  detail: string;
}

const orNull = (value: number | string | null) => (value === null ? null : Number(value));

function keyFromRow(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    hash: row.hash,
    roles: row.roles === '' ? [] : row.roles.split(','),
    createdAt: Number(row.created_at),
    createdBy: row.created_by,
    expiresAt: orNull(row.expires_at),
    lastUsedAt: orNull(row.last_used_at),
    revokedAt: orNull(row.revoked_at),
    revokedBy: row.revoked_by,
  };
}

function auditFromRow(row: AuditRow): AuditEvent {
  return { ...row, at: Number(row.at), action: row.action as AuditEvent['action'] };
}

const insertAuditSql = 'INSERT INTO audit_events (id, at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)';

function auditParams(audit: AuditEvent): KeyParam[] {
  return [audit.id, audit.at, audit.actor, audit.action, audit.subject, audit.detail];
}

export class SqlKeys implements KeyStore {
  /** The dialect's queries and short transactions; the reports table (sql-reports.ts) shares it. */
  readonly db: KeyDatabase;

  constructor(db: KeyDatabase) {
    this.db = db;
  }

  async createKey(record: ApiKeyRecord, audit: AuditEvent): Promise<void> {
    const sql =
      'INSERT INTO api_keys (id, name, hash, roles, created_at, created_by, expires_at, last_used_at, revoked_at, revoked_by) ' +
      'VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)';
    const params = [
      record.id,
      record.name,
      record.hash,
      record.roles.join(','),
      record.createdAt,
      record.createdBy,
      record.expiresAt,
    ];
    await this.db.transaction(async (tx) => {
      await tx.run(sql, params);
      await tx.run(insertAuditSql, auditParams(audit));
    });
  }

  async getKey(id: string): Promise<ApiKeyRecord | undefined> {
    const [row] = await this.db.rows<KeyRow>('SELECT * FROM api_keys WHERE id = ?', [id]);
    return row === undefined ? undefined : keyFromRow(row);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    const rows = await this.db.rows<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, id LIMIT ?', [keysListMax]);
    return rows.map(keyFromRow);
  }

  async countKeys(): Promise<number> {
    const [row] = await this.db.rows<{ n: number | string }>('SELECT COUNT(*) AS n FROM api_keys', []);
    return Number(row?.n ?? 0);
  }

  async revokeKey(id: string, at: number, by: string, audit: AuditEvent): Promise<boolean> {
    const sql = 'UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL';
    return this.db.transaction(async (tx) => {
      if ((await tx.run(sql, [at, by, id])) === 0) return false;
      await tx.run(insertAuditSql, auditParams(audit));
      return true;
    });
  }

  async touchKey(id: string, at: number, notBefore: number): Promise<void> {
    const sql = 'UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)';
    await this.db.transaction((tx) => tx.run(sql, [at, id, notBefore]));
  }

  async auditEvents(afterAt: number, limit: number): Promise<AuditEvent[]> {
    const sql = 'SELECT * FROM audit_events WHERE at > ? ORDER BY at, id LIMIT ?';
    return (await this.db.rows<AuditRow>(sql, [afterAt, limit])).map(auditFromRow);
  }
}
