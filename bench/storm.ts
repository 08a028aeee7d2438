import { compareLevelKeys, type StockLine } from '../src/domain/index.js';
import { freshName, onMysqlServer, type ServerUrls, withDatabase, withPostgres } from './databases.js';
import {
  countOf,
  deadlockCodes,
  increment,
  type LatencySummary,
  lockTimeoutCodes,
  summarizeLatencies,
} from './measure.js';
import { orderLines, ordersPerRunMax, seededRandom, skuOf, w1 } from './workload.js';

// The deadlock storm, reproduced without Skuld: per-order transactions on a bare table of
// levels, each locking (`SELECT … FOR UPDATE`) and updating every line's level in the order's
// own line order. Two orders that share two hot levels in opposite orders wait on each other,
// and the database kills one of them. The same run with each order's lines sorted by
// (sku, location) cannot form that cycle.

export type StormStore = 'postgres' | 'mysql';
export type LineOrder = 'unsorted' | 'sorted';

export interface StormSpec {
  readonly store: StormStore;
  readonly lineOrder: LineOrder;
  readonly connections: number;
  readonly durationMs: number;
  /** Times a failed order is tried again (a new transaction) before it counts as failed. */
  readonly retryMax: number;
  /** PostgreSQL `lock_timeout`, MariaDB `innodb_lock_wait_timeout` (whole seconds). */
  readonly lockTimeoutMs: number;
  readonly seed: number;
  readonly urls: ServerUrls;
}

export interface StormResult extends Omit<StormSpec, 'urls'>, LatencySummary {
  /** Transactions started, retries included. */
  readonly attempts: number;
  readonly retries: number;
  /** Orders given up after retryMax retries (or past the deadline's grace). */
  readonly failedOrders: number;
  /** Failed transactions by database code. */
  readonly failures: Readonly<Record<string, number>>;
  readonly deadlocks: number;
  readonly lockTimeouts: number;
  /** The table's total reserved units equal the committed orders' units. */
  readonly consistent: boolean;
}

/** One order's transaction, on a connection of its own; it throws the driver's error. */
interface StormConnection {
  order(lines: readonly StockLine[]): Promise<void>;
  release(): void;
}

interface StormTarget {
  connect(): Promise<StormConnection>;
  reservedTotal(): Promise<number>;
  close(): Promise<void>;
}

/** After the deadline, a failed order is retried no more: the run ends within this. */
const retryGraceMs = 5000;
const insufficientStock = 'INSUFFICIENT_STOCK';

export async function runStorm(spec: StormSpec): Promise<StormResult> {
  const target = spec.store === 'postgres' ? await postgresTarget(spec) : await mysqlTarget(spec);
  try {
    const run = await stormLoop(spec, target);
    const reserved = await target.reservedTotal();
    const { urls: _, ...cell } = spec;
    return {
      ...cell,
      ...summarizeLatencies(run.latencies, run.elapsedMs),
      attempts: run.attempts,
      retries: run.retries,
      failedOrders: run.failedOrders,
      failures: Object.fromEntries(run.failures),
      deadlocks: countOf(run.failures, deadlockCodes),
      lockTimeouts: countOf(run.failures, lockTimeoutCodes),
      consistent: reserved === run.committedUnits,
    };
  } finally {
    await target.close();
  }
}

interface StormRun {
  readonly latencies: number[];
  readonly elapsedMs: number;
  readonly attempts: number;
  readonly retries: number;
  readonly failedOrders: number;
  readonly failures: Map<string, number>;
  readonly committedUnits: number;
}

/** Closed loop: each connection sends its next order when the last one committed or failed. */
async function stormLoop(spec: StormSpec, target: StormTarget): Promise<StormRun> {
  const random = seededRandom(spec.seed);
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  const run = { attempts: 0, retries: 0, failedOrders: 0, committedUnits: 0 };
  const startedAt = performance.now();
  const deadline = startedAt + spec.durationMs;
  let sent = 0;
  const worker = async (connection: StormConnection) => {
    while (sent < ordersPerRunMax && performance.now() < deadline) {
      sent += 1;
      const lines = arrange(orderLines(w1, random), spec.lineOrder);
      const orderStartedAt = performance.now();
      for (let attempt = 0; ; attempt += 1) {
        run.attempts += 1;
        const code = await attemptOrder(connection, lines);
        if (code === undefined) {
          latencies.push(performance.now() - orderStartedAt);
          run.committedUnits += lines.reduce((sum, line) => sum + line.quantity, 0);
          break;
        }
        increment(failures, code);
        if (attempt >= spec.retryMax || performance.now() > deadline + retryGraceMs) {
          run.failedOrders += 1;
          break;
        }
        run.retries += 1;
      }
    }
  };
  const connections = await Promise.all(Array.from({ length: spec.connections }, () => target.connect()));
  try {
    await Promise.all(connections.map(worker));
  } finally {
    for (const connection of connections) connection.release();
  }
  return { latencies, elapsedMs: performance.now() - startedAt, failures, ...run };
}

function arrange(lines: StockLine[], lineOrder: LineOrder): StockLine[] {
  return lineOrder === 'sorted' ? lines.sort(compareLevelKeys) : lines;
}

