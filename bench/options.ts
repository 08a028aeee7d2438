import { parseArgs } from 'node:util';
import { type Strategy, strategies } from '../src/engine/strategies.js';
import { mysqlUrlDefault, postgresUrlDefault, type ServerUrls, type StoreKind, storeKinds } from './databases.js';
import type { Mode } from './engine-bench.js';
import type { StormStore } from './storm.js';
import { type WorkloadName, workloadNames } from './workload.js';

// The bench's command line: three programs (engine cells, the matrix, the storm) and the HTTP
// bench, with defaults that depend on which one runs.

export const usage = `Usage: npm run bench -- [options]

Engine cells: a workload through the engine, store x strategy x workload x mode x in flight.
By default W1 (flash sale), batched, SQLite and PostgreSQL, both modes, 64 and 1,024 in flight.

  --matrix                             every store x strategy x workload, reserve, 1,024 in flight,
                                       with a chart per workload (1 s + 6 s per cell; --quick: 0.3 s + 1 s,
                                       and the per-order strategies at 128 in flight)
  --storm                              the deadlock storm on bare tables (PostgreSQL, MariaDB):
                                       per-order transactions, unsorted then sorted lines
  --store sqlite,postgres,mysql|all    stores (default: sqlite,postgres; --matrix, --storm: all)
  --strategy batched,pessimistic,optimistic,redlock|all
                                       write paths (default: batched; --matrix: all); SQLite: batched only
  --workload W1,W2,W3,W4|all           workloads (default: W1; --matrix: all)
  --mode reserve,reserve-commit|all    what each order does (default: all; --matrix: reserve)
  --in-flight 64,1024                  orders in flight per cell, closed loop (default: 64,1024; --matrix: 1024)
  --duration-ms N                      measured time per cell (default: 8000, --quick: 3000; --matrix: 6000,
                                       --quick: 1000; --storm: 10000 per run, --quick: 3000)
  --warmup-ms N                        unmeasured load before each cell, at most 64 in flight
                                       (default: 1000, --quick: 500; --matrix --quick: 300)
  --quick                              shorter cells, for a first look
  --chart-dir DIR                      where --matrix writes matrix-w<N>.png (default: docs; --quick: bench/out)
  --connections N                      storm connections (default: 32); HTTP connections (default: 256)
  --retry-max N                        storm: retries of a failed order (default: 3)
  --lock-timeout-ms N                  storm: lock_timeout / innodb_lock_wait_timeout (default: 2000)
  --http                               also measure the HTTP API: reservations vs GET /healthz
  --http-only                          measure only the HTTP API
  --http-store sqlite|postgres|mysql   store behind the HTTP bench and the read bench (default: sqlite)
  --reads                              only the read bench: stock reads of W1's items (Zipf) beside the W1
                                       reservation load, with no cache, L1, L1+L2 and L1+L2 with Redis down
                                       (--connections per side, default 64; --duration-ms per setup)
  --auth                               only the auth bench: reservations/s over HTTP with an API key, a JWT, none
  --grpc                               only the gRPC bench: reservations/s over HTTP, gRPC unary and the command
                                       stream, and orders through the order service, on 1 and 3 instances
  --events                             only the events bench: relays to RabbitMQ and NATS and the projector beside
                                       W1 on PostgreSQL (--duration-ms, default 10000), then verify, rebuild and
                                       stock at a past moment over --events-scale N events on SQLite (default
                                       10000000); --skip-relays for the second part alone; --amqp-url, --nats-url
  --ops                                only the ops bench: W1 reservations/s over HTTP bare and observed (a /metrics
                                       scrape every second, the dashboard's poll every 2 s and its live tail) in
                                       alternating turns, and the scrape latency under that load; --store
                                       sqlite|postgres|mysql (default: sqlite), --rounds N (even, default 6),
                                       --duration-ms per variant (default 30000)
  --postgres-url URL                   loopback PostgreSQL (default: ${postgresUrlDefault})
  --mysql-url URL                      loopback MySQL/MariaDB (default: ${mysqlUrlDefault})
  --seed N                             workload PRNG seed (default: 1)
  --json FILE                          also write every result as JSON
  --help`;

export interface StormOptions {
  readonly stores: readonly StormStore[];
  readonly connections: number;
  readonly durationMs: number;
  readonly retryMax: number;
  readonly lockTimeoutMs: number;
}

export interface Options {
  readonly matrix: boolean;
  /** Engine cells run unless only the storm or only the HTTP bench was asked for. */
  readonly engine: boolean;
  readonly stores: readonly StoreKind[];
  readonly strategies: readonly Strategy[];
  readonly workloads: readonly WorkloadName[];
  readonly modes: readonly Mode[];
  readonly inFlight: readonly number[];
  /** Most orders in flight for the one-command-per-transaction strategies (--matrix --quick). */
  readonly perOrderInFlightMax: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly chartDir: string;
  readonly storm: StormOptions | undefined;
  readonly http: boolean;
  /** The read bench alone (--reads). */
  readonly reads: boolean;
  readonly httpStore: StoreKind;
  readonly httpConnections: number;
  readonly urls: ServerUrls;
  readonly seed: number;
  readonly json: string | undefined;
}

const durationMsMax = 600_000;
const inFlightMax = 16_384;
const connectionsMax = 4096;
const stormConnectionsMax = 90;
const retryMaxLimit = 100;

/**
 * Per program: measured time and warm-up per cell, [full, --quick]. The quick matrix is cut to
 * stay within 3 minutes: its 36 cells spend about a minute setting up (W2 is 100,000 items).
 */
