import type Database from 'better-sqlite3';
import type { Migration, MigrationTarget } from '../migrate.js';

/** How long a migration waits for another connection's write lock on the database. */
const migrationLockWaitMsMax = 60_000;
const migrationLockPollMs = 10;

/**
 * Takes the database's write lock, polling instead of letting SQLite's busy handler wait: that
 * handler would block this thread, and with it another store of this process that holds the lock
 * across an await.
 */
async function beginImmediate(db: Database.Database): Promise<void> {
  const busyTimeoutMs = db.pragma('busy_timeout', { simple: true }) as number;
  const deadline = Date.now() + migrationLockWaitMsMax;
  db.pragma('busy_timeout = 0');
  try {
    for (;;) {
      try {
        db.exec('BEGIN IMMEDIATE');
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, migrationLockPollMs));
      }
    }
  } finally {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  }
}

/**
 * Migrations run in one write transaction (BEGIN IMMEDIATE takes the database's write lock, and
 * DDL is transactional): a process that starts meanwhile waits, then finds them done.
 */
export function sqliteMigrationTarget(db: Database.Database): MigrationTarget {
  return {
    locked: async (work) => {
      await beginImmediate(db);
      try {
        await work({
          exec: async (sql) => {
            db.exec(sql);
          },
          query: async <T>(sql: string, params: readonly (string | number)[]) => {
            const statement = db.prepare(sql);
            if (statement.reader) return statement.all(...params) as T[];
            statement.run(...params);
            return [];
          },
        });
        db.exec('COMMIT');
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },
  };
}

export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'inventory core',
    sql: `
      CREATE TABLE items (
        sku TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        allow_backorder INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE levels (
        sku TEXT NOT NULL,
        location TEXT NOT NULL,
        on_hand INTEGER NOT NULL,
        reserved INTEGER NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (sku, location)
      ) WITHOUT ROWID;
      CREATE INDEX levels_by_location ON levels (location, sku);
      CREATE TABLE reservations (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        lines TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        resolved_at INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX reservations_due ON reservations (expires_at) WHERE status = 'pending';
      CREATE TABLE ledger (
        position INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        sku TEXT NOT NULL,
        location TEXT NOT NULL,
        on_hand_delta INTEGER NOT NULL,
        reserved_delta INTEGER NOT NULL,
        on_hand_after INTEGER NOT NULL,
        reserved_after INTEGER NOT NULL,
        quantity INTEGER NOT NULL,
        command_id TEXT NOT NULL,
        reservation_id TEXT,
        expires_at INTEGER,
        peer_location TEXT,
        reason TEXT,
        reference TEXT,
        actor TEXT NOT NULL,
        occurred_at INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL
      );
      CREATE INDEX ledger_by_item ON ledger (sku, position);
      CREATE TABLE commands (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        outcome TEXT NOT NULL,
        recorded_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE ledger_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        position INTEGER NOT NULL
      );
      INSERT INTO ledger_head (id, position) VALUES (1, 0);
    `,
  },
  {
    version: 2,
    name: 'fencing token on levels',
    sql: 'ALTER TABLE levels ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;',
  },
  {
    version: 3,
    name: 'a reservation lives in the row of the command that created it',
    // A reservation without its record never came from the engine; one would be carried over
    // with an empty fingerprint, so that a resend under its id is a conflict, not a second hold.
    sql: `
      ALTER TABLE commands ADD COLUMN status TEXT;
      ALTER TABLE commands ADD COLUMN lines TEXT;
      ALTER TABLE commands ADD COLUMN created_at INTEGER;
      ALTER TABLE commands ADD COLUMN expires_at INTEGER;
      ALTER TABLE commands ADD COLUMN resolved_at INTEGER;
      UPDATE commands SET status = r.status, lines = r.lines, created_at = r.created_at,
                          expires_at = r.expires_at, resolved_at = r.resolved_at
      FROM reservations r WHERE r.id = commands.id;
      INSERT INTO commands (id, type, fingerprint, outcome, recorded_at, status, lines, created_at, expires_at, resolved_at)
      SELECT r.id, 'ReserveStock', '',
             json_object('ok', json('true'), 'commandId', r.id, 'position', 0, 'created', 'reservation'),
             r.created_at, r.status, r.lines, r.created_at, r.expires_at, r.resolved_at
      FROM reservations r WHERE NOT EXISTS (SELECT 1 FROM commands c WHERE c.id = r.id);
      DROP TABLE reservations;
      CREATE INDEX commands_due ON commands (expires_at) WHERE status = 'pending';
    `,
  },
  {
    version: 4,
    name: 'the item history is indexed off the write path',
    // Its index lives in a file of its own, kept by a thread of the store's (sqlite-history.ts).
    sql: 'DROP INDEX ledger_by_item;',
  },
  {
    version: 5,
    name: 'API keys (a hash of each, never the key) and the audit of their changes',
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        hash TEXT NOT NULL,
        roles TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        expires_at INTEGER,
        last_used_at INTEGER,
        revoked_at INTEGER,
        revoked_by TEXT
      );
      CREATE TABLE audit_events (
        id TEXT PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail TEXT NOT NULL
      );
      CREATE INDEX audit_events_at ON audit_events (at);
    `,
  },
  {
    version: 6,
    name: 'the ledger is the event store: stream versions, item registrations, append-only',
    // Every event is numbered in its stream (a level's version after it); events written before
    // are numbered here, in position order, as the engine numbered their levels' versions. Then
    // the database itself refuses to change or remove an event, whoever asks.
    sql: `
      ALTER TABLE ledger ADD COLUMN stream_version INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE ledger ADD COLUMN attributes TEXT;
      UPDATE ledger SET stream_version = numbered.n
      FROM (SELECT position, ROW_NUMBER() OVER (PARTITION BY sku, location ORDER BY position) AS n FROM ledger) AS numbered
      WHERE numbered.position = ledger.position;
      ALTER TABLE items ADD COLUMN low_stock_threshold INTEGER;
      CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger
      BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: an event cannot be updated'); END;
      CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger
      BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: an event cannot be deleted'); END;
    `,
  },
  {
    version: 7,
    name: 'reconciliation reports: count-sheet imports and verify runs',
    sql: `
      CREATE TABLE reconciliation_reports (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        findings INTEGER NOT NULL,
        summary TEXT NOT NULL,
        body TEXT NOT NULL
      );
    `,
  },
  {
    version: 8,
    name: 'leases: one holder at a time for a job across instances, and its checkpoint',
    sql: `
      CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        position INTEGER NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'the table skuld rebuild fills from the ledger before it swaps the levels',
    sql: `
      CREATE TABLE levels_rebuild (
        sku TEXT NOT NULL,
        location TEXT NOT NULL,
        on_hand INTEGER NOT NULL,
        reserved INTEGER NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (sku, location)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 10,
    name: 'incoming: units on confirmed purchase orders per level, moved by events like the other balances',
    // Every event written before carries no incoming change, so zero is each one's true value.
    sql: `
      ALTER TABLE levels ADD COLUMN incoming INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE levels_rebuild ADD COLUMN incoming INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE ledger ADD COLUMN incoming_delta INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE ledger ADD COLUMN incoming_after INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 11,
    name: 'instances: each inventory instance sharing the store, its addresses and its last heartbeat',
    sql: `
      CREATE TABLE instances (
        id TEXT PRIMARY KEY,
        http_url TEXT NOT NULL,
        grpc_url TEXT,
        started_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      );
    `,
  },
];
