import { availableParallelism, cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { assertLoopback, postgresUrlDefault, type StoreKind, type StoreVersions, storeVersions } from './databases.js';
import { type EngineCellResult, type Mode, runEngineCell } from './engine-bench.js';
import { type HttpBenchResult, runHttpBench } from './http-bench.js';
import { engineTable, httpReport, writeJson } from './report.js';
import { w1 } from './workload.js';

// `npm run bench -- [options]`: prints a table, optionally writes JSON. It never fails on
// speed; it exits 1 only when a result is wrong (errors, deadlocks, a failed verify).

const usage = `Usage: npm run bench -- [options]

Workload W1 (flash sale) through the engine, cell by cell: store x mode x orders in flight.

  --store sqlite|postgres|all          stores to measure (default: all)
  --mode reserve|reserve-commit|all    what each order does (default: all)
  --in-flight 64,1024                  orders in flight per cell, closed loop (default: 64,1024)
  --duration-ms N                      measured time per cell (default: 8000, --quick: 3000)
  --warmup-ms N                        unmeasured load before each cell (default: 1000, --quick: 500)
  --quick                              shorter cells, for a first look
  --http                               also measure the HTTP API: reservations vs GET /healthz
  --http-only                          measure only the HTTP API
  --http-store sqlite|postgres         store behind the HTTP bench (default: sqlite)
  --connections N                      HTTP connections, for both routes (default: 256)
  --postgres-url URL                   loopback PostgreSQL (default: ${postgresUrlDefault})
  --seed N                             workload PRNG seed (default: 1)
  --json FILE                          also write every result as JSON
  --help`;

const durationMsDefault = 8000;
const durationMsQuick = 3000;
const durationMsMax = 600_000;
const warmupMsDefault = 1000;
const warmupMsQuick = 500;
const inFlightMax = 16_384;
const connectionsMax = 4096;

interface Options {
  readonly stores: readonly StoreKind[];
  readonly modes: readonly Mode[];
  readonly inFlight: readonly number[];
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly engine: boolean;
  readonly http: boolean;
  readonly httpStore: StoreKind;
  readonly connections: number;
  readonly postgresUrl: string;
  readonly seed: number;
  readonly json: string | undefined;
}

/** A mistake in the arguments: reported with the usage, unlike a failure while running. */
class UsageError extends Error {}

function parseOptions(argv: string[]): Options | undefined {
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
      store: { type: 'string', default: 'all' },
      mode: { type: 'string', default: 'all' },
      'in-flight': { type: 'string', default: '64,1024' },
      'duration-ms': { type: 'string' },
      'warmup-ms': { type: 'string' },
      quick: { type: 'boolean', default: false },
      http: { type: 'boolean', default: false },
      'http-only': { type: 'boolean', default: false },
      'http-store': { type: 'string', default: 'sqlite' },
      connections: { type: 'string', default: '256' },
      'postgres-url': { type: 'string', default: postgresUrlDefault },
      seed: { type: 'string', default: '1' },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return undefined;
  const durationMs = values.quick ? durationMsQuick : durationMsDefault;
  const warmupMs = values.quick ? warmupMsQuick : warmupMsDefault;
  return {
    stores: oneOrAll('--store', values.store, ['sqlite', 'postgres']),
    modes: oneOrAll('--mode', values.mode, ['reserve', 'reserve-commit']),
    inFlight: values['in-flight'].split(',').map((raw) => integer('--in-flight', raw, 1, inFlightMax)),
    durationMs: integer('--duration-ms', values['duration-ms'] ?? String(durationMs), 100, durationMsMax),
    warmupMs: integer('--warmup-ms', values['warmup-ms'] ?? String(warmupMs), 0, durationMsMax),
    engine: !values['http-only'],
    http: values.http || values['http-only'],
    httpStore: oneOf<StoreKind>('--http-store', values['http-store'], ['sqlite', 'postgres']),
    connections: integer('--connections', values.connections, 1, connectionsMax),
    postgresUrl: values['postgres-url'],
    seed: integer('--seed', values.seed, 0, 2 ** 32 - 1),
    json: values.json,
  };
}

function oneOf<T extends string>(flag: string, raw: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(raw)) throw new Error(`${flag}: expected ${choices.join('|')}`);
  return raw as T;
}

function oneOrAll<T extends string>(flag: string, raw: string, choices: readonly T[]): T[] {
  return raw === 'all' ? [...choices] : [oneOf(flag, raw, choices)];
}

