// The read models: what each is, and which tables hold it. Each model has a checkpoint of its
// own (the ledger position up to which its tables hold every event), so each rebuilds from zero
// alone while the others stay served.

export const readModelNames = ['stock-summary', 'movements', 'reservations', 'low-stock', 'daily-movements'] as const;

export type ReadModelName = (typeof readModelNames)[number];

export function isReadModelName(name: string): name is ReadModelName {
  return (readModelNames as readonly string[]).includes(name);
}

/** The tables of each model: a rebuild empties them in the transaction that puts its checkpoint to 0. */
export const readModelTables: Readonly<Record<ReadModelName, readonly string[]>> = {
  'stock-summary': ['stock_levels', 'stock_items'],
  movements: ['movements', 'level_clocks', 'level_snapshots'],
  reservations: ['read_reservations', 'read_reservation_lines'],
  'low-stock': ['low_stock_items', 'low_stock_crossings'],
  'daily-movements': ['daily_movements'],
};

/** What the models' events say about one model: its checkpoint and what it skipped. */
export interface ModelCheckpoint {
  readonly model: ReadModelName;
  readonly position: number;
  /** Events of types this version does not know, passed over (counted, so that a gap is visible). */
  readonly skipped: number;
  /** When the checkpoint last moved (epoch ms; 0: never). */
  readonly updatedAt: number;
}

/** Column types as a dialect spells them. */
export interface ColumnTypes {
  /** Codes and ids that are keys: compared and sorted by code unit, as the store does. */
  readonly key: string;
  readonly text: string;
  readonly int: string;
}

/**
 * Movements carry every ledger column; the incoming columns came later, zero on every event
 * before them (no event moved incoming then).
 */
export function movementsIncomingSql(t: ColumnTypes): string {
  return `
    ALTER TABLE movements ADD COLUMN incoming_delta ${t.int} NOT NULL DEFAULT 0;
    ALTER TABLE movements ADD COLUMN incoming_after ${t.int} NOT NULL DEFAULT 0;
  `;
}

