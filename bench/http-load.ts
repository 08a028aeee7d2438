import autocannon from 'autocannon';
import type { CpuUse } from './measure.js';
import { orderLines, ordersPerRunMax, seededRandom, skuOf, w1 } from './workload.js';

// The HTTP load generator. It runs in a process of its own, so that the server's event loop
// is not shared with the client's: the parent forks this file, sends a LoadSpec over IPC and
// receives a LoadResult. Around each measured run of one route alone it asks the parent to
// open and close a CPU window, so that each route's CPU time per request is known on both
// sides: the server's (engine thread included) and this process's.

export interface LoadSpec {
  /** Loopback port of the server under test. */
  readonly port: number;
  /** The same app on another port, its engine replaced by an immediate answer (http-ceiling.ts). */
  readonly ceilingPort: number;
  /** A read route, probed at a steady low rate while reservations run at full load. */
  readonly readPath: string;
  /** The routes take turns this many times, each for durationMs ÷ rounds a turn. */
  readonly rounds: number;
  readonly connections: number;
  readonly durationMs: number;
  /** Unmeasured run of each route first: connections, JIT and caches warm up. */
  readonly warmupMs: number;
  readonly seed: number;
}

export interface RouteResult {
  readonly route: string;
  readonly connections: number;
  readonly requests: number;
  readonly durationS: number;
  readonly requestsPerSecond: number;
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
  readonly non2xx: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  /** Socket errors, timeouts included. */
  readonly errors: number;
  readonly timeouts: number;
  /** CPU time per request over the route's runs; absent for runs that share the server. */
  readonly cpuUsPerRequest?: RouteCpu;
}

export interface RouteCpu {
  /** The server process, every thread of it. */
  readonly server: number;
  /** The database server's processes; absent for SQLite. */
  readonly database?: number;
  readonly loadGenerator: number;
}

/** Stock reads of W1's items, Zipf-skewed, at full load beside a full reservation load (bench --reads). */
export interface ReadLoadSpec {
  readonly kind: 'reads';
  readonly port: number;
  readonly itemCount: number;
  /** The Zipf exponent: item k (from 0) is read in proportion to 1 / (k + 1)^s. */
  readonly zipfExponent: number;
  readonly readConnections: number;
  readonly reserveConnections: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly seed: number;
}

export interface ReadLoadResult {
  readonly reads: RouteResult;
  readonly reservations: RouteResult;
}

/** What the child and the parent say to each other, beside the spec. */
export type LoadMessage =
  | { readonly kind: 'window'; readonly open: boolean }
  | { readonly kind: 'result'; readonly result: LoadResult | ReadLoadResult };
/** The parent's answer to a window message: the CPU use over the window it closed. */
export type WindowAnswer = { readonly kind: 'window'; readonly cpu: CpuUse | undefined };

export interface LoadResult {
  readonly healthz: RouteResult;
  readonly reservations: RouteResult;
  /** The reservation route with no engine behind it: what the HTTP layer alone allows. */
  readonly ceiling: RouteResult;
  /** Reads at a steady rate beside a full reservation load, and that load. */
  readonly reads: RouteResult;
  readonly besideReads: RouteResult;
}

/** The read probe: a steady rate far below capacity, so its latency shows waiting, not queueing. */
const readConnections = 4;
const readRequestsPerSecond = 200;

const healthz: autocannon.Request = { method: 'GET', path: '/healthz' };

/** POST /v1/reservations with a new W1 order, under a new id, on every send. */
function reservations(seed: number): autocannon.Request {
  const random = seededRandom(seed);
  let sent = 0;
  return {
    method: 'POST',
    path: '/v1/reservations',
    headers: { 'content-type': 'application/json' },
    setupRequest: (request) => {
      sent += 1;
      return { ...request, body: JSON.stringify({ id: `h${sent}`, lines: orderLines(w1, random) }) };
    },
  };
}

interface Fire {
  readonly port: number;
  readonly connections: number;
  readonly durationMs: number;
  /** Requests per second over all connections; unbounded when absent. */
  readonly overallRate?: number;
}

