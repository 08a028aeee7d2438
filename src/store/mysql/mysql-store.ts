import { Readable } from 'node:stream';
import {
  type PoolConnection as CorePoolConnection,
  createPool,
  escapeId,
  format,
  escape as quote,
  raw,
  type SqlValue,
} from 'mysql2';
import {
  createConnection,
  type Pool,
  type PoolConnection,
  type ResultSetHeader,
  type RowDataPacket,
} from 'mysql2/promise';
import type { CommandRecord, Item, LedgerEvent, Level, Reservation } from '../../domain/index.js';
import {
  createdFence,
  type Dialect,
  fencedCode,
  type LevelGuard,
  type LevelRef,
  type LevelWrite,
  type Store,
  StoreError,
  staleLevelCode,
  type WriteSession,
  type WriteSet,
} from '../port.js';
import {
  type CommandRow,
  type CommandWrite,
  commandFromRow,
  commandWrites,
  eventFromRow,
  eventToRow,
  type ItemRow,
  itemFromRow,
  type LedgerRow,
  type LevelRow,
  levelFromRow,
  type ReservationRow,
  reservationFromRow,
} from '../rows.js';
import { commandColumns as commandColumnNames, ledgerColumns, reservationColumns } from '../sql.js';
import { commandLine, ledgerLine } from '../tsv.js';
import { mysqlMigrations } from './mysql-migrations.js';

export interface MysqlStoreOptions {
  /** `mysql://user:password@host:port/database`. */
  readonly url: string;
  /** Database for every table, instead of the URL's (created if missing). */
  readonly database?: string | undefined;
  /** Pool size: one connection serves a batch, the rest serve reads. */
  readonly connectionsMax?: number;
  /**
   * Append ledger events and command records with LOAD DATA LOCAL. By default where the server
   * allows it (`local_infile`, asked at the first write) and the URL's `flags` do not take
   * LOCAL_FILES away; true: without asking; false: always multi-row INSERTs. A load the server
   * refuses all the same turns it off for the rest of the store's life.
   */
  readonly bulkLoad?: boolean;
}

type Result = ResultSetHeader | RowDataPacket[];

/**
 * New rows of one table sent as LOAD DATA LOCAL: tab-separated lines that the server parses far
 * faster than the same rows as SQL literals (3,072 ledger events into a bare table, commit
 * included: 27–30 ms against 43–45 ms as multi-row INSERTs, here).
 */
interface Load {
  readonly table: 'ledger' | 'commands';
  readonly columns: string;
  readonly lines: readonly string[];
}

/** One SQL statement, and the affected-row count it must report, if it is checked. */
interface Statement {
  readonly sql: string;
  /** Affected rows it must report; otherwise the batch fails (as a conflict when `conflict` names one). */
  readonly changes?: { readonly rows: number; readonly failure: string; readonly conflict?: string };
}

/** Keys per level-locking statement: a short IN list the range optimizer always takes. */
const lockKeysPerStatementMax = 500;
/** Characters per multi-row INSERT. */
const statementCharsMax = 1 << 20;
/**
 * Characters per round trip. Even if every one took 3 bytes in UTF-8 (the text is mostly
 * ASCII), a round trip stays below max_allowed_packet (16 MiB on MariaDB, 64 MiB on MySQL).
 */
const packetCharsMax = 2 << 20;
/**
 * Below this many rows a table's new rows go in a multi-row INSERT beside other statements: a
 * load costs a round trip of its own (the server asks for the data, then reads it).
 */
const loadRowsMin = 64;
/**
 * Characters per packet of a load's data (the driver sends a packet per chunk): even at 3 bytes
 * each in UTF-8, far below max_allowed_packet.
 */
const loadChunkCharsMax = 1 << 20;
const migrationLockWaitSecondsMax = 60;
const unknownDatabaseErrno = 1049;

