import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { Migration, MigrationTarget } from '../migrate.js';
import { StoreError } from '../port.js';

const migrationLockWaitSecondsMax = 60;

/**
 * Migrations run under a named lock. The lock is server-wide, so it is named per database
 * (hashed: lock names are at most 64 characters).
 */
export function mysqlMigrationTarget(connection: PoolConnection): MigrationTarget {
  return {
    locked: async (work) => {
      const lockName = "CONCAT('skuld:migrate:', SHA1(DATABASE()))";
      const [[lock]] = await connection.query<RowDataPacket[]>(`SELECT GET_LOCK(${lockName}, ?) AS locked`, [
        migrationLockWaitSecondsMax,
      ]);
      if (Number(lock?.locked) !== 1) throw new StoreError('unavailable', 'another process holds the migration lock');
      try {
        await work({
          exec: async (sql) => {
            await connection.query(sql);
          },
          query: async <T>(sql: string, params: readonly (string | number)[]) => {
            const [rows] = await connection.query(sql, [...params]);
            return rows as T[];
          },
        });
      } finally {
        await connection.query(`SELECT RELEASE_LOCK(${lockName})`);
      }
    },
  };
}

// InnoDB tables, written for MySQL 8 and MariaDB (tested on MariaDB 10.11).
//
// Codes and ids are `ascii` with the binary collation `ascii_bin`: the domain admits only ASCII
// letters, digits and `._:-` in them, so byte order is exactly the engine's code-unit order
// (`compareLevelKeys`) and both agree on the one global lock order. A binary collation also
// makes 'a' and 'A' different keys, as everywhere else. The lengths leave room above the
// domain's limits (64; system ids add a prefix). Free text is utf8mb4. Structured values are
// LONGTEXT holding JSON: written on the hot path and read back whole, never queried inside, so
// the server need not validate or convert them.
//
// DDL is not transactional here. Every statement is idempotent (IF NOT EXISTS, INSERT IGNORE),
// so a migration interrupted halfway is completed by the next run.
export const mysqlMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'inventory core',
    sql: `
      CREATE TABLE IF NOT EXISTS items (
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
        name VARCHAR(200) NOT NULL,
        allow_backorder BOOLEAN NOT NULL,
        created_at BIGINT NOT NULL
      ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
      CREATE TABLE IF NOT EXISTS levels (
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        location VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        on_hand BIGINT NOT NULL,
        reserved BIGINT NOT NULL,
        version BIGINT NOT NULL,
        PRIMARY KEY (sku, location),
        INDEX levels_by_location (location, sku)
      ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
      CREATE TABLE IF NOT EXISTS reservations (
        id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
        status VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        \`lines\` LONGTEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        resolved_at BIGINT NULL,
        INDEX reservations_due (status, expires_at)
      ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
      CREATE TABLE IF NOT EXISTS ledger (
        position BIGINT NOT NULL PRIMARY KEY,
        type VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        location VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        on_hand_delta BIGINT NOT NULL,
        reserved_delta BIGINT NOT NULL,
        on_hand_after BIGINT NOT NULL,
        reserved_after BIGINT NOT NULL,
        quantity BIGINT NOT NULL,
        command_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        reservation_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL,
        expires_at BIGINT NULL,
        peer_location VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
        reason VARCHAR(200) NULL,
        reference VARCHAR(200) NULL,
        actor VARCHAR(128) NOT NULL,
        occurred_at BIGINT NOT NULL,
        recorded_at BIGINT NOT NULL,
        INDEX ledger_by_item (sku, position)
      ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
      CREATE TABLE IF NOT EXISTS commands (
        id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
        type VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        fingerprint VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        outcome LONGTEXT NOT NULL,
        recorded_at BIGINT NOT NULL
      ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
      CREATE TABLE IF NOT EXISTS ledger_head (
        id TINYINT NOT NULL PRIMARY KEY CHECK (id = 1),
        position BIGINT NOT NULL
      ) ENGINE = InnoDB;
      INSERT IGNORE INTO ledger_head (id, position) VALUES (1, 0);
    `,
  },
  {
    version: 2,
    name: 'fencing token on levels',
    sql: 'ALTER TABLE levels ADD COLUMN IF NOT EXISTS fence BIGINT NOT NULL DEFAULT 0;',
  },
  {
    version: 3,
    name: 'a reservation lives in the row of the command that created it',
    // Every statement is idempotent, and the old table is dropped only by the next migration, so
    // an interrupted run is completed by the next. A reservation without its record never came
    // from the engine; one would be carried over with an empty fingerprint, so that a resend
    // under its id is a conflict, not a second hold.
    sql: `
      ALTER TABLE commands
        ADD COLUMN IF NOT EXISTS status VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NULL,
        ADD COLUMN IF NOT EXISTS \`lines\` LONGTEXT NULL,
        ADD COLUMN IF NOT EXISTS created_at BIGINT NULL,
        ADD COLUMN IF NOT EXISTS expires_at BIGINT NULL,
        ADD COLUMN IF NOT EXISTS resolved_at BIGINT NULL;
      UPDATE commands c JOIN reservations r ON r.id = c.id
        SET c.status = r.status, c.\`lines\` = r.\`lines\`, c.created_at = r.created_at,
            c.expires_at = r.expires_at, c.resolved_at = r.resolved_at;
      INSERT IGNORE INTO commands (id, type, fingerprint, outcome, recorded_at, status, \`lines\`, created_at, expires_at, resolved_at)
      SELECT r.id, 'ReserveStock', '',
             CONCAT('{"ok":true,"commandId":', JSON_QUOTE(r.id), ',"position":0,"created":"reservation"}'),
             r.created_at, r.status, r.\`lines\`, r.created_at, r.expires_at, r.resolved_at
      FROM reservations r;
      CREATE INDEX IF NOT EXISTS commands_due ON commands (status, expires_at);
    `,
  },
  {
    version: 4,
    name: 'the former reservations table',
    sql: 'DROP TABLE IF EXISTS reservations;',
  },
  {
    version: 5,
    name: 'API keys (a hash of each, never the key) and the audit of their changes',
    // Idempotent, as every MySQL migration: DDL is not transactional.
    sql: `
      CREATE TABLE IF NOT EXISTS api_keys (
        id VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
        name VARCHAR(64) NOT NULL,
        hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        roles VARCHAR(200) NOT NULL,
        created_at BIGINT NOT NULL,
        created_by VARCHAR(200) NOT NULL,
        expires_at BIGINT NULL,
        last_used_at BIGINT NULL,
        revoked_at BIGINT NULL,
        revoked_by VARCHAR(200) NULL
      ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
      CREATE TABLE IF NOT EXISTS audit_events (
        id VARCHAR(40) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
        at BIGINT NOT NULL,
        actor VARCHAR(200) NOT NULL,
        action VARCHAR(40) NOT NULL,
        subject VARCHAR(64) NOT NULL,
        detail VARCHAR(400) NOT NULL,
        INDEX audit_events_at (at)
      ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
    `,
  },
  {
    version: 6,
    name: 'the ledger is the event store: stream versions, item registrations, append-only',
    // Every event is numbered in its stream (a level's version after it); events written before
    // are numbered here, in position order, as the engine numbered their levels' versions. Then
    // the database itself refuses to change or remove an event (TRUNCATE fires no trigger here:
    // only the privilege keeps it away, see docs/architecture.md). Idempotent: DDL is not
    // transactional, so an interrupted run is completed by the next.
    sql: `
      ALTER TABLE ledger
        ADD COLUMN IF NOT EXISTS stream_version BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN IF NOT EXISTS attributes TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;
      ALTER TABLE items ADD COLUMN IF NOT EXISTS low_stock_threshold BIGINT NULL;
      DROP TRIGGER IF EXISTS ledger_append_only_update;
      DROP TRIGGER IF EXISTS ledger_append_only_delete;
      UPDATE ledger l
      JOIN (SELECT position, ROW_NUMBER() OVER (PARTITION BY sku, location ORDER BY position) AS n FROM ledger) AS numbered
        ON numbered.position = l.position
      SET l.stream_version = numbered.n;
      CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger FOR EACH ROW
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the ledger is append-only: an event cannot be updated';
      CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger FOR EACH ROW
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the ledger is append-only: an event cannot be deleted';
    `,
  },
  {
    version: 7,
    name: 'reconciliation reports: count-sheet imports and verify runs',
    // Idempotent, as every MySQL migration: DDL is not transactional.
    sql: `
      CREATE TABLE IF NOT EXISTS reconciliation_reports (
        id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
        kind VARCHAR(20) NOT NULL,
        created_at BIGINT NOT NULL,
        actor VARCHAR(200) NOT NULL,
        findings BIGINT NOT NULL,
        summary VARCHAR(400) NOT NULL,
        body LONGTEXT NOT NULL
      ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
    `,
  },
  {
    version: 8,
    name: 'leases: one holder at a time for a job across instances, and its checkpoint',
    sql: `
      CREATE TABLE IF NOT EXISTS leases (
        name VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
        holder VARCHAR(200) NOT NULL,
        expires_at BIGINT NOT NULL,
        position BIGINT NOT NULL
      ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
    `,
  },
  {
    version: 9,
    name: 'the table skuld rebuild fills from the ledger before it swaps the levels',
    sql: `
      CREATE TABLE IF NOT EXISTS levels_rebuild (
        sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        location VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
        on_hand BIGINT NOT NULL,
        reserved BIGINT NOT NULL,
        version BIGINT NOT NULL,
        PRIMARY KEY (sku, location)
      ) ENGINE = InnoDB;
    `,
  },
  {
    version: 10,
    name: 'incoming: units on confirmed purchase orders per level, moved by events like the other balances',
    // Every event written before carries no incoming change, so zero is each one's true value.
    sql: `
      ALTER TABLE levels ADD COLUMN IF NOT EXISTS incoming BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE levels_rebuild ADD COLUMN IF NOT EXISTS incoming BIGINT NOT NULL DEFAULT 0;
      ALTER TABLE ledger ADD COLUMN IF NOT EXISTS incoming_delta BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN IF NOT EXISTS incoming_after BIGINT NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 11,
    name: 'instances: each inventory instance sharing the store, its addresses and its last heartbeat',
    sql: `
      CREATE TABLE IF NOT EXISTS instances (
        id VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
        http_url VARCHAR(300) NOT NULL,
        grpc_url VARCHAR(300),
        started_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL
      ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
    `,
  },
];
