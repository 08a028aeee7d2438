import { availableParallelism, cpus, totalmem } from 'node:os';
import { loadConfig } from '../src/config.js';
import { strategyApplies } from '../src/engine/strategies.js';
import { mysqlCapabilities } from '../src/store/mysql/mysql-store.js';
import { postgresCapabilities } from '../src/store/postgres/postgres-store.js';
import { sqliteCapabilities } from '../src/store/sqlite/sqlite-store.js';
import { authBenchCli } from './auth-bench.js';
import { writeMatrixCharts } from './chart.js';
import { assertLoopback, type ServerUrls, type StoreVersions, storeVersions } from './databases.js';
import { cellEngineThread, type EngineCellResult, type EngineCellSpec, runEngineCell } from './engine-bench.js';
import { eventsBenchCli } from './events-bench.js';
import { grpcBenchCli } from './grpc-bench.js';
import { type HttpBenchResult, httpRounds, runHttpBench } from './http-bench.js';
import { opsBenchCli } from './ops-bench.js';
import { type Options, parseOptions, type StormOptions, UsageError, usage } from './options.js';
import { type ReadCell, runReadBench } from './read-bench.js';
import { engineTable, httpReport, matrixTable, readReport, stormTable, writeJson } from './report.js';
import { runStorm, type StormResult } from './storm.js';
import { describeWorkload, workloads } from './workload.js';

// `npm run bench -- [options]`: prints tables, optionally writes JSON and charts. It never fails
// on speed; it exits 1 only when a result is wrong (an unexpected rejection, a deadlock where
// locks are sorted, an oversold unit, a failed verify).

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
  const config = loadConfig(process.env);
  const { batchSizeMax, batchWaitMs, queueDepthMax, databaseConnectionsMax } = config;
  const { strategyRetryCountMax, redlockTtlMs, redisUrl, engineYoungGenerationMb } = config;
  return {
    engineThread: cellEngineThread,
    engineYoungGenerationMb,
    batchSizeMax,
    batchWaitMs,
    queueDepthMax,
    databaseConnectionsMax,
    strategyRetryCountMax,
    redlockTtlMs,
    redisUrl,
  };
}

function header(
  options: Options,
  versions: StoreVersions,
  host: ReturnType<typeof machine>,
  settings: ReturnType<typeof engineSettings>,
): string {
  const servers = [`SQLite ${versions.sqlite} (WAL, synchronous=FULL)`];
  if (versions.postgres !== undefined) {
    servers.push(
      `PostgreSQL ${versions.postgres} (synchronous_commit=${versions.postgresSynchronousCommit}, ` +
        `deadlock_timeout=${versions.postgresDeadlockTimeout})`,
    );
  }
  if (versions.mysql !== undefined) {
    servers.push(`MySQL/MariaDB ${versions.mysql} (innodb_flush_log_at_trx_commit=${versions.mysqlFlushLogAtCommit})`);
  }
  const nodeFlags = process.execArgv.filter((arg) => arg.startsWith('--max-semi-space-size'));
  const lines = [
    `Skuld bench on ${host.cores} cores (${host.cpu}), ${host.memoryGiB} GiB, Node ${host.node}, ${host.platform}` +
      (nodeFlags.length === 0 ? '' : ` (${nodeFlags.join(' ')})`),
    `stores: ${servers.join('; ')}`,
  ];
  if (options.engine) {
    lines.push(
      ...options.workloads.map((name) => `workload ${describeWorkload(workloads[name])}`),
      `engine: batchSizeMax ${settings.batchSizeMax}, batchWaitMs ${settings.batchWaitMs}, ` +
        `queueDepthMax ${settings.queueDepthMax}, engine thread ${settings.engineThread}` +
        (settings.engineThread === 'on' ? ` (young generation ${settings.engineYoungGenerationMb} MiB); ` : '; ') +
        `database pool ${settings.databaseConnectionsMax}; ` +
        `per-order strategies: ${settings.strategyRetryCountMax} retries, redlock TTL ${settings.redlockTtlMs} ms`,
      `per cell: ${options.warmupMs} ms warm-up, then ${options.durationMs} ms measured; seed ${options.seed}`,
    );
  }
  return lines.join('\n');
}