/**
 * Every connection reads committed data and locks no gaps (READ COMMITTED), and is strict.
 *
 * READ COMMITTED is required, not a tuning choice. (1) The engine re-reads reservation status
 * and command records after its locks, expecting whatever committed meanwhile; under REPEATABLE
 * READ those reads would come from the snapshot taken at the transaction's first read, and a
 * reservation could be resolved twice. (2) Under REPEATABLE READ, a locking read of a missing
 * key locks the gap around it, and an insert into that gap waits: gaps are ranges, not keys, so
 * they break the one global lock order and deadlock. READ COMMITTED takes record locks only.
 * (With a binary log, it needs binlog_format ROW or MIXED.)
 *
 * sql_mode is fixed so that values are rejected rather than truncated, and so that the client's
 * backslash escaping holds (no NO_BACKSLASH_ESCAPES).
 */
const sessionSetupSql =
  'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED; ' +
  "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'";

/**
 * MySQL / MariaDB (InnoDB) store, safe for several Skuld processes at once: level rows are
 * locked in key order through the primary key, the ledger head last, and a batch's writes go in
 * a few multi-row statements per round trip.
 */
export class MysqlStore implements Store {
  readonly dialect: Dialect = 'mysql';
  private readonly pool: Pool;
  private readonly url: string;
  private readonly database: string;
  /** Whether batches append with LOAD DATA LOCAL: asked of the server at the first write. */
  private bulkLoad: boolean | undefined;
  private closed = false;

  private constructor(pool: Pool, url: string, database: string, bulkLoad: boolean | undefined) {
    this.pool = pool;
    this.url = url;
    this.database = database;
    this.bulkLoad = bulkLoad;
  }

  static open(options: MysqlStoreOptions): MysqlStore {
    // The name is only ever passed to the server as an identifier (quoted where it appears in SQL).
    const database = options.database ?? databaseOf(options.url);
    if (database === '') throw new StoreError('internal', 'the MySQL URL names no database');
    const flags = urlFlags(options.url);
    const pool = createPool({
      uri: options.url,
      database,
      connectionLimit: options.connectionsMax ?? 8,
      // Several statements per round trip: a batch's lock walk and its writes are one each.
      // Every value in them is escaped (by the driver; JSON text by jsonLiteral).
      multipleStatements: true,
      // SQL without values is sent as it is: the driver would otherwise scan all of it (a
      // batch's inserts run to a megabyte) for placeholders it has no values for.
      queryFormat: (sql: string, values: unknown) =>
        Array.isArray(values) && values.length === 0 ? sql : format(sql, values as SqlValue[]),
      // FOUND_ROWS: an UPDATE reports the rows it matched, not only those it changed. Flags the
      // URL names (`?flags=-LOCAL_FILES`) are kept: the driver would take only these.
      flags: ['FOUND_ROWS', ...flags],
      // BIGINT values (times, quantities, positions) are far below 2^53: plain numbers.
      supportBigNumbers: true,
      bigNumberStrings: false,
      decimalNumbers: true,
    });
    pool.on('connection', (connection: CorePoolConnection) => {
      connection.query(sessionSetupSql, (error) => {
        if (error !== null) connection.destroy();
      });
    });
    const bulkLoad = options.bulkLoad ?? (flags.includes('-LOCAL_FILES') ? false : undefined);
    return new MysqlStore(pool.promise(), options.url, database, bulkLoad);
  }

  async migrate(): Promise<void> {
    const connection = await guard(() => this.migrationConnection());
    try {
      await guard(() => migrateOn(connection));
    } finally {
      connection.release();
    }
  }

  async writeTransaction<T>(work: (session: WriteSession) => Promise<T>): Promise<T> {
    const connection = await this.connection();
    try {
      this.bulkLoad ??= await localInfileAllowed(connection);
      await connection.query('START TRANSACTION');
      const session = new MysqlSession(connection, this.bulkLoad, () => {
        this.bulkLoad = false;
      });
      const result = await work(session);
      await connection.query('COMMIT');
      connection.release();
      return result;
    } catch (error) {
      // InnoDB rolls back only the statement on a lock wait timeout: roll back the rest here.
      await connection.query('ROLLBACK').then(
        () => connection.release(),
        () => connection.destroy(),
      );
      throw translate(error);
    }
  }

