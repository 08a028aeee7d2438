import type { Migration } from '../sql.js';

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
];