const durationsMs = { cells: [8000, 3000], matrix: [6000, 1000], storm: [10_000, 3000] } as const;
/**
 * A per-order strategy runs pool size − 1 transactions at a time however many orders wait, so
 * its orders/s is the same at 128 in flight as at 1,024; but after each deadline it spends
 * 1,024 ÷ (its orders/s) seconds answering the orders in flight, 2 to 10 s a cell. The quick
 * matrix runs those cells at 128 in flight (their latencies then show 128 waiting, not 1,024).
 */
const quickPerOrderInFlightMax = 128;
const warmupsMs = { cells: [1000, 500], matrix: [1000, 300] } as const;

/** A mistake in the arguments: reported with the usage, unlike a failure while running. */
export class UsageError extends Error {}

export function parseOptions(argv: string[]): Options | undefined {
  try {
    return readOptions(argv);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function readOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      matrix: { type: 'boolean', default: false },
      storm: { type: 'boolean', default: false },
      store: { type: 'string' },
      strategy: { type: 'string' },
      workload: { type: 'string' },
      mode: { type: 'string' },
      'in-flight': { type: 'string' },
      'duration-ms': { type: 'string' },
      'warmup-ms': { type: 'string' },
      quick: { type: 'boolean', default: false },
      'chart-dir': { type: 'string' },
      connections: { type: 'string' },
      'retry-max': { type: 'string', default: '3' },
      'lock-timeout-ms': { type: 'string', default: '2000' },
      http: { type: 'boolean', default: false },
      'http-only': { type: 'boolean', default: false },
      reads: { type: 'boolean', default: false },
      'http-store': { type: 'string', default: 'sqlite' },
      'postgres-url': { type: 'string', default: postgresUrlDefault },
      'mysql-url': { type: 'string', default: mysqlUrlDefault },
      seed: { type: 'string', default: '1' },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  const { matrix, quick } = values;
  const pick = ([full, short]: readonly [number, number]) => String(quick ? short : full);
  const duration = (program: keyof typeof durationsMs) =>
    integer('--duration-ms', values['duration-ms'] ?? pick(durationsMs[program]), 100, durationMsMax);
  const stores = list('--store', values.store ?? (matrix || values.storm ? 'all' : 'sqlite,postgres'), storeKinds);
  const storm: StormOptions | undefined = values.storm
    ? {
        stores: stores.filter((store): store is StormStore => store !== 'sqlite'),
        connections: integer('--connections', values.connections ?? '32', 1, stormConnectionsMax),
        durationMs: duration('storm'),
        retryMax: integer('--retry-max', values['retry-max'], 0, retryMaxLimit),
        lockTimeoutMs: integer('--lock-timeout-ms', values['lock-timeout-ms'], 1000, 60_000),
      }
    : undefined;
  return {
    matrix,
    engine: !values['http-only'] && !values.reads && (matrix || !values.storm),
    stores,
    strategies: list('--strategy', values.strategy ?? (matrix ? 'all' : 'batched'), strategies),
    workloads: list('--workload', values.workload ?? (matrix ? 'all' : 'W1'), workloadNames),
    modes: list('--mode', values.mode ?? (matrix ? 'reserve' : 'all'), ['reserve', 'reserve-commit'] as const),
    inFlight: (values['in-flight'] ?? (matrix ? '1024' : '64,1024'))
      .split(',')
      .map((raw) => integer('--in-flight', raw, 1, inFlightMax)),
    perOrderInFlightMax: matrix && quick ? quickPerOrderInFlightMax : inFlightMax,
    durationMs: duration(matrix ? 'matrix' : 'cells'),
    warmupMs: integer(
      '--warmup-ms',
      values['warmup-ms'] ?? pick(warmupsMs[matrix ? 'matrix' : 'cells']),
      0,
      durationMsMax,
    ),
    chartDir: values['chart-dir'] ?? (quick ? 'bench/out' : 'docs'),
    storm,
    http: (values.http || values['http-only']) && !values.reads,
    reads: values.reads,
    httpStore: oneOf('--http-store', values['http-store'], storeKinds),
    httpConnections: integer('--connections', values.connections ?? (values.reads ? '64' : '256'), 1, connectionsMax),
    urls: { postgres: values['postgres-url'], mysql: values['mysql-url'] },
    seed: integer('--seed', values.seed, 0, 2 ** 32 - 1),
    json: values.json,
  };
}

function oneOf<T extends string>(flag: string, raw: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(raw)) throw new Error(`${flag}: expected ${choices.join('|')}`);
  return raw as T;
}

/** A comma-separated list of choices, or `all`. */
function list<T extends string>(flag: string, raw: string, choices: readonly T[]): T[] {
  if (raw === 'all') return [...choices];
  return [...new Set(raw.split(',').map((value) => oneOf(flag, value.trim(), choices)))];
}

function integer(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${flag}: expected an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/**
 * The flags of one bench mode's command line: a flag's value (the argument after it), and a
 * positive integer with its default when the flag is absent.
 */
export function flagsOf(argv: readonly string[]) {
  const value = (flag: string): string | undefined => {
    const index = argv.indexOf(flag);
    return index < 0 ? undefined : argv[index + 1];
  };
  const number = (flag: string, fallback: number): number => {
    const raw = value(flag);
    if (raw === undefined) return fallback;
    const parsed = Number(raw);
    if (!Number.isSafeInteger(parsed) || parsed < 1) throw new Error(`${flag}: a positive integer`);
    return parsed;
  };
  return { value, number };
}