  async getItem(sku: string): Promise<Item | undefined> {
    const [row] = await this.rows<ItemRow>('SELECT * FROM items WHERE sku = ?', [sku]);
    return row === undefined ? undefined : itemFromRow(row);
  }

  async listItems(afterSku: string | undefined, limit: number): Promise<Item[]> {
    const rows = await this.rows<ItemRow>('SELECT * FROM items WHERE sku > ? ORDER BY sku LIMIT ?', [
      afterSku ?? '',
      limit,
    ]);
    return rows.map(itemFromRow);
  }

  async itemLevels(sku: string): Promise<Level[]> {
    const rows = await this.rows<LevelRow>('SELECT * FROM levels WHERE sku = ? ORDER BY location', [sku]);
    return rows.map(levelFromRow);
  }

  async locationLevels(location: string, afterSku: string | undefined, limit: number): Promise<Level[]> {
    const sql = 'SELECT * FROM levels WHERE location = ? AND sku > ? ORDER BY sku LIMIT ?';
    return (await this.rows<LevelRow>(sql, [location, afterSku ?? '', limit])).map(levelFromRow);
  }

  async getReservation(id: string): Promise<Reservation | undefined> {
    const [row] = await this.rows<ReservationRow>(`${reservationSelect} WHERE id = ? AND status IS NOT NULL`, [id]);
    return row === undefined ? undefined : reservationFromRow(row);
  }

  async getCommand(id: string): Promise<CommandRecord | undefined> {
    const [row] = await this.rows<CommandRow>('SELECT * FROM commands WHERE id = ?', [id]);
    return row === undefined ? undefined : commandFromRow(row);
  }

  async readLedger(after: number, limit: number): Promise<LedgerEvent[]> {
    const sql = `SELECT ${ledgerColumns} FROM ledger WHERE position > ? ORDER BY position LIMIT ?`;
    return (await this.rows<LedgerRow>(sql, [after, limit])).map(eventFromRow);
  }

  async itemHistory(sku: string, after: number, limit: number): Promise<LedgerEvent[]> {
    const sql = `SELECT ${ledgerColumns} FROM ledger WHERE sku = ? AND position > ? ORDER BY position LIMIT ?`;
    return (await this.rows<LedgerRow>(sql, [sku, after, limit])).map(eventFromRow);
  }

  async headPosition(): Promise<number> {
    const [row] = await this.rows<{ position: number }>('SELECT position FROM ledger_head WHERE id = 1', []);
    return Number(row?.position ?? 0);
  }

  async dueReservations(now: number, limit: number): Promise<string[]> {
    const sql = "SELECT id FROM commands WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?";
    return (await this.rows<{ id: string }>(sql, [now, limit])).map((row) => row.id);
  }

  async scanLevels(after: LevelRef | undefined, limit: number): Promise<Level[]> {
    // Spelled out rather than as a row comparison, which not every version turns into a range.
    const sql = 'SELECT * FROM levels WHERE sku > ? OR (sku = ? AND location > ?) ORDER BY sku, location LIMIT ?';
    const sku = after?.sku ?? '';
    return (await this.rows<LevelRow>(sql, [sku, sku, after?.location ?? '', limit])).map(levelFromRow);
  }

