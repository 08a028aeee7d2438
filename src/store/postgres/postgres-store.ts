import net from 'node:net';
import type { Writable } from 'node:stream';
import postgres from 'postgres';
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
  commandFromRow,
  commandWrites,
  commandWriteToRow,
  eventFromRow,
  eventToRow,
  type ItemRow,
  itemFromRow,
  itemToRow,
  type LedgerRow,
  type LevelRow,
  levelFromRow,
  levelToRow,
  type ReservationRow,
  reservationFromRow,
  reservationToRow,
} from '../rows.js';
import { commandColumns, ledgerColumns, reservationColumns } from '../sql.js';
import { commandLine, ledgerLine } from '../tsv.js';
import { postgresMigrations } from './postgres-migrations.js';

export interface PostgresStoreOptions {
  readonly url: string;
  /** Schema for every table (created if missing); default: the server's search_path. */
  readonly schema?: string | undefined;
  /** Pool size: one connection serves a batch, the rest serve reads. */
  readonly connectionsMax?: number;
}

type Sql = postgres.Sql<Record<string, never>>;

// int8 arrives as text by default; every bigint we store (positions, times, quantities) is far
// below 2^53, so a JS number is exact.
const bigintAsNumber = {
  to: 20,
  from: [20],
  serialize: (value: number) => String(value),
  parse: (value: string) => Number(value),
};

const migrationLockKey = 0x736b756c64; // "skuld"

const undefinedDatabaseCode = '3D000';
/** duplicate_database, or the catalog's unique index when both creations ran at once. */
const createdMeanwhileCodes = new Set(['42P04', '23505']);

/**
 * Connects with TCP_NODELAY. The driver leaves Nagle's algorithm on, and a batch's pipelined
 * writes end in small messages that Nagle holds back until the server's delayed ACK, about 40 ms
 * on Linux: that stall, not the database, was most of a batch's time.
 */