function fire(target: Fire, request: autocannon.Request): Promise<autocannon.Result> {
  const options: autocannon.Options = {
    url: `http://127.0.0.1:${target.port}`,
    connections: target.connections,
    duration: target.durationMs / 1000,
    // Bounded in count as well as in time, like every load the bench makes.
    maxOverallRequests: ordersPerRunMax,
    requests: [request],
    ...(target.overallRate === undefined ? {} : { overallRate: target.overallRate }),
  };
  return new Promise((resolve, reject) => {
    autocannon(options, (error, result) => (error === null ? resolve(result) : reject(error)));
  });
}

/**
 * One route's rounds, as one result: requests and time summed; p50 the median of the rounds'
 * p50s and p99 the highest of their p99s (autocannon reports percentiles per run, not the
 * latencies themselves).
 */
function routeResult(
  route: string,
  connections: number,
  rounds: readonly autocannon.Result[],
  cpu?: CpuTally,
): RouteResult {
  const statusCodes: Record<string, number> = {};
  for (const result of rounds) {
    for (const [code, stats] of Object.entries(result.statusCodeStats)) {
      statusCodes[code] = (statusCodes[code] ?? 0) + stats.count;
    }
  }
  const sum = (value: (result: autocannon.Result) => number) => rounds.reduce((total, r) => total + value(r), 0);
  const requests = sum((r) => r.requests.total);
  const durationS = sum((r) => r.duration);
  const p50s = rounds.map((r) => r.latency.p50).sort((a, b) => a - b);
  return {
    route,
    connections,
    requests,
    durationS,
    requestsPerSecond: durationS > 0 ? requests / durationS : 0,
    latencyMsP50: p50s[Math.floor((p50s.length - 1) / 2)] ?? 0,
    latencyMsP99: Math.max(0, ...rounds.map((r) => r.latency.p99)),
    non2xx: sum((r) => r.non2xx),
    statusCodes,
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    ...(cpu === undefined || requests === 0 ? {} : { cpuUsPerRequest: cpu.perRequest(requests) }),
  };
}

/** CPU time over one route's measured runs, in µs. */
class CpuTally {
  private serverUs = 0;
  private databaseUs: number | undefined;
  private loadGeneratorUs = 0;

  add(server: CpuUse, loadGenerator: NodeJS.CpuUsage): void {
    this.serverUs += server.skuldUs;
    if (server.databaseUs !== undefined) this.databaseUs = (this.databaseUs ?? 0) + server.databaseUs;
    this.loadGeneratorUs += loadGenerator.user + loadGenerator.system;
  }

  perRequest(requests: number): RouteCpu {
    return {
      server: this.serverUs / requests,
      ...(this.databaseUs === undefined ? {} : { database: this.databaseUs / requests }),
      loadGenerator: this.loadGeneratorUs / requests,
    };
  }
}

/** Asks the parent to open or close its CPU window; resolves once it has. */
function cpuWindow(open: boolean): Promise<CpuUse | undefined> {
  return new Promise((resolve) => {
    process.once('message', (answer: WindowAnswer) => resolve(answer.cpu));
    send({ kind: 'window', open });
  });
}

function send(message: LoadMessage, then: () => void = () => undefined): void {
  process.send?.(message, then);
}

/** One run of a route with nothing else on the server, its CPU time added to the tally. */
async function fireAlone(target: Fire, request: autocannon.Request, tally: CpuTally): Promise<autocannon.Result> {
  await cpuWindow(true);
  const before = process.cpuUsage();
  const result = await fire(target, request);
  const loadGenerator = process.cpuUsage(before);
  const server = await cpuWindow(false);
  if (server === undefined) throw new Error('the parent closed a CPU window it had not opened');
  tally.add(server, loadGenerator);
  return result;
}

