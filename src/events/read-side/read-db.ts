// The read side's database: where the read models live, apart from the store that writes. One
// adapter per dialect (a SQLite file, a PostgreSQL database), the same file set in each folder;
// everything above this port is written once, with `?` placeholders.

export type ReadDialect = 'sqlite' | 'postgres';

/** A value bound to a `?` placeholder, or written to a column. */
export type ReadValue = string | number | null;

/**
 * A write of many rows to one table in one go: an insert, or, with `key`, an upsert whose
 * conflicting rows take each column of `set` as given: `replace` puts the new value, `add` adds
 * it to the old one (counters and running totals).
 */
export interface BulkWrite {
  readonly table: string;
  readonly columns: readonly string[];
  readonly key?: readonly string[];
  readonly set?: Readonly<Record<string, 'replace' | 'add'>>;
}

/** The statements of one transaction on the read database. */
export interface ReadTx {
  rows<T>(sql: string, params: readonly ReadValue[]): Promise<T[]>;
  /** Runs a statement; returns the rows it changed. */
  run(sql: string, params: readonly ReadValue[]): Promise<number>;
  /** Writes the rows, each in `write.columns`' order. */
  write(write: BulkWrite, rows: readonly (readonly ReadValue[])[]): Promise<void>;
}

export interface ReadDb {
  readonly dialect: ReadDialect;
  /** Creates the database if it is missing, then applies the read side's migrations. */
  migrate(): Promise<void>;
  /** One write transaction; a thrown error rolls it back. Driver errors leave as StoreError. */
  transaction<T>(work: (tx: ReadTx) => Promise<T>): Promise<T>;
  /** One read-only transaction: every statement in it sees the same committed state. */
  read<T>(work: (tx: ReadTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The statement of a bulk write for `rowCount` rows (dialects share it: both speak ON CONFLICT). */
export function bulkWriteSql(write: BulkWrite, rowCount: number): string {
  const row = `(${write.columns.map(() => '?').join(', ')})`;
  const values = Array.from({ length: rowCount }, () => row).join(', ');
  const insert = `INSERT INTO ${write.table} (${write.columns.join(', ')}) VALUES ${values}`;
  if (write.key === undefined) return insert;
  const set = Object.entries(write.set ?? {}).map(([column, how]) =>
    how === 'add' ? `${column} = ${write.table}.${column} + excluded.${column}` : `${column} = excluded.${column}`,
  );
  const action = set.length === 0 ? 'DO NOTHING' : `DO UPDATE SET ${set.join(', ')}`;
  return `${insert} ON CONFLICT (${write.key.join(', ')}) ${action}`;
}