const capabilities = { sqlite: sqliteCapabilities, postgres: postgresCapabilities, mysql: mysqlCapabilities } as const;

/** Every cell asked for, in run order; a strategy runs only on the stores it applies to. */
function planCells(options: Options): EngineCellSpec[] {
  const { durationMs, warmupMs, seed, urls } = options;
  const cells: EngineCellSpec[] = [];
  for (const workload of options.workloads) {
    for (const store of options.stores) {
      for (const strategy of options.strategies) {
        if (!strategyApplies(strategy, capabilities[store])) continue;
        for (const mode of options.modes) {
          for (const wanted of options.inFlight) {
            const inFlight = strategy === 'batched' ? wanted : Math.min(wanted, options.perOrderInFlightMax);
            cells.push({ store, strategy, workload, mode, inFlight, durationMs, warmupMs, seed, urls });
          }
        }
      }
    }
  }
  return cells;
}

async function runCells(specs: readonly EngineCellSpec[]): Promise<EngineCellResult[]> {
  const cells: EngineCellResult[] = [];
  for (const spec of specs) {
    const cell = await runEngineCell(spec);
    cells.push(cell);
    console.error(
      `cell ${cells.length}/${specs.length}: ${spec.workload} ${spec.store} ${spec.strategy} ${spec.mode} ` +
        `${spec.inFlight} in flight: ${Math.round(cell.ordersPerSecond)} orders/s, verify ${cell.verify.ok ? 'ok' : 'FAILED'} ` +
        `(${phases(cell.phasesMs)})`,
    );
  }
  return cells;
}

function phases(times: EngineCellResult['phasesMs']): string {
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  return `setup ${seconds(times.setup)} s, warm-up ${seconds(times.warmup)} s, measured ${seconds(times.measured)} s, checks ${seconds(times.checks)} s`;
}

async function runStorms(storm: StormOptions, urls: ServerUrls, seed: number): Promise<StormResult[]> {
  const results: StormResult[] = [];
  for (const store of storm.stores) {
    for (const lineOrder of ['unsorted', 'sorted'] as const) {
      const result = await runStorm({ ...storm, store, lineOrder, seed, urls });
      results.push(result);
      console.error(
        `storm ${store} ${lineOrder}: ${Math.round(result.ordersPerSecond)} orders/s, ` +
          `${result.deadlocks} deadlocks, ${result.lockTimeouts} lock timeouts`,
      );
    }
  }
  return results;
}

/** What makes a result wrong, as opposed to slow. */
function problems(
  cells: readonly EngineCellResult[],
  storms: readonly StormResult[],
  http: HttpBenchResult | undefined,
): string[] {
  const found: string[] = [];
  for (const cell of cells) {
    const name = `${cell.workload} ${cell.store} ${cell.strategy} ${cell.mode} ${cell.inFlight}`;
    // The optimistic strategy's typed refusal after its bounded retries is its measured
    // behaviour on hot rows (reported in the table), not a wrong result.
    const acceptable =
      cell.strategy === 'optimistic' ? ['INSUFFICIENT_STOCK', 'CONCURRENCY_CONFLICT'] : ['INSUFFICIENT_STOCK'];
    const unexpected = Object.entries(cell.errors).filter(([code]) => !acceptable.includes(code));
    if (unexpected.length > 0) found.push(`${name}: rejected orders ${JSON.stringify(Object.fromEntries(unexpected))}`);
    if (cell.deadlocks > 0) found.push(`${name}: ${cell.deadlocks} deadlocks`);
    if (cell.holds.oversoldUnits > 0 || cell.holds.mismatchedLevels > 0) {
      found.push(`${name}: ${cell.holds.oversoldUnits} units oversold, ${cell.holds.mismatchedLevels} levels off`);
    }
    if (!cell.verify.ok) found.push(`${name}: verify found ${cell.verify.mismatchCount} mismatches`);
  }
  for (const storm of storms) {
    const name = `storm ${storm.store} ${storm.lineOrder}`;
    if (storm.lineOrder === 'sorted' && storm.deadlocks > 0) found.push(`${name}: ${storm.deadlocks} deadlocks`);
    if (!storm.consistent) found.push(`${name}: reserved units differ from the committed orders`);
  }
  if (http !== undefined) {
    const routes = [http.healthz, http.reservations, http.ceiling, http.besideReads, http.reads];
    for (const route of routes) if (route.non2xx > 0) found.push(`http: ${route.route}: non-2xx answers`);
    if (!http.verify.ok) found.push(`http: verify found ${http.verify.mismatchCount} mismatches`);
  }
  return found;
}