  async scanPendingReservations(afterId: string | undefined, limit: number): Promise<Reservation[]> {
    const sql = `${reservationSelect} WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?`;
    return (await this.rows<ReservationRow>(sql, [afterId ?? '', limit])).map(reservationFromRow);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async rows<T>(sql: string, values: (string | number)[]): Promise<T[]> {
    if (this.closed) throw closedError();
    const [rows] = await guard(() => this.pool.query<RowDataPacket[]>(sql, values));
    return rows as unknown as T[];
  }

  private connection(): Promise<PoolConnection> {
    if (this.closed) return Promise.reject(closedError());
    return guard(() => this.pool.getConnection());
  }

  /** A connection to the database, which is created first if it does not exist yet. */
  private async migrationConnection(): Promise<PoolConnection> {
    if (this.closed) throw closedError();
    try {
      return await this.pool.getConnection();
    } catch (error) {
      if ((error as { errno?: number }).errno !== unknownDatabaseErrno) throw error;
      const server = new URL(this.url);
      server.pathname = '';
      const connection = await createConnection({ uri: server.toString() });
      try {
        await connection.query(
          `CREATE DATABASE IF NOT EXISTS ${escapeId(this.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
        );
      } finally {
        await connection.end();
      }
      return this.pool.getConnection();
    }
  }
}

/**
 * LOAD DATA LOCAL needs the server's consent (`local_infile`: on by default in MariaDB, off in
 * MySQL 8). The data always comes from memory, from the load's own query (never from a file).
 */
async function localInfileAllowed(connection: PoolConnection): Promise<boolean> {
  const [[row]] = await connection.query<RowDataPacket[]>('SELECT @@GLOBAL.local_infile AS allowed');
  return Number(row?.allowed) === 1;
}

/** The driver's client flags a URL names in its `flags` parameter, comma-separated. */
function urlFlags(url: string): string[] {
  const flags = URL.canParse(url) ? new URL(url).searchParams.get('flags') : null;
  return flags === null
    ? []
    : flags
        .split(',')
        .map((flag) => flag.trim().toUpperCase())
        .filter((flag) => flag !== '');
}

function databaseOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.slice(1));
  } catch (error) {
    throw new StoreError('internal', 'the MySQL URL is not a valid URL', { cause: error });
  }
}

/**
 * Applies the missing migrations under a named lock, so several processes may start at once:
 * one migrates, the others wait and find it done. The lock is server-wide, so it is named per
 * database (hashed: lock names are at most 64 characters).
 */
async function migrateOn(connection: PoolConnection): Promise<void> {
  const lockName = "CONCAT('skuld:migrate:', SHA1(DATABASE()))";
  const [[lock]] = await connection.query<RowDataPacket[]>(`SELECT GET_LOCK(${lockName}, ?) AS locked`, [
    migrationLockWaitSecondsMax,
  ]);
  if (Number(lock?.locked) !== 1) throw new StoreError('unavailable', 'another process holds the migration lock');
  try {
    await connection.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL) ENGINE = InnoDB',
    );
    const [rows] = await connection.query<RowDataPacket[]>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => Number(row.version)));
    for (const migration of mysqlMigrations) {
      if (applied.has(migration.version)) continue;
      await connection.query(migration.sql);
      await connection.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        Date.now(),
      ]);
    }
  } finally {
    await connection.query(`SELECT RELEASE_LOCK(${lockName})`);
  }
}

const levelColumns = 'sku, location, on_hand, reserved, version';

/**
 * One batch's transaction on one connection (READ COMMITTED: a locking read takes no gap
 * locks). Existing level rows are locked in key order; a key without a row takes no lock, and
 * the rows a batch creates are inserted by write(), after the ledger head is claimed. Only the
 * head's holder inserts level rows, so two creations never wait on each other: a locking read of
 * a key another batch is inserting waits for that batch, which waits for nothing, and an insert
 * of a row a batch before it created fails as a duplicate key (a retryable conflict).
 */
class MysqlSession implements WriteSession {
  private readonly connection: PoolConnection;
  private readonly bulkLoad: boolean;
  /** Called when the server refuses a load: the store's later batches use INSERTs. */
  private readonly loadRefused: () => void;

  constructor(connection: PoolConnection, bulkLoad: boolean, loadRefused: () => void) {
    this.connection = connection;
    this.bulkLoad = bulkLoad;
    this.loadRefused = loadRefused;
  }

  async loadItems(skus: readonly string[]): Promise<Map<string, Item>> {
    const rows = await this.select<ItemRow>('SELECT * FROM items WHERE sku IN (?)', skus);
    return new Map(rows.map((row) => [row.sku, itemFromRow(row)]));
  }

  async loadReservations(ids: readonly string[]): Promise<Map<string, Reservation>> {
    const rows = await this.select<ReservationRow>(`${reservationSelect} WHERE id IN (?) AND status IS NOT NULL`, ids);
    return new Map(rows.map((row) => [row.id, reservationFromRow(row)]));
  }

  async lockLevels(keys: readonly LevelRef[]): Promise<Level[]> {
    const statements: Statement[] = [];
    for (let start = 0; start < keys.length; start += lockKeysPerStatementMax) {
      statements.push({ sql: lockSql(keys.slice(start, start + lockKeysPerStatementMax)) });
    }
    const results = await this.run(statements);
    return (results as RowDataPacket[][]).flat().map((row) => levelFromRow(row as unknown as LevelRow));
  }

  async readLevels(keys: readonly LevelRef[]): Promise<Level[]> {
    const rows: LevelRow[] = [];
    for (let start = 0; start < keys.length; start += lockKeysPerStatementMax) {
      const chunk = keys.slice(start, start + lockKeysPerStatementMax);
      const tuples = chunk.map((ref) => `(${literal(ref.sku)}, ${literal(ref.location)})`).join(', ');
      const [found] = await this.connection.query<RowDataPacket[]>(
        `SELECT ${levelColumns} FROM levels FORCE INDEX (PRIMARY) WHERE (sku, location) IN (${tuples})`,
      );
      rows.push(...(found as unknown as LevelRow[]));
    }
    return rows.map(levelFromRow);
  }

  async loadCommands(ids: readonly string[]): Promise<Map<string, CommandRecord>> {
    const rows = await this.select<CommandRow>('SELECT * FROM commands WHERE id IN (?)', ids);
    return new Map(rows.map((row) => [row.id, commandFromRow(row)]));
  }

  async claimPositions(count: number): Promise<number> {
    // LAST_INSERT_ID(expr) hands the new head back in the same round trip as the update.
    const claim: Statement = {
      sql: format('UPDATE ledger_head SET position = LAST_INSERT_ID(position + ?) WHERE id = 1', [count]),
      changes: { rows: 1, failure: 'the ledger head has no row' },
    };
    const results = await this.run([claim]);
    return Number((results[results.length - 1] as ResultSetHeader).insertId) - count + 1;
  }

  async write(set: WriteSet): Promise<void> {
    // New unique keys are inserted sorted, so two batches racing on the same new ids wait in
    // one order; batches with events are serialized by the ledger head anyway, but a batch of
    // refusals writes command records without it.
    //
    // The statements go out table by table, each group built while the server executes the
    // one before. A group is sent only after the previous one succeeded: a statement that fails
    // may end the transaction (a deadlock rolls it back), and nothing may run after it.
    const commands = commandWrites(set);
    const loading = (rows: number) => this.bulkLoad && rows >= loadRowsMin;
    const groups: (() => Statement[] | Load)[] = [
      () => [
        ...insertStatements('items (sku, name, allow_backorder, created_at)', sortedBy(set.items, 'sku'), itemTuple),
        ...levelWrites(set.levels, set.levelGuard),
        ...reservationUpdateStatements(sortedBy(set.updatedReservations, 'id')),
      ],
      () =>
        loading(set.events.length)
          ? { table: 'ledger', columns: ledgerColumns, lines: set.events.map(ledgerLine) }
          : insertStatements(`ledger (${ledgerColumns})`, set.events, eventTuple),
      () =>
        loading(commands.length)
          ? { table: 'commands', columns: commandColumns, lines: commands.map(commandLine) }
          : insertStatements(`commands (${commandColumns})`, commands, commandTuple),
    ];
    let running: Promise<unknown> = Promise.resolve();
    for (const build of groups) {
      const group = build();
      await running;
      running = Array.isArray(group) ? this.run(group) : this.load(group);
    }
    await running;
  }

  /**
   * Appends rows with LOAD DATA LOCAL. With LOCAL the server cannot stop the client's data
   * halfway, so it treats every row error as IGNORE would: a duplicate key skips its row, a value
   * that does not fit is converted, each with a warning, and the statement succeeds. Both are
   * caught here, and the batch fails (its transaction is rolled back): a skipped row is a
   * concurrent writer's new id, a retryable conflict as with INSERT; any other warning is a bug.
   *
   * `local_infile` may be switched off while the store runs. The server then refuses the load
   * before it reads a row; the store goes over to INSERTs, and the batch fails as a retryable
   * conflict, so that the engine runs it again on that path.
   */
  private async load({ table, columns, lines }: Load): Promise<void> {
    const data = loadChunks(lines);
    const [result] = await this.connection
      .query<ResultSetHeader>({
        sql:
          `LOAD DATA LOCAL INFILE '${table}' INTO TABLE ${table} CHARACTER SET utf8mb4 ` +
          `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${columns})`,
        // The rows of this statement, whatever file name the server asks for.
        infileStreamFactory: () => Readable.from(data),
      })
      .catch((error: unknown) => {
        const errno = (error as { errno?: unknown }).errno;
        if (typeof errno !== 'number' || !loadRefusedErrnos.has(errno)) throw error;
        this.loadRefused();
        const message = `the server refused LOAD DATA LOCAL (${errno}); the batch is run again with INSERTs`;
        throw new StoreError('conflict', message, { cause: error, code: String(errno) });
      });
    if (result.affectedRows !== lines.length) {
      const message = `${lines.length - result.affectedRows} new rows of ${table} were already there`;
      throw new StoreError('conflict', message, { code: String(duplicateKeyErrno) });
    }
    if (result.warningStatus > 0) {
      const [warnings] = await this.connection.query<RowDataPacket[]>('SHOW WARNINGS LIMIT 3');
      const text = warnings.map((warning) => String(warning.Message)).join('; ');
      throw new StoreError('internal', `loading ${table} raised ${result.warningStatus} warnings: ${text}`);
    }
  }

  private async select<T>(sql: string, values: readonly string[]): Promise<T[]> {
    if (values.length === 0) return [];
    const [rows] = await this.connection.query<RowDataPacket[]>(sql, [values]);
    return rows as unknown as T[];
  }

  /** Runs statements in order, as few round trips as fit, and checks their counts. */
  private async run(statements: readonly Statement[]): Promise<Result[]> {
    const results: Result[] = [];
    for (const packet of packets(statements)) {
      const [result] = await this.connection.query(packet.map((statement) => statement.sql).join(';\n'));
      // One statement answers with its result, several with the list of theirs.
      results.push(...((packet.length === 1 ? [result] : result) as Result[]));
    }
    statements.forEach((statement, index) => {
      const affected = (results[index] as ResultSetHeader).affectedRows;
      const expected = statement.changes;
      if (expected !== undefined && affected !== expected.rows) {
        throw expected.conflict === undefined
          ? new StoreError('internal', expected.failure)
          : new StoreError('conflict', expected.failure, { code: expected.conflict });
      }
    });
    return results;
  }
}

/**
 * Locks existing level rows in key order. The primary key is forced and the IN list short: a
 * range scan of the primary key visits, and locks, the rows in ascending key order whatever the
 * order of the list, while a full scan (which the optimizer picks for long lists or small
 * tables) would lock, and wait for, every row it passes.
 */
function lockSql(refs: readonly LevelRef[]): string {
  const keys = refs.map((ref) => `(${literal(ref.sku)}, ${literal(ref.location)})`).join(', ');
  return (
    `SELECT ${levelColumns} FROM levels FORCE INDEX (PRIMARY) WHERE (sku, location) IN (${keys}) ` +
    'ORDER BY sku, location FOR UPDATE'
  );
}

/** Creates the new levels and writes the changed ones as the guard says. */
function levelWrites(levels: readonly LevelWrite[], guard: LevelGuard): Statement[] {
  const created = levels.filter((l) => l.previousVersion === null);
  const read = created.length === 0 ? levels : levels.filter((l) => l.previousVersion !== null);
  const fence = createdFence(guard);
  return [
    ...insertStatements('levels (sku, location, on_hand, reserved, version, fence)', created, (l) =>
      tuple([l.sku, l.location, l.onHand, l.reserved, l.version, fence]),
    ),
    ...(guard.kind === 'locked' ? levelStatements(read) : swapStatements(read, guard)),
  ];
}

/**
 * Updates changed levels, many rows per statement. A changed level always has a new version, so
 * each existing row counts 2 affected rows; a missing row would be inserted and count 1, which
 * fails the batch.
 */
function levelStatements(levels: readonly Level[]): Statement[] {
  return multiRow(
    `INSERT INTO levels (${levelColumns}) VALUES`,
    levels.map((l) => tuple([l.sku, l.location, l.onHand, l.reserved, l.version])),
    ' ON DUPLICATE KEY UPDATE on_hand = VALUES(on_hand), reserved = VALUES(reserved), version = VALUES(version)',
  ).map(({ sql, rows }) => ({ sql, changes: { rows: 2 * rows, failure: 'a changed level has no row' } }));
}

/**
 * Compare-and-set writes of levels read without locks: one UPDATE per level, on the version
 * read and, with a fence, on a fencing token newer than the last one written. A level that
 * changed meanwhile matches no row: a retryable conflict.
 */
function swapStatements(levels: readonly LevelWrite[], guard: Extract<LevelGuard, { kind: 'version' }>): Statement[] {
  const conflict = guard.fence === undefined ? staleLevelCode : fencedCode;
  const fenceCheck = guard.fence === undefined ? '' : ` AND fence < ${quote(guard.fence)}`;
  return levels.map((l) => ({
    sql:
      `UPDATE levels SET on_hand = ${quote(l.onHand)}, reserved = ${quote(l.reserved)}, version = ${quote(l.version)}, ` +
      `fence = GREATEST(fence, ${quote(guard.fence ?? 0)}) ` +
      `WHERE sku = ${quote(l.sku)} AND location = ${quote(l.location)} AND version = ${quote(l.previousVersion)}${fenceCheck}`,
    changes: { rows: 1, failure: `level ${l.sku}@${l.location} changed since it was read`, conflict },
  }));
}

/** `lines` is a reserved word in MySQL: its statements quote that column. */
const quotingLines = (columns: string) => columns.replace(/\blines\b/, '`lines`');
const reservationSelect = `SELECT ${quotingLines(reservationColumns)} FROM commands`;
const commandColumns = quotingLines(commandColumnNames);

/**
 * Updates changed reservations (each changes its status: 2 affected rows, as for levels). The
 * record's columns of such a row never change; the values given for them would be used only to
 * insert a row that is missing, which counts 1 affected row and fails the batch.
 */
function reservationUpdateStatements(reservations: readonly Reservation[]): Statement[] {
  return multiRow(
    `INSERT INTO commands (${commandColumns}) VALUES`,
    reservations.map((r) =>
      tuple([
        r.id,
        'ReserveStock',
        '',
        '{}',
        0,
        r.status,
        jsonLiteral(r.lines),
        r.createdAt,
        r.expiresAt,
        r.resolvedAt,
      ]),
    ),
    ' ON DUPLICATE KEY UPDATE status = VALUES(status), `lines` = VALUES(`lines`), resolved_at = VALUES(resolved_at)',
  ).map(({ sql, rows }) => ({ sql, changes: { rows: 2 * rows, failure: 'an updated reservation has no row' } }));
}

function insertStatements<T>(target: string, values: readonly T[], toTuple: (value: T) => string): Statement[] {
  return multiRow(`INSERT INTO ${target} VALUES`, values.map(toTuple), '').map(({ sql }) => ({ sql }));
}

/** `head` + tuples + `tail`, split into statements of at most statementCharsMax. */
function multiRow(head: string, tuples: readonly string[], tail: string): { sql: string; rows: number }[] {
  return chunked(tuples, (tuple) => tuple.length + 2, statementCharsMax).map((run) => ({
    sql: `${head} ${run.join(', ')}${tail}`,
    rows: run.length,
  }));
}

/** A load's lines as UTF-8 chunks of at most loadChunkCharsMax characters, whole lines each. */
function loadChunks(lines: readonly string[]): Buffer[] {
  return chunked(lines, (line) => line.length, loadChunkCharsMax).map((run) => Buffer.from(run.join(''), 'utf8'));
}

/** Consecutive statements grouped into round trips of at most packetCharsMax. */
function packets(statements: readonly Statement[]): Statement[][] {
  return chunked(statements, (statement) => statement.sql.length + 2, packetCharsMax);
}

/** Consecutive items in runs whose sizes add up to at most `max`; an item larger alone makes a run. */
function chunked<T>(items: readonly T[], size: (item: T) => number, max: number): T[][] {
  const result: T[][] = [];
  let run: T[] = [];
  let total = 0;
  for (const item of items) {
    const length = size(item);
    if (run.length > 0 && total + length > max) {
      result.push(run);
      run = [];
      total = 0;
    }
    run.push(item);
    total += length;
  }
  if (run.length > 0) result.push(run);
  return result;
}

/**
 * Characters that need no escaping inside a quoted literal: the whole alphabet of codes and ids
 * (the domain admits only these in them), so most strings of a batch skip the driver's escaping.
 */
const plainText = /^[A-Za-z0-9 ._:@/#+=-]*$/;

/** One value as SQL: the common kinds directly, anything else through the driver. */
function literal(value: SqlValue): string {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && plainText.test(value)) return `'${value}'`;
  if (value === null || value === undefined) return 'NULL';
  return quote(value);
}

const tuple = (values: readonly SqlValue[]): string => `(${values.map(literal).join(', ')})`;

/**
 * A value as a JSON string literal, escaped by hand: JSON.stringify leaves no control characters,
 * so only backslashes and quotes need escaping (the session keeps backslash escapes on). The
 * driver's general escaping costs several times more on these, the longest values of a batch.
 */
const jsonLiteral = (value: unknown) => raw(`'${JSON.stringify(value).replace(/[\\']/g, '\\$&')}'`);

const itemTuple = (i: Item) => tuple([i.sku, i.name, i.allowBackorder, i.createdAt]);

const commandTuple = ({ record: c, reservation: r }: CommandWrite) =>
  tuple([
    c.id,
    c.type,
    c.fingerprint,
    jsonLiteral(c.outcome),
    c.recordedAt,
    r?.status ?? null,
    r === undefined ? null : jsonLiteral(r.lines),
    r?.createdAt ?? null,
    r?.expiresAt ?? null,
    r?.resolvedAt ?? null,
  ]);

const ledgerColumnNames = ledgerColumns.split(', ') as (keyof LedgerRow)[];

const eventTuple = (e: LedgerEvent) => {
  const row = eventToRow(e);
  return tuple(ledgerColumnNames.map((column) => row[column]));
};

function sortedBy<T, K extends keyof T>(values: readonly T[], key: K): T[] {
  return [...values].sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0));
}