async function measure(spec: LoadSpec): Promise<LoadResult> {
  const { port, ceilingPort, connections, warmupMs, rounds } = spec;
  const durationMs = Math.max(1, Math.round(spec.durationMs / rounds));
  const reserve = reservations(spec.seed);
  const read: autocannon.Request = { method: 'GET', path: spec.readPath };
  await fire({ port, connections, durationMs: warmupMs }, healthz);
  await fire({ port, connections, durationMs: warmupMs }, reserve);
  await fire({ port: ceilingPort, connections, durationMs: warmupMs }, reserve);
  const trivial: autocannon.Result[] = [];
  const reserved: autocannon.Result[] = [];
  const ceiling: autocannon.Result[] = [];
  const reads: autocannon.Result[] = [];
  const besideReads: autocannon.Result[] = [];
  const probe = { port, connections: readConnections, durationMs, overallRate: readRequestsPerSecond };
  const cpu = { trivial: new CpuTally(), reserved: new CpuTally(), ceiling: new CpuTally() };
  for (let round = 0; round < rounds; round += 1) {
    trivial.push(await fireAlone({ port, connections, durationMs }, healthz, cpu.trivial));
    reserved.push(await fireAlone({ port, connections, durationMs }, reserve, cpu.reserved));
    ceiling.push(await fireAlone({ port: ceilingPort, connections, durationMs }, reserve, cpu.ceiling));
    const beside = await Promise.all([fire(probe, read), fire({ port, connections, durationMs }, reserve)]);
    reads.push(beside[0]);
    besideReads.push(beside[1]);
  }
  const route = 'POST /v1/reservations';
  return {
    healthz: routeResult('GET /healthz', connections, trivial, cpu.trivial),
    reservations: routeResult(route, connections, reserved, cpu.reserved),
    ceiling: routeResult(`${route} (no engine)`, connections, ceiling, cpu.ceiling),
    reads: routeResult(`GET ${spec.readPath} (beside reservations)`, readConnections, reads),
    besideReads: routeResult(`${route} (beside reads)`, connections, besideReads),
  };
}

/** GET /v1/items/<sku>/stock, the SKU drawn Zipf-skewed on every send. */
function zipfStockReads(spec: ReadLoadSpec): autocannon.Request {
  const cumulative = new Float64Array(spec.itemCount);
  let total = 0;
  for (let index = 0; index < spec.itemCount; index += 1) {
    total += 1 / (index + 1) ** spec.zipfExponent;
    cumulative[index] = total;
  }
  const random = seededRandom(spec.seed + 1);
  return {
    method: 'GET',
    setupRequest: (request) => {
      const target = random() * total;
      let low = 0;
      let high = spec.itemCount - 1;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if ((cumulative[middle] as number) < target) low = middle + 1;
        else high = middle;
      }
      return { ...request, path: `/v1/items/${skuOf(low)}/stock` };
    },
  };
}

/** Reads and reservations side by side; the parent counts its store reads between the window's open and close. */
async function measureReads(spec: ReadLoadSpec): Promise<ReadLoadResult> {
  const { port, durationMs, warmupMs } = spec;
  const read = zipfStockReads(spec);
  const reserve = reservations(spec.seed);
  const sideBySide = (ms: number) =>
    Promise.all([
      fire({ port, connections: spec.readConnections, durationMs: ms }, read),
      fire({ port, connections: spec.reserveConnections, durationMs: ms }, reserve),
    ]);
  await sideBySide(warmupMs);
  await cpuWindow(true);
  const [reads, reserved] = await sideBySide(durationMs);
  await cpuWindow(false);
  return {
    reads: routeResult('GET /v1/items/:sku/stock (Zipf)', spec.readConnections, [reads]),
    reservations: routeResult('POST /v1/reservations (beside reads)', spec.reserveConnections, [reserved]),
  };
}

process.once('message', (spec: LoadSpec | ReadLoadSpec) => {
  ('kind' in spec ? measureReads(spec) : measure(spec)).then(
    (result) => send({ kind: 'result', result }, () => process.disconnect()),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
      process.disconnect();
    },
  );
});
