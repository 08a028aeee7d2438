import { Readable } from 'node:stream';
import { format } from 'mysql2';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { CommandRecord, Item, Level, Reservation } from '../../domain/index.js';
import {
  conflictError,
  type LevelRef,
  type LevelWrite,
  StoreError,
  type WriteSession,
  type WriteSet,
} from '../port.js';
import {
  type CommandRow,
  commandFromRow,
  commandWrites,
  type ItemRow,
  itemFromRow,
  type LevelRow,
  levelFromRow,
  type ReservationRow,
  reservationFromRow,
} from '../rows.js';
import { ledgerColumns } from '../sql.js';
import { commandLine, ledgerLine } from '../tsv.js';
import { duplicateKeyErrno, loadRefusedErrnos } from './mysql-errors.js';
import {
  commandColumns,
  commandTuple,
  eventTuple,
  insertStatements,
  itemTuple,
  type Load,
  levelColumns,
  levelWrites,
  literal,
  loadChunks,
  loadRowsMin,
  lockKeysPerStatementMax,
  lockSql,
  packets,
  type Result,
  reservationSelect,
  reservationUpdateStatements,
  type Statement,
  sortedBy,
} from './mysql-sql.js';

/**
 * One batch's transaction on one connection (READ COMMITTED: a locking read takes no gap
 * locks). Existing level rows are locked in key order; a key without a row takes no lock, and
 * the rows a batch creates are inserted by write(), after the ledger head is claimed. Only the
 * head's holder inserts level rows, so two creations never wait on each other: a locking read of
 * a key another batch is inserting waits for that batch, which waits for nothing, and an insert
 * of a row a batch before it created fails as a duplicate key (a retryable conflict).
 */
export class MysqlSession implements WriteSession {
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
    await this.checkCreatable(set.levels);
    const commands = commandWrites(set);
    const loading = (rows: number) => this.bulkLoad && rows >= loadRowsMin;
    const groups: (() => Statement[] | Load)[] = [
      () => [
        ...insertStatements(
          'items (sku, name, allow_backorder, created_at, low_stock_threshold)',
          sortedBy(set.items, 'sku'),
          itemTuple,
        ),
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
   * Fails the batch, as a retryable conflict, when a level it creates has a row already (a batch
   * before it created the row after this one looked). The INSERT would fail all the same, but
   * only after its duplicate check had waited for a shared lock on that row, which a batch still
   * walking its locks may hold while it waits for one of this batch's new rows: a deadlock. The
   * ledger head, which this batch holds, makes every earlier creation committed, so a plain read
   * sees them all, and the INSERT that follows never meets a duplicate.
   */
  private async checkCreatable(levels: readonly LevelWrite[]): Promise<void> {
    const created = levels.filter((l) => l.previousVersion === null);
    if (created.length === 0) return;
    const existing = await this.readLevels(created);
    if (existing.length > 0) {
      const { sku, location } = existing[0] as Level;
      const message = `level ${sku}@${location} was created by another writer after this batch read it`;
      throw conflictError('unique_violation', message, { code: String(duplicateKeyErrno) });
    }
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
      throw conflictError('unique_violation', message, { code: String(duplicateKeyErrno) });
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
          : conflictError('version_conflict', expected.failure, { code: expected.conflict });
      }
    });
    return results;
  }
}