// Server error numbers. Duplicate key, deadlock and lock wait timeout are retryable: the whole
// transaction is rolled back and the batch re-run.
const duplicateKeyErrno = 1062;
/**
 * The server or the connection has LOAD DATA LOCAL switched off: MariaDB's 4166, MySQL 8's 3948,
 * and 1148 of older servers.
 */
const loadRefusedErrnos = new Set([1148, 3948, 4166]);
const conflictErrnos = new Set([duplicateKeyErrno, 1205, 1213]);
// Too many connections, shutdown, connection killed (MariaDB), client gone / lost, and
// disconnected for inactivity (MySQL).
const unavailableErrnos = new Set([1040, 1053, 1927, 2002, 2003, 2006, 2013, 4031]);
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
]);

const closedError = () => new StoreError('unavailable', 'the store is closed');

async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translate(error);
  }
}

function translate(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const { errno, code, fatal } = error as { errno?: number; code?: string; fatal?: boolean };
  const message = error instanceof Error ? error.message : String(error);
  // Server errors carry a positive errno; socket errors a negative one and a code.
  const serverErrno = typeof errno === 'number' && errno > 0 ? errno : undefined;
  const storeCode = serverErrno === undefined ? code : String(serverErrno);
  if (serverErrno !== undefined && conflictErrnos.has(serverErrno)) {
    return new StoreError('conflict', message, { cause: error, code: storeCode });
  }
  if (
    fatal === true ||
    (serverErrno !== undefined && unavailableErrnos.has(serverErrno)) ||
    (code !== undefined && unavailableCodes.has(code))
  ) {
    return new StoreError('unavailable', message, { cause: error, code: storeCode });
  }
  return new StoreError('internal', message, { cause: error, code: storeCode });
}
