import type { SqlParam } from './sql-reads.js';

// One migration runner for every dialect. A dialect says how it holds its migration lock and
// runs SQL; which migrations are applied, in what order, and how that is recorded is decided here.

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** One or more statements, run as one script. */
  readonly sql: string;
}

/** A connection that holds the dialect's migration lock. */
export interface MigrationConnection {
  /** Runs a script of one or more statements without parameters. */
  exec(sql: string): Promise<void>;
  query<T>(sql: string, params: readonly SqlParam[]): Promise<T[]>;
}

/**
 * How a dialect serializes migrations: `locked` runs the work holding a lock that every process
 * migrating this database takes (an advisory lock, a named lock, the write lock), so that of
 * several processes starting at once one migrates and the others wait, then find it done.
 */
export interface MigrationTarget {
  locked(work: (connection: MigrationConnection) => Promise<void>): Promise<void>;
}

/** Types every dialect reads alike; a table made by an earlier release keeps its own. */
const migrationsTableSql =
  'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL)';

/** Applies the migrations not yet recorded, in version order, each recorded once applied. */
export async function runMigrations(
  target: MigrationTarget,
  migrations: readonly Migration[],
  now: () => number = Date.now,
): Promise<void> {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  await target.locked(async (connection) => {
    await connection.exec(migrationsTableSql);
    const rows = await connection.query<{ version: number | string }>('SELECT version FROM schema_migrations', []);
    const applied = new Set(rows.map((row) => Number(row.version)));
    for (const migration of ordered) {
      if (applied.has(migration.version)) continue;
      await connection.exec(migration.sql);
      await connection.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        now(),
      ]);
    }
  });
}