function integer(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${flag}: expected an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function machine() {
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The engine settings every cell runs with: the defaults, or SKULD_* variables when set. */
function engineSettings() {
  const { batchSizeMax, batchWaitMs, queueDepthMax, databaseConnectionsMax } = loadConfig(process.env);
  return { batchSizeMax, batchWaitMs, queueDepthMax, databaseConnectionsMax };
}

function header(
  options: Options,
  versions: StoreVersions,
  host: ReturnType<typeof machine>,
  settings: ReturnType<typeof engineSettings>,
): string {
  const postgres =
    versions.postgres === undefined
      ? ''
      : `; PostgreSQL ${versions.postgres} (synchronous_commit=${versions.postgresSynchronousCommit})`;
  return [
    `Skuld bench, workload W1: ${w1.itemCount.toLocaleString('en-US')} items at ${w1.location}, ${w1.linesPerOrder} distinct lines ` +
      `of 1-${w1.lineQuantityMax} units, ${w1.hotProbability * 100}% on ${w1.hotItemCount} hot items`,
    `machine: ${host.cores} cores (${host.cpu}), ${host.memoryGiB} GiB, Node ${host.node}, ${host.platform}`,
    `stores: SQLite ${versions.sqlite} (WAL, synchronous=FULL)${postgres}`,
    `engine: batchSizeMax ${settings.batchSizeMax}, batchWaitMs ${settings.batchWaitMs}, ` +
      `queueDepthMax ${settings.queueDepthMax}; PostgreSQL pool ${settings.databaseConnectionsMax}`,
    `per cell: ${options.warmupMs} ms warm-up, then ${options.durationMs} ms measured; seed ${options.seed}`,
  ].join('\n');
}

async function runCells(options: Options): Promise<EngineCellResult[]> {
  const cells: EngineCellResult[] = [];
  const total = options.stores.length * options.modes.length * options.inFlight.length;
  for (const store of options.stores) {
    for (const mode of options.modes) {
      for (const inFlight of options.inFlight) {
        const { durationMs, warmupMs, seed, postgresUrl } = options;
        const cell = await runEngineCell({ store, mode, inFlight, durationMs, warmupMs, seed, postgresUrl });
        cells.push(cell);
        console.error(
          `cell ${cells.length}/${total}: ${store} ${mode} ${inFlight} in flight: ` +
            `${Math.round(cell.ordersPerSecond)} orders/s, verify ${cell.verify.ok ? 'ok' : 'FAILED'}`,
        );
      }
    }
  }
  return cells;
}

/** What makes a result wrong, as opposed to slow. */
function problems(cells: readonly EngineCellResult[], http: HttpBenchResult | undefined): string[] {
  const found: string[] = [];
  for (const cell of cells) {
    const name = `${cell.store} ${cell.mode} ${cell.inFlight}`;
    if (Object.keys(cell.errors).length > 0) found.push(`${name}: failed orders ${JSON.stringify(cell.errors)}`);
    if (cell.deadlocks > 0) found.push(`${name}: ${cell.deadlocks} deadlocks`);
    if (!cell.verify.ok) found.push(`${name}: verify found ${cell.verify.mismatchCount} mismatches`);
  }
  if (http !== undefined) {
    if (http.reservations.non2xx + http.healthz.non2xx > 0) found.push('http: non-2xx answers');
    if (!http.verify.ok) found.push(`http: verify found ${http.verify.mismatchCount} mismatches`);
  }
  return found;
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options === undefined) {
    console.log(usage);
    return 0;
  }
  const usesPostgres = (options.engine && options.stores.includes('postgres')) || options.httpStore === 'postgres';
  if (usesPostgres) assertLoopback(options.postgresUrl);
  const versions = await storeVersions(usesPostgres ? options.postgresUrl : undefined);
  const host = machine();
  const settings = engineSettings();
  console.log(header(options, versions, host, settings));
  const cells = options.engine ? await runCells(options) : [];
  if (cells.length > 0) console.log(`\n${engineTable(cells)}`);
  const http = options.http ? await runHttp(options) : undefined;
  if (http !== undefined) console.log(`\n${httpReport(http)}`);
  if (options.json !== undefined) {
    writeJson(options.json, { argv, machine: host, versions, settings, options, cells, http });
  }
  const found = problems(cells, http);
  for (const problem of found) console.error(`problem: ${problem}`);
  return found.length === 0 ? 0 : 1;
}

function runHttp(options: Options): Promise<HttpBenchResult> {
  const { connections, durationMs, warmupMs, seed, postgresUrl } = options;
  console.error(`http: ${options.httpStore}, ${connections} connections, ${durationMs} ms per route`);
  return runHttpBench({ store: options.httpStore, connections, durationMs, warmupMs, seed, postgresUrl });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof UsageError ? `${error.message}\n\n${usage}` : error);
    process.exitCode = 2;
  },
);