/** Undefined when the order committed, otherwise the code of the error that rolled it back. */
async function attemptOrder(connection: StormConnection, lines: readonly StockLine[]): Promise<string | undefined> {
  try {
    await connection.order(lines);
    return undefined;
  } catch (error) {
    return errorCode(error);
  }
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { code, errno } = error as { code?: unknown; errno?: unknown };
    // mysql2 names a server error by symbol in `code` (ER_…) and by number in `errno`, the
    // number its documentation uses; PostgreSQL's SQLSTATE is the `code`.
    if (typeof code === 'string' && code.startsWith('ER_') && typeof errno === 'number') return String(errno);
    if (typeof code === 'string') return code;
  }
  throw error;
}

class InsufficientStock extends Error {
  readonly code = insufficientStock;
}

function levelRows(): (readonly [string, string, number, number])[] {
  return Array.from({ length: w1.itemCount }, (_, index) => [skuOf(index), w1.location, w1.stockPerItem, 0] as const);
}

async function postgresTarget(spec: StormSpec): Promise<StormTarget> {
  const { default: postgres } = await import('postgres');
  const schema = freshName('storm');
  await withPostgres(spec.urls.postgres, async (sql) => {
    await sql.unsafe(`CREATE SCHEMA ${schema}`);
    await sql.unsafe(`CREATE TABLE ${schema}.levels (
      sku text COLLATE "C" NOT NULL, location text COLLATE "C" NOT NULL,
      on_hand bigint NOT NULL, reserved bigint NOT NULL, PRIMARY KEY (sku, location))`);
    const rows = levelRows().map(([sku, location, onHand, reserved]) => ({ sku, location, on_hand: onHand, reserved }));
    await sql.unsafe(`SET search_path TO ${schema}`);
    await sql`INSERT INTO levels ${sql(rows)}`;
  });
  const sql = postgres(spec.urls.postgres, {
    max: spec.connections,
    connect_timeout: 5,
    onnotice: () => undefined,
    connection: { search_path: schema, lock_timeout: spec.lockTimeoutMs },
  });
  const order = (lines: readonly StockLine[]) =>
    sql.begin(async (tx) => {
      for (const { sku, location, quantity } of lines) {
        const [level] = await tx`
          SELECT on_hand, reserved FROM levels WHERE sku = ${sku} AND location = ${location} FOR UPDATE`;
        if (level === undefined || Number(level.on_hand) - Number(level.reserved) < quantity) {
          throw new InsufficientStock(`${sku}@${location}`);
        }
        await tx`UPDATE levels SET reserved = reserved + ${quantity} WHERE sku = ${sku} AND location = ${location}`;
      }
    });
  return {
    // postgres.js hands each transaction a pooled connection of its own.
    connect: async () => ({ order: async (lines) => void (await order(lines)), release: () => undefined }),
    reservedTotal: async () => Number((await sql`SELECT coalesce(sum(reserved), 0) AS total FROM levels`)[0]?.total),
    close: async () => {
      await sql.end({ timeout: 5 });
      await withPostgres(spec.urls.postgres, (admin) => admin.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    },
  };
}

async function mysqlTarget(spec: StormSpec): Promise<StormTarget> {
  const { createPool } = await import('mysql2/promise');
  const database = freshName('storm');
  const values = levelRows()
    .map(([sku, location, onHand, reserved]) => `('${sku}', '${location}', ${onHand}, ${reserved})`)
    .join(',');
  await onMysqlServer(
    spec.urls.mysql,
    `CREATE DATABASE ${database}`,
    `CREATE TABLE ${database}.levels (
      sku VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      location VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      on_hand BIGINT NOT NULL, reserved BIGINT NOT NULL, PRIMARY KEY (sku, location)) ENGINE=InnoDB`,
    `INSERT INTO ${database}.levels VALUES ${values}`,
  );
  const pool = createPool({
    uri: withDatabase(spec.urls.mysql, database),
    connectionLimit: spec.connections,
    connectTimeout: 5000,
  });
  const lockWaitSeconds = Math.max(1, Math.round(spec.lockTimeoutMs / 1000));
  return {
    connect: async () => {
      const connection = await pool.getConnection();
      await connection.query(`SET innodb_lock_wait_timeout = ${lockWaitSeconds}`);
      const order = async (lines: readonly StockLine[]) => {
        try {
          await connection.query('BEGIN');
          for (const { sku, location, quantity } of lines) {
            const [rows] = await connection.query(
              'SELECT on_hand, reserved FROM levels WHERE sku = ? AND location = ? FOR UPDATE',
              [sku, location],
            );
            const level = (rows as { on_hand: number; reserved: number }[])[0];
            if (level === undefined || Number(level.on_hand) - Number(level.reserved) < quantity) {
              throw new InsufficientStock(`${sku}@${location}`);
            }
            await connection.query('UPDATE levels SET reserved = reserved + ? WHERE sku = ? AND location = ?', [
              quantity,
              sku,
              location,
            ]);
          }
          await connection.query('COMMIT');
        } catch (error) {
          // A deadlock has rolled the transaction back already; a lock wait timeout only the statement.
          await connection.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      };
      return { order, release: () => connection.release() };
    },
    reservedTotal: async () => {
      const [rows] = await pool.query('SELECT coalesce(sum(reserved), 0) AS total FROM levels');
      return Number((rows as { total: unknown }[])[0]?.total);
    },
    close: async () => {
      await pool.end();
      await onMysqlServer(spec.urls.mysql, `DROP DATABASE IF EXISTS ${database}`);
    },
  };
}