/** The servers the run will load; each must be on loopback. */
function serversUsed(options: Options): Partial<ServerUrls> {
  const stores = new Set([...(options.engine ? options.stores : []), ...(options.storm?.stores ?? [])]);
  if (options.http || options.reads) stores.add(options.httpStore);
  const used: { postgres?: string; mysql?: string } = {};
  if (stores.has('postgres')) used.postgres = options.urls.postgres;
  if (stores.has('mysql')) used.mysql = options.urls.mysql;
  for (const url of Object.values(used)) assertLoopback(url);
  return used;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--auth')) return authBenchCli(argv);
  if (argv.includes('--grpc')) return grpcBenchCli(argv);
  if (argv.includes('--events')) return eventsBenchCli(argv);
  if (argv.includes('--ops')) return opsBenchCli(argv);
  const options = parseOptions(argv);
  if (options === undefined) {
    console.log(usage);
    return 0;
  }
  const specs = options.engine ? planCells(options) : [];
  if (options.engine && specs.length === 0) {
    throw new UsageError('no cell to run: SQLite runs the batched strategy only (see --store, --strategy)');
  }
  const startedAt = performance.now();
  const versions = await storeVersions(serversUsed(options));
  const host = machine();
  const settings = engineSettings();
  console.log(header(options, versions, host, settings));
  const storms = options.storm === undefined ? [] : await runStorms(options.storm, options.urls, options.seed);
  if (storms.length > 0) console.log(`\nDeadlock storm (bare tables, per-order transactions)\n\n${stormTable(storms)}`);
  const cellsStartedAt = performance.now();
  const cells = await runCells(specs);
  const cellsSeconds = (performance.now() - cellsStartedAt) / 1000;
  if (cells.length > 0) {
    console.log(`\n${options.matrix ? matrixTable(cells) : engineTable(cells)}`);
    console.log(`\n${cells.length} cells in ${cellsSeconds.toFixed(0)} s`);
  }
  const charts = options.matrix && cells.length > 0 ? await writeMatrixCharts(cells, options.chartDir) : [];
  for (const chart of charts) console.log(`chart: ${chart}`);
  const http = options.http ? await runHttp(options) : undefined;
  if (http !== undefined) console.log(`\n${httpReport(http)}`);
  const reads = options.reads ? await runReads(options) : [];
  if (reads.length > 0) console.log(`\n${readReport(reads)}`);
  const totalSeconds = (performance.now() - startedAt) / 1000;
  console.log(`\ntotal: ${totalSeconds.toFixed(0)} s`);
  if (options.json !== undefined) {
    const durations = { totalSeconds, cellsSeconds };
    writeJson(options.json, {
      argv,
      machine: host,
      versions,
      settings,
      options,
      durations,
      storms,
      cells,
      http,
      reads,
    });
  }
  const found = problems(cells, storms, http);
  for (const cell of reads) {
    if (cell.reads.non2xx > 0) found.push(`reads ${cell.setup}: ${cell.reads.non2xx} reads not answered 200`);
  }
  for (const problem of found) console.error(`problem: ${problem}`);
  return found.length === 0 ? 0 : 1;
}

function runHttp(options: Options): Promise<HttpBenchResult> {
  const { httpConnections: connections, durationMs, warmupMs, seed, urls } = options;
  console.error(
    `http: ${options.httpStore}, ${connections} connections, ${durationMs} ms per route in ${httpRounds} turns`,
  );
  return runHttpBench({ store: options.httpStore, connections, durationMs, warmupMs, seed, urls });
}

function runReads(options: Options): Promise<ReadCell[]> {
  const { httpConnections: connections, durationMs, warmupMs, seed, urls } = options;
  console.error(
    `reads: ${options.httpStore}, ${connections} connections reading and ${connections} reserving, ${durationMs} ms per setup`,
  );
  return runReadBench({
    store: options.httpStore,
    readConnections: connections,
    reserveConnections: connections,
    durationMs,
    warmupMs,
    seed,
    urls,
  });
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
