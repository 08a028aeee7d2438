import type { Migration, MigrationTarget } from '../migrate.js';
import { numbered, type Sql } from './postgres-sql.js';

const migrationLockKey = 0x736b756c64; // "skuld"

/**
 * Migrations run in one transaction under an advisory lock (DDL is transactional here): a
 * migration that fails leaves nothing behind. The schema is created first if one is named.
 */
export function postgresMigrationTarget(sql: Sql, schema: string | undefined): MigrationTarget {
  return {
    locked: async (work) => {
      await sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(${migrationLockKey})`;
        if (schema !== undefined) await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await work({
          exec: async (text) => {
            await tx.unsafe(text);
          },
          query: async <T>(text: string, params: readonly (string | number)[]) =>
            (await tx.unsafe(numbered(text), [...params])) as unknown as T[],
        });
      });
    },
  };
}

// Codes compare by code unit (COLLATE "C"): the database sorts level keys exactly as the engine
// does, so both agree on the one global lock order. Structured values are `json`, not `jsonb`:
// they are written on the hot path and read back whole, never queried inside, and json costs
// the writer half as much.
export const postgresMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'inventory core',
    sql: `
      CREATE TABLE items (
        sku text COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        allow_backorder boolean NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE TABLE levels (
        sku text COLLATE "C" NOT NULL,
        location text COLLATE "C" NOT NULL,
        on_hand bigint NOT NULL,
        reserved bigint NOT NULL,
        version bigint NOT NULL,
        PRIMARY KEY (sku, location)
      ) WITH (fillfactor = 80);
      CREATE INDEX levels_by_location ON levels (location, sku);
      CREATE TABLE reservations (
        id text COLLATE "C" PRIMARY KEY,
        status text NOT NULL,
        lines json NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        resolved_at bigint
      );
      CREATE INDEX reservations_due ON reservations (expires_at) WHERE status = 'pending';
      CREATE TABLE ledger (
        position bigint PRIMARY KEY,
        type text NOT NULL,
        sku text COLLATE "C" NOT NULL,
        location text COLLATE "C" NOT NULL,
        on_hand_delta bigint NOT NULL,
        reserved_delta bigint NOT NULL,
        on_hand_after bigint NOT NULL,
        reserved_after bigint NOT NULL,
        quantity bigint NOT NULL,
        command_id text NOT NULL,
        reservation_id text,
        expires_at bigint,
        peer_location text,
        reason text,
        reference text,
        actor text NOT NULL,
        occurred_at bigint NOT NULL,
        recorded_at bigint NOT NULL
      );
      CREATE INDEX ledger_by_item ON ledger (sku, position);
      CREATE TABLE commands (
        id text COLLATE "C" PRIMARY KEY,
        type text NOT NULL,
        fingerprint text NOT NULL,
        outcome json NOT NULL,
        recorded_at bigint NOT NULL
      );
      CREATE TABLE ledger_head (
        id integer PRIMARY KEY CHECK (id = 1),
        position bigint NOT NULL
      );
      INSERT INTO ledger_head (id, position) VALUES (1, 0);
    `,
  },
  {
    version: 2,
    name: 'fencing token on levels',
    sql: 'ALTER TABLE levels ADD COLUMN fence bigint NOT NULL DEFAULT 0;',
  },
  {
    version: 3,
    name: 'a reservation lives in the row of the command that created it',
    // A reservation without its record never came from the engine; one would be carried over
    // with an empty fingerprint, so that a resend under its id is a conflict, not a second hold.
    sql: `
      ALTER TABLE commands
        ADD COLUMN status text, ADD COLUMN lines json, ADD COLUMN created_at bigint,
        ADD COLUMN expires_at bigint, ADD COLUMN resolved_at bigint;
      UPDATE commands c SET status = r.status, lines = r.lines, created_at = r.created_at,
                            expires_at = r.expires_at, resolved_at = r.resolved_at
      FROM reservations r WHERE r.id = c.id;
      INSERT INTO commands (id, type, fingerprint, outcome, recorded_at, status, lines, created_at, expires_at, resolved_at)
      SELECT r.id, 'ReserveStock', '',
             json_build_object('ok', true, 'commandId', r.id, 'position', 0, 'created', 'reservation'),
             r.created_at, r.status, r.lines, r.created_at, r.expires_at, r.resolved_at
      FROM reservations r WHERE NOT EXISTS (SELECT 1 FROM commands c WHERE c.id = r.id);
      DROP TABLE reservations;
      CREATE INDEX commands_due ON commands (expires_at) WHERE status = 'pending';
    `,
  },
  {
    version: 5,
    name: 'API keys (a hash of each, never the key) and the audit of their changes',
    sql: `
      CREATE TABLE api_keys (
        id text PRIMARY KEY,
        name text NOT NULL,
        hash text NOT NULL,
        roles text NOT NULL,
        created_at bigint NOT NULL,
        created_by text NOT NULL,
        expires_at bigint,
        last_used_at bigint,
        revoked_at bigint,
        revoked_by text
      );
      CREATE TABLE audit_events (
        id text PRIMARY KEY,
        at bigint NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        subject text NOT NULL,
        detail text NOT NULL
      );
      CREATE INDEX audit_events_at ON audit_events (at);
    `,
  },
  {
    version: 6,
    name: 'the ledger is the event store: stream versions, item registrations, append-only',
    // Every event is numbered in its stream (a level's version after it); events written before
    // are numbered here, in position order, as the engine numbered their levels' versions. Then
    // the database itself refuses to change, remove or truncate an event, whoever asks.
    sql: `
      ALTER TABLE ledger ADD COLUMN stream_version bigint NOT NULL DEFAULT 0, ADD COLUMN attributes text;
      UPDATE ledger l SET stream_version = numbered.n
      FROM (SELECT position, row_number() OVER (PARTITION BY sku, location ORDER BY position) AS n FROM ledger) AS numbered
      WHERE numbered.position = l.position;
      ALTER TABLE items ADD COLUMN low_stock_threshold bigint;
      CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the ledger is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
      END;
      $$;
      CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger
        FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
      CREATE TRIGGER ledger_append_only_truncate BEFORE TRUNCATE ON ledger
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
    `,
  },
  {
    version: 7,
    name: 'reconciliation reports: count-sheet imports and verify runs',
    // Ids are compared by byte, as every id here: they begin with a zero-padded time.
    sql: `
      CREATE TABLE reconciliation_reports (
        id text COLLATE "C" PRIMARY KEY,
        kind text NOT NULL,
        created_at bigint NOT NULL,
        actor text NOT NULL,
        findings bigint NOT NULL,
        summary text NOT NULL,
        body text NOT NULL
      );
    `,
  },
  {
    version: 8,
    name: 'leases: one holder at a time for a job across instances, and its checkpoint',
    sql: `
      CREATE TABLE leases (
        name text COLLATE "C" PRIMARY KEY,
        holder text NOT NULL,
        expires_at bigint NOT NULL,
        position bigint NOT NULL
      );
    `,
  },
  {
    version: 9,
    name: 'the table skuld rebuild fills from the ledger before it swaps the levels',
    sql: `
      CREATE TABLE levels_rebuild (
        sku text COLLATE "C" NOT NULL,
        location text COLLATE "C" NOT NULL,
        on_hand bigint NOT NULL,
        reserved bigint NOT NULL,
        version bigint NOT NULL,
        PRIMARY KEY (sku, location)
      );
    `,
  },
  {
    version: 10,
    name: 'incoming: units on confirmed purchase orders per level, moved by events like the other balances',
    // Every event written before carries no incoming change, so zero is each one's true value; a
    // constant default adds the columns without rewriting the tables.
    sql: `
      ALTER TABLE levels ADD COLUMN incoming bigint NOT NULL DEFAULT 0;
      ALTER TABLE levels_rebuild ADD COLUMN incoming bigint NOT NULL DEFAULT 0;
      ALTER TABLE ledger ADD COLUMN incoming_delta bigint NOT NULL DEFAULT 0;
      ALTER TABLE ledger ADD COLUMN incoming_after bigint NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 11,
    name: 'instances: each inventory instance sharing the store, its addresses and its last heartbeat',
    sql: `
      CREATE TABLE instances (
        id text COLLATE "C" PRIMARY KEY,
        http_url text NOT NULL,
        grpc_url text,
        started_at bigint NOT NULL,
        last_seen_at bigint NOT NULL
      );
    `,
  },
];