/** The read side's schema, one script for every dialect. */
export function readSchemaSql(t: ColumnTypes): string {
  const seeds = readModelNames.map((model) => `('${model}', 0, 0, 0)`).join(', ');
  return `
    CREATE TABLE read_checkpoints (
      model ${t.key} PRIMARY KEY,
      position ${t.int} NOT NULL,
      skipped ${t.int} NOT NULL,
      updated_at ${t.int} NOT NULL
    );
    INSERT INTO read_checkpoints (model, position, skipped, updated_at) VALUES ${seeds};
    CREATE TABLE read_source (
      id ${t.int} PRIMARY KEY CHECK (id = 1),
      source ${t.text} NOT NULL
    );
    CREATE TABLE movements (
      position ${t.int} PRIMARY KEY,
      sku ${t.key} NOT NULL,
      location ${t.key} NOT NULL,
      type ${t.key} NOT NULL,
      on_hand_delta ${t.int} NOT NULL,
      reserved_delta ${t.int} NOT NULL,
      on_hand_after ${t.int} NOT NULL,
      reserved_after ${t.int} NOT NULL,
      quantity ${t.int} NOT NULL,
      command_id ${t.text} NOT NULL,
      reservation_id ${t.text},
      expires_at ${t.int},
      peer_location ${t.text},
      reason ${t.text},
      reference ${t.text},
      actor ${t.text} NOT NULL,
      occurred_at ${t.int} NOT NULL,
      recorded_at ${t.int} NOT NULL,
      stream_version ${t.int} NOT NULL,
      attributes ${t.text}
    );
    CREATE INDEX movements_by_item ON movements (sku, position);
    CREATE INDEX movements_by_level ON movements (sku, location, position);
    CREATE INDEX movements_by_occurred ON movements (sku, location, occurred_at);
    CREATE INDEX movements_by_recorded ON movements (sku, location, recorded_at);
    CREATE TABLE level_clocks (
      sku ${t.key} NOT NULL,
      location ${t.key} NOT NULL,
      clock ${t.key} NOT NULL,
      on_hand ${t.int} NOT NULL,
      reserved ${t.int} NOT NULL,
      time_max ${t.int} NOT NULL,
      snapshot_at ${t.int},
      since_snapshot ${t.int} NOT NULL,
      PRIMARY KEY (sku, location, clock)
    );
    CREATE TABLE level_snapshots (
      sku ${t.key} NOT NULL,
      location ${t.key} NOT NULL,
      clock ${t.key} NOT NULL,
      at ${t.int} NOT NULL,
      on_hand ${t.int} NOT NULL,
      reserved ${t.int} NOT NULL,
      position ${t.int} NOT NULL,
      PRIMARY KEY (sku, location, clock, at)
    );
    CREATE TABLE stock_levels (
      sku ${t.key} NOT NULL,
      location ${t.key} NOT NULL,
      on_hand ${t.int} NOT NULL,
      reserved ${t.int} NOT NULL,
      position ${t.int} NOT NULL,
      PRIMARY KEY (sku, location)
    );
    CREATE TABLE stock_items (
      sku ${t.key} PRIMARY KEY,
      on_hand ${t.int} NOT NULL,
      reserved ${t.int} NOT NULL,
      position ${t.int} NOT NULL
    );
    CREATE TABLE read_reservations (
      id ${t.key} PRIMARY KEY,
      status ${t.key} NOT NULL,
      reference ${t.key},
      created_at ${t.int} NOT NULL,
      expires_at ${t.int} NOT NULL,
      resolved_at ${t.int},
      position ${t.int} NOT NULL,
      updated_position ${t.int} NOT NULL
    );
    CREATE UNIQUE INDEX read_reservations_by_position ON read_reservations (position);
    CREATE INDEX read_reservations_by_status ON read_reservations (status, position);
    CREATE INDEX read_reservations_by_reference ON read_reservations (reference, position);
    CREATE INDEX read_reservations_by_expiry ON read_reservations (expires_at);
    CREATE TABLE read_reservation_lines (
      reservation_id ${t.key} NOT NULL,
      sku ${t.key} NOT NULL,
      location ${t.key} NOT NULL,
      quantity ${t.int} NOT NULL,
      committed ${t.int},
      position ${t.int} NOT NULL,
      PRIMARY KEY (reservation_id, sku, location)
    );
    CREATE INDEX read_reservation_lines_by_sku ON read_reservation_lines (sku, position);
    CREATE TABLE low_stock_items (
      sku ${t.key} PRIMARY KEY,
      name ${t.text} NOT NULL,
      own_threshold ${t.int},
      threshold ${t.int} NOT NULL,
      on_hand ${t.int} NOT NULL,
      reserved ${t.int} NOT NULL,
      low ${t.int} NOT NULL,
      position ${t.int} NOT NULL
    );
    CREATE INDEX low_stock_items_low ON low_stock_items (low, sku);
    CREATE TABLE low_stock_crossings (
      position ${t.int} PRIMARY KEY,
      sku ${t.key} NOT NULL,
      direction ${t.key} NOT NULL,
      available ${t.int} NOT NULL,
      threshold ${t.int} NOT NULL,
      recorded_at ${t.int} NOT NULL
    );
    CREATE TABLE daily_movements (
      day ${t.key} NOT NULL,
      sku ${t.key} NOT NULL,
      location ${t.key} NOT NULL,
      events ${t.int} NOT NULL,
      on_hand_in ${t.int} NOT NULL,
      on_hand_out ${t.int} NOT NULL,
      reserved_in ${t.int} NOT NULL,
      reserved_out ${t.int} NOT NULL,
      PRIMARY KEY (day, sku, location)
    );
    CREATE INDEX daily_movements_by_item ON daily_movements (sku, day, location);
  `;
}