function connectNoDelay(options: { host: string[]; port: number[] }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host[0] ?? 'localhost', port: options.port[0] ?? 5432, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * PostgreSQL store, safe for several Skuld processes at once: level rows are locked with
 * SELECT … FOR UPDATE in sorted order, the ledger head last, and a batch's writes are pipelined
 * in its one transaction.
 */
export class PostgresStore implements Store {
  readonly dialect: Dialect = 'postgres';
  private readonly sql: Sql;
  private readonly schema: string | undefined;
  private readonly url: string;

  private constructor(sql: Sql, schema: string | undefined, url: string) {
    this.sql = sql;
    this.schema = schema;
    this.url = url;
  }

  static open(options: PostgresStoreOptions): PostgresStore {
    if (options.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(options.schema)) {
      throw new StoreError('internal', `schema name ${options.schema} is not a plain identifier`);
    }
    // `socket` is a documented option the driver's type declarations lack.
    const socket = { socket: connectNoDelay } as object;
    const sql = postgres(options.url, {
      max: options.connectionsMax ?? 8,
      onnotice: () => undefined,
      types: { bigint: bigintAsNumber },
      connection: options.schema === undefined ? {} : { search_path: options.schema },
      ...socket,
    }) as unknown as Sql;
    return new PostgresStore(sql, options.schema, options.url);
  }

  async migrate(): Promise<void> {
    await guard(async () => {
      await this.createDatabaseIfMissing();
      await this.sql.begin(async (tx) => {
        // Several processes may start at once: one migrates, the others wait and find it done.
        await tx`SELECT pg_advisory_xact_lock(${migrationLockKey})`;
        if (this.schema !== undefined) await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
        await tx`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`;
        const applied = new Set((await tx`SELECT version FROM schema_migrations`).map((row) => Number(row.version)));
        for (const migration of postgresMigrations) {
          if (applied.has(migration.version)) continue;
          await tx.unsafe(migration.sql);
          await tx`INSERT INTO schema_migrations ${tx({ version: migration.version, name: migration.name, applied_at: Date.now() })}`;
        }
      });
    });
  }

  /**
   * A missing database fails every connection (3D000), and PostgreSQL has no CREATE DATABASE IF
   * NOT EXISTS: the database is created from the server's maintenance database, `postgres`, as
   * the MySQL store creates its own. Two processes may start at once: the second finds it made.
   */
  private async createDatabaseIfMissing(): Promise<void> {
    try {
      await this.sql`SELECT 1`;
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== undefinedDatabaseCode) throw error;
    }
    const server = postgres(this.url, { database: 'postgres', max: 1, onnotice: () => undefined });
    try {
      await server`CREATE DATABASE ${server(this.sql.options.database)}`;
    } catch (error) {
      if (!createdMeanwhileCodes.has((error as { code?: string }).code ?? '')) throw error;
    } finally {
      await server.end();
    }
  }

  writeTransaction<T>(work: (session: WriteSession) => Promise<T>): Promise<T> {
    return guard(() => this.sql.begin((tx) => work(new PostgresSession(tx as unknown as Sql))) as Promise<T>);
  }

  async getItem(sku: string): Promise<Item | undefined> {
    const [row] = await guard(() => this.sql<ItemRow[]>`SELECT * FROM items WHERE sku = ${sku}`);
    return row === undefined ? undefined : itemFromRow(row);
  }

  async listItems(afterSku: string | undefined, limit: number): Promise<Item[]> {
    const rows = await guard(
      () => this.sql<ItemRow[]>`SELECT * FROM items WHERE sku > ${afterSku ?? ''} ORDER BY sku LIMIT ${limit}`,
    );
    return rows.map(itemFromRow);
  }

  async itemLevels(sku: string): Promise<Level[]> {
    const rows = await guard(() => this.sql<LevelRow[]>`SELECT * FROM levels WHERE sku = ${sku} ORDER BY location`);
    return rows.map(levelFromRow);
  }

  async locationLevels(location: string, afterSku: string | undefined, limit: number): Promise<Level[]> {
    const rows = await guard(
      () => this.sql<LevelRow[]>`
        SELECT * FROM levels WHERE location = ${location} AND sku > ${afterSku ?? ''} ORDER BY sku LIMIT ${limit}`,
    );
    return rows.map(levelFromRow);
  }

  async getReservation(id: string): Promise<Reservation | undefined> {
    const [row] = await guard(
      () => this.sql<ReservationRow[]>`
        SELECT ${this.sql.unsafe(reservationColumns)} FROM commands WHERE id = ${id} AND status IS NOT NULL`,
    );
    return row === undefined ? undefined : reservationFromRow(row);
  }

  async getCommand(id: string): Promise<CommandRecord | undefined> {
    const [row] = await guard(() => this.sql<CommandRow[]>`SELECT * FROM commands WHERE id = ${id}`);
    return row === undefined ? undefined : commandFromRow(row);
  }

  async readLedger(after: number, limit: number): Promise<LedgerEvent[]> {
    const rows = await guard(() =>
      this.sql.unsafe<LedgerRow[]>(
        `SELECT ${ledgerColumns} FROM ledger WHERE position > $1 ORDER BY position LIMIT $2`,
        [after, limit],
        { prepare: true },
      ),
    );
    return rows.map(eventFromRow);
  }

  async itemHistory(sku: string, after: number, limit: number): Promise<LedgerEvent[]> {
    const rows = await guard(() =>
      this.sql.unsafe<LedgerRow[]>(
        `SELECT ${ledgerColumns} FROM ledger WHERE sku = $1 AND position > $2 ORDER BY position LIMIT $3`,
        [sku, after, limit],
        { prepare: true },
      ),
    );
    return rows.map(eventFromRow);
  }

  async headPosition(): Promise<number> {
    const [row] = await guard(() => this.sql`SELECT position FROM ledger_head WHERE id = 1`);
    return Number(row?.position ?? 0);
  }

  async dueReservations(now: number, limit: number): Promise<string[]> {
    const rows = await guard(
      () => this.sql`
        SELECT id FROM commands WHERE status = 'pending' AND expires_at <= ${now}
        ORDER BY expires_at LIMIT ${limit}`,
    );
    return rows.map((row) => String(row.id));
  }

  async scanLevels(after: LevelRef | undefined, limit: number): Promise<Level[]> {
    const rows = await guard(
      () => this.sql<LevelRow[]>`
        SELECT * FROM levels WHERE (sku, location) > (${after?.sku ?? ''}, ${after?.location ?? ''})
        ORDER BY sku, location LIMIT ${limit}`,
    );
    return rows.map(levelFromRow);
  }

  async scanPendingReservations(afterId: string | undefined, limit: number): Promise<Reservation[]> {
    const rows = await guard(
      () => this.sql<ReservationRow[]>`
        SELECT ${this.sql.unsafe(reservationColumns)} FROM commands
        WHERE status = 'pending' AND id > ${afterId ?? ''} ORDER BY id LIMIT ${limit}`,
    );
    return rows.map(reservationFromRow);
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

/** One batch's transaction. Statements without a data dependency are sent pipelined. */
class PostgresSession implements WriteSession {
  private readonly sql: Sql;

  constructor(sql: Sql) {
    this.sql = sql;
  }

  async loadItems(skus: readonly string[]): Promise<Map<string, Item>> {
    const rows = await this.sql<ItemRow[]>`
      SELECT i.* FROM unnest(${skus as string[]}::text[]) AS k(sku) JOIN items i ON i.sku = k.sku`;
    return new Map(rows.map((row) => [row.sku, itemFromRow(row)]));
  }

  async loadReservations(ids: readonly string[]): Promise<Map<string, Reservation>> {
    const rows = await this.sql<ReservationRow[]>`
      SELECT c.id, c.status, c.lines, c.created_at, c.expires_at, c.resolved_at
      FROM unnest(${ids as string[]}::text[]) AS k(id) JOIN commands c ON c.id = k.id AND c.status IS NOT NULL`;
    return new Map(rows.map((row) => [row.id, reservationFromRow(row)]));
  }

  async lockLevels(keys: readonly LevelRef[]): Promise<Level[]> {
    // The LockRows step sits above the sort: rows are locked in (sku, location) order.
    const rows = await this.sql<LevelRow[]>`
      SELECT l.sku, l.location, l.on_hand, l.reserved, l.version
      FROM levels l
      JOIN unnest(${keys.map((k) => k.sku)}::text[], ${keys.map((k) => k.location)}::text[]) AS k(sku, location)
        ON l.sku = k.sku AND l.location = k.location
      ORDER BY l.sku, l.location
      FOR UPDATE OF l`;
    return rows.map(levelFromRow);
  }

  async readLevels(keys: readonly LevelRef[]): Promise<Level[]> {
    const rows = await this.sql<LevelRow[]>`
      SELECT l.sku, l.location, l.on_hand, l.reserved, l.version
      FROM levels l
      JOIN unnest(${keys.map((k) => k.sku)}::text[], ${keys.map((k) => k.location)}::text[]) AS k(sku, location)
        ON l.sku = k.sku AND l.location = k.location`;
    return rows.map(levelFromRow);
  }

  async loadCommands(ids: readonly string[]): Promise<Map<string, CommandRecord>> {
    // A join with the id list, not `id = ANY(…)`: with a long list the planner prefers a scan of
    // the whole table until it holds hundreds of thousands of rows, and every batch pays for it.
    const rows = await this.sql<CommandRow[]>`
      SELECT c.* FROM unnest(${ids as string[]}::text[]) AS k(id) JOIN commands c ON c.id = k.id`;
    return new Map(rows.map((row) => [row.id, commandFromRow(row)]));
  }

  async claimPositions(count: number): Promise<number> {
    const [row] = await this.sql`UPDATE ledger_head SET position = position + ${count} WHERE id = 1 RETURNING position`;
    return Number(row?.position) - count + 1;
  }

  async write(set: WriteSet): Promise<void> {
    const json = (rows: readonly unknown[]) => JSON.stringify(rows);
    const statements: Promise<unknown>[] = [];
    if (set.items.length > 0) {
      statements.push(this.sql`
        INSERT INTO items SELECT * FROM json_populate_recordset(null::items, ${json(set.items.map(itemToRow))}::text::json)`);
    }
    if (set.levels.length > 0) statements.push(this.writeLevels(set.levels, set.levelGuard));
    if (set.updatedReservations.length > 0) statements.push(this.updateReservations(set.updatedReservations));
    // New ids are inserted in id order: two batches racing on the same new ids wait in one order.
    const commands = commandWrites(set);
    const appended = [
      {
        table: 'ledger',
        columns: ledgerColumns,
        count: set.events.length,
        rows: () => set.events.map(eventToRow),
        lines: () => set.events.map(ledgerLine),
      },
      {
        table: 'commands',
        columns: commandColumns,
        count: commands.length,
        rows: () => commands.map(commandWriteToRow),
        lines: () => commands.map(commandLine),
      },
    ] as const;
    const copied: (typeof appended)[number][] = [];
    for (const append of appended) {
      const { table, columns, count, rows } = append;
      if (count === 0) continue;
      if (count < copyRowsMin) {
        statements.push(this.sql`
          INSERT INTO ${this.sql(table)} (${this.sql.unsafe(columns)})
          SELECT ${this.sql.unsafe(columns)} FROM json_populate_recordset(null::${this.sql(table)}, ${json(rows())}::text::json)`);
      } else {
        copied.push(append);
      }
    }
    const settled = Promise.all(statements);
    // Observed at once: a statement may fail while the data below is encoded, before the await.
    settled.catch(() => undefined);
    // The COPY data is encoded while the server runs the statements above, not after them: the
    // driver sends a query a turn after it is issued, so this thread lets it go first. The
    // COPYs then follow the statements, and each other, with no pause for encoding.
    if (copied.length > 0) await new Promise((resolve) => setImmediate(resolve));
    const copies = copied.map(({ table, columns, lines }) => ({ table, columns, data: lines().join('') }));
    await settled;
    // One COPY at a time, and none beside other statements: the protocol streams its data.
    for (const { table, columns, data } of copies) await this.copy(table, columns, data);
  }

  private async writeLevels(levels: readonly LevelWrite[], guard: LevelGuard): Promise<void> {
    const created = levels.filter((l) => l.previousVersion === null);
    const read = created.length === 0 ? levels : levels.filter((l) => l.previousVersion !== null);
    await Promise.all([
      created.length === 0 ? undefined : this.createLevels(created, guard),
      read.length === 0 ? undefined : this.updateLevels(read, guard),
    ]);
  }

  /**
   * New rows. Only the holder of the ledger head creates rows, so no two creations wait on each
   * other; a row a writer before it created fails the batch as a unique violation (retried).
   */
  private async createLevels(levels: readonly LevelWrite[], guard: LevelGuard): Promise<void> {
    const rows = JSON.stringify(levels.map((l) => ({ ...levelToRow(l), fence: createdFence(guard) })));
    await this.sql`
      INSERT INTO levels (sku, location, on_hand, reserved, version, fence)
      SELECT x.sku, x.location, x.on_hand, x.reserved, x.version, x.fence
      FROM json_to_recordset(${rows}::text::json)
        AS x(sku text, location text, on_hand bigint, reserved bigint, version bigint, fence bigint)`;
  }

  private async updateLevels(levels: readonly LevelWrite[], guard: LevelGuard): Promise<void> {
    const rows = JSON.stringify(levels.map((l) => ({ ...levelToRow(l), previous_version: l.previousVersion })));
    if (guard.kind === 'locked') {
      const result = await this.sql`
        UPDATE levels l SET on_hand = x.on_hand, reserved = x.reserved, version = x.version
        FROM json_populate_recordset(null::levels, ${rows}::text::json) x
        WHERE l.sku = x.sku AND l.location = x.location`;
      if (result.count !== levels.length) {
        throw new StoreError('internal', `${levels.length - result.count} changed levels have no row`);
      }
      return;
    }
    // Compare-and-set on the version read; with a fence, also on a token newer than the last.
    const fence = guard.fence ?? null;
    const result = await this.sql`
      UPDATE levels l
      SET on_hand = x.on_hand, reserved = x.reserved, version = x.version,
          fence = GREATEST(l.fence, COALESCE(${fence}::bigint, 0))
      FROM json_to_recordset(${rows}::text::json)
        AS x(sku text, location text, on_hand bigint, reserved bigint, version bigint, previous_version bigint)
      WHERE l.sku = x.sku AND l.location = x.location AND l.version = x.previous_version
        AND (${fence}::bigint IS NULL OR l.fence < ${fence}::bigint)`;
    if (result.count !== levels.length) {
      const code = fence === null ? staleLevelCode : fencedCode;
      throw new StoreError('conflict', `${levels.length - result.count} levels changed since they were read`, { code });
    }
  }

  /** Changed reservations: each must exist and still be a reservation (a row with a status). */
  private async updateReservations(reservations: readonly Reservation[]): Promise<void> {
    const rows = JSON.stringify(reservations.map(reservationToRow));
    const result = await this.sql`
      UPDATE commands c SET status = x.status, lines = x.lines, resolved_at = x.resolved_at
      FROM json_to_recordset(${rows}::text::json) AS x(id text, status text, lines json, resolved_at bigint)
      WHERE c.id = x.id AND c.status IS NOT NULL`;
    if (result.count !== reservations.length) {
      throw new StoreError('internal', `${reservations.length - result.count} changed reservations have no row`);
    }
  }

  /**
   * COPY … FROM STDIN, settled by the query's own outcome at ReadyForQuery. The driver's stream
   * never finishes when the server rejects the data after CopyDone (its stream reference is
   * already gone), so waiting for 'finish' would hang on a constraint violation; instead the
   * query's resolve and reject, which the driver calls again at the end, are observed.
   */
  private copy(table: 'ledger' | 'commands', columns: string, lines: string): Promise<void> {
    type CopyQuery = Promise<unknown> & {
      resolve: (value: unknown) => void;
      reject: (error: unknown) => void;
      writable: () => Promise<Writable>;
    };
    const query = this.sql.unsafe(`COPY ${table} (${columns}) FROM STDIN`) as unknown as CopyQuery;
    return new Promise<void>((resolve, reject) => {
      let streaming = false;
      const settleResolve = query.resolve;
      const settleReject = query.reject;
      query.resolve = (value) => {
        settleResolve(value);
        if (streaming) resolve();
      };
      query.reject = (error) => {
        settleReject(error);
        reject(error);
      };
      query.writable().then((stream) => {
        streaming = true;
        stream.once('error', reject);
        stream.end(lines);
      }, reject);
    });
  }
}

/**
 * Below this many rows a table's new rows go in a pipelined INSERT: a COPY costs a round trip
 * more, and only pays back when it writes many rows (several per WAL record).
 */
const copyRowsMin = 64;

const conflictCodes = new Set(['23505', '40001', '40P01', '55P03']);
const unavailableCodes = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', '08001', '08004']);

async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translate(error);
  }
}

function translate(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code !== undefined && conflictCodes.has(code)) return new StoreError('conflict', message, { cause: error, code });
  if (
    code !== undefined &&
    (unavailableCodes.has(code) ||
      code.startsWith('ECONN') ||
      code === 'CONNECTION_CLOSED' ||
      code === 'CONNECTION_ENDED' ||
      code === 'CONNECTION_DESTROYED' ||
      code === 'CONNECT_TIMEOUT' ||
      code === 'ETIMEDOUT')
  ) {
    return new StoreError('unavailable', message, { cause: error, code });
  }
  return new StoreError('internal', message, { cause: error, code });
}
