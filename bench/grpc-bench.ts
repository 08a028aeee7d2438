import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import autocannon from 'autocannon';
import { openStore } from '../src/compose/runtime.js';
import { loadConfig } from '../src/config.js';
import { InventoryService } from '../src/grpc/gen/skuld/inventory/v1/inventory_service_pb.js';
import { silentLog } from '../src/log.js';
import { verify } from '../src/verify/verify.js';
import { postgresUrlDefault, withBenchDatabase } from './databases.js';
import { prepareW1 } from './http-bench.js';
import { forkLoadChild, serveLoadChild } from './load-child.js';
import { flagsOf } from './options.js';
import { orderLines, seededRandom, w1 } from './workload.js';

// `npm run bench -- --grpc`: W1 reservations through the HTTP route, through gRPC unary calls and
// through the ExecuteCommands stream, on one inventory instance and on three (processes of
// `skuld serve` on one PostgreSQL database), and end-to-end orders (place, then pay) through the
// order service beside them. Every path keeps the same number of requests in flight. The load
// generator is a child process; the paths take turns, a share of their time per round, so a
// drifting machine weighs on all alike. Each topology gets a fresh database and is verified.

type PathName = 'HTTP' | 'gRPC unary' | 'gRPC stream' | 'orders (place + pay)';

interface Target {
  readonly http: readonly string[];
  readonly grpc: readonly string[];
  readonly orders: string;
  readonly key: string;
}

interface ChildSpec {
  readonly target: Target;
  readonly inFlight: number;
  readonly streams: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
}

export interface PathResult {
  readonly name: PathName;
  /** Reservations, or orders placed and paid. */
  readonly operations: number;
  readonly perSecond: number;
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
  readonly failures: number;
}

/** Latencies in ms: a bounded, uniform sample of them. */
class Samples {
  private readonly values: number[] = [];
  private seen = 0;

  add(ms: number): void {
    this.seen += 1;
    if (this.values.length < 100_000) this.values.push(ms);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < this.values.length) this.values[slot] = ms;
    }
  }

  percentile(p: number): number {
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted.length === 0
      ? 0
      : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
  }
}

interface Turn {
  operations: number;
  failures: number;
  seconds: number;
}

let sequence = 0;
const nextId = (prefix: string) => `${prefix}${process.pid}-${++sequence}`;
const grpcLines = (random: () => number) =>
  orderLines(w1, random).map((line) => ({ ...line, quantity: BigInt(line.quantity) }));

/** `count` concurrent loops of `once` until the deadline; `once` answers whether it succeeded. */
async function loops(count: number, deadline: number, once: () => Promise<boolean>, samples: Samples): Promise<Turn> {
  const turn: Turn = { operations: 0, failures: 0, seconds: 0 };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, async () => {
      while (Date.now() < deadline) {
        const at = performance.now();
        const ok = await once().catch(() => false);
        samples.add(performance.now() - at);
        if (ok) turn.operations += 1;
        else turn.failures += 1;
      }
    }),
  );
  turn.seconds = (performance.now() - started) / 1000;
  return turn;
}

/** POST /v1/reservations with autocannon, the connections spread over the instances. */
async function httpTurn(spec: ChildSpec, durationMs: number, random: () => number, samples: Samples): Promise<Turn> {
  const perInstance = Math.max(1, Math.floor(spec.inFlight / spec.target.http.length));
  const results = await Promise.all(
    spec.target.http.map(
      (url) =>
        new Promise<autocannon.Result>((resolve, reject) => {
          const request: autocannon.Request = {
            method: 'POST',
            path: '/v1/reservations',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${spec.target.key}` },
            setupRequest: (base) => ({
              ...base,
              body: JSON.stringify({ id: nextId('h'), lines: orderLines(w1, random) }),
            }),
          };
          const options = { url, connections: perInstance, duration: durationMs / 1000, requests: [request] };
          autocannon(options, (error, result) => (error === null ? resolve(result) : reject(error)));
        }),
    ),
  );
  // autocannon reports percentiles per run, not its latencies: the runs' p50s and p99s stand for them.
  for (const result of results) {
    samples.add(result.latency.p50);
    samples.add(result.latency.p99);
  }
  return {
    operations: results.reduce((sum, result) => sum + result.requests.total - result.non2xx, 0),
    failures: results.reduce((sum, result) => sum + result.non2xx + result.errors, 0),
    seconds: Math.max(...results.map((result) => result.duration)),
  };
}

/**
 * HTTP/2 connections per instance: a peer lets 100 streams run at once on one connection (Node's
 * default), so 256 calls in flight on one would queue behind that bound; like a client's channel
 * pool, the calls spread over several.
 */
const connectionsPerInstance = 4;
const clients = new Map<string, Client<typeof InventoryService>[]>();
let turnOfClient = 0;
function clientOf(url: string): Client<typeof InventoryService> {
  let pool = clients.get(url);
  if (pool === undefined) {
    pool = Array.from({ length: connectionsPerInstance }, () =>
      createClient(InventoryService, createGrpcTransport({ baseUrl: url })),
    );
    clients.set(url, pool);
  }
  return pool[turnOfClient++ % pool.length] as Client<typeof InventoryService>;
}

/** ReserveStock calls, round-robin over the instances. */
function unaryTurn(spec: ChildSpec, durationMs: number, random: () => number, samples: Samples): Promise<Turn> {
  const headers = { authorization: `Bearer ${spec.target.key}` };
  let next = 0;
  const once = async () => {
    const client = clientOf(spec.target.grpc[next++ % spec.target.grpc.length] as string);
    await client.reserveStock({ id: nextId('u'), lines: grpcLines(random) }, { headers });
    return true;
  };
  return loops(spec.inFlight, Date.now() + durationMs, once, samples);
}

/** `streams` ExecuteCommands streams over the instances, each with inFlight ÷ streams commands unanswered at most. */
async function streamTurn(spec: ChildSpec, durationMs: number, random: () => number, samples: Samples): Promise<Turn> {
  const deadline = Date.now() + durationMs;
  const window = Math.max(1, Math.floor(spec.inFlight / spec.streams));
  const turn: Turn = { operations: 0, failures: 0, seconds: 0 };
  const started = performance.now();
  const headers = { authorization: `Bearer ${spec.target.key}` };
  await Promise.all(
    Array.from({ length: spec.streams }, async (_, index) => {
      const client = clientOf(spec.target.grpc[index % spec.target.grpc.length] as string);
      const sentAt: number[] = [];
      let unanswered = 0;
      let wake: (() => void) | undefined;
      async function* commands() {
        while (Date.now() < deadline) {
          if (unanswered >= window) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            continue;
          }
          unanswered += 1;
          sentAt.push(performance.now());
          yield { command: { case: 'reserveStock' as const, value: { id: nextId('s'), lines: grpcLines(random) } } };
        }
      }
      for await (const answer of client.executeCommands(commands(), { headers })) {
        samples.add(performance.now() - (sentAt[Number(answer.sequence)] ?? performance.now()));
        if (answer.result.case === 'ok') turn.operations += 1;
        else turn.failures += 1;
        unanswered -= 1;
        wake?.();
        wake = undefined;
      }
    }),
  );
  turn.seconds = (performance.now() - started) / 1000;
  return turn;
}

/** Orders through the order service: placed (a W1 order's lines), then paid. */
function ordersTurn(spec: ChildSpec, durationMs: number, random: () => number, samples: Samples): Promise<Turn> {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${spec.target.orders}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await response.json()) as { status?: string };
  };
  const once = async () => {
    const id = nextId('o');
    const placed = await post('/v1/orders', { id, customer: 'bench', lines: orderLines(w1, random) });
    if (placed.status !== 'awaiting_payment') return false;
    return (await post(`/v1/orders/${id}/pay`, {})).status === 'paid';
  };
  return loops(spec.inFlight, Date.now() + durationMs, once, samples);
}

const paths: Readonly<Record<PathName, typeof httpTurn>> = {
  HTTP: httpTurn,
  'gRPC unary': unaryTurn,
  'gRPC stream': streamTurn,
  'orders (place + pay)': ordersTurn,
};

async function runChild(spec: ChildSpec): Promise<PathResult[]> {
  const random = seededRandom(7);
  const names = Object.keys(paths) as PathName[];
  for (const name of names) await paths[name](spec, spec.warmupMs, random, new Samples());
  const totals = new Map(names.map((name) => [name, { turns: [] as Turn[], samples: new Samples() }]));
  for (let round = 0; round < spec.rounds; round += 1) {
    for (const name of names) {
      const total = totals.get(name) as { turns: Turn[]; samples: Samples };
      total.turns.push(await paths[name](spec, spec.durationMs / spec.rounds, random, total.samples));
    }
  }
  return names.map((name) => {
    const { turns, samples } = totals.get(name) as { turns: Turn[]; samples: Samples };
    const operations = turns.reduce((sum, turn) => sum + turn.operations, 0);
    return {
      name,
      operations,
      perSecond: operations / turns.reduce((sum, turn) => sum + turn.seconds, 0),
      latencyMsP50: samples.percentile(50),
      latencyMsP99: samples.percentile(99),
      failures: turns.reduce((sum, turn) => sum + turn.failures, 0),
    };
  });
}

serveLoadChild('--grpc-load-child', runChild);

function runLoad(spec: ChildSpec): Promise<PathResult[]> {
  return forkLoadChild(fileURLToPath(import.meta.url), '--grpc-load-child', spec, [
    '--max-semi-space-size=32',
    '--import',
    'tsx',
  ]);
}

/** A `skuld` process from the sources; resolves with what its banner printed. */
async function startSkuld(
  command: string,
  env: NodeJS.ProcessEnv,
  patterns: Readonly<Record<string, RegExp>>,
): Promise<{ child: ChildProcess; found: Record<string, string> }> {
  const args = ['--max-semi-space-size=32', '--import', 'tsx', 'src/cli/main.ts', command];
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const found = await new Promise<Record<string, string>>((resolve, reject) => {
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      const matches = Object.entries(patterns).map(([name, pattern]) => [name, pattern.exec(output)?.[1]] as const);
      if (matches.every(([, value]) => value !== undefined))
        resolve(Object.fromEntries(matches) as Record<string, string>);
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => reject(new Error(`skuld ${command} exited with ${code}:\n${output}`)));
  });
  // Once it serves, what it says later (a warning, a crash) goes to the bench's stderr.
  child.stdout?.on('data', (chunk: Buffer) => process.stderr.write(`[${command}] ${chunk}`));
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${command}] ${chunk}`));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') process.stderr.write(`skuld ${command} exited with ${code ?? signal}\n`);
  });
  return { child, found };
}

async function stopAll(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
}

export interface GrpcBenchSpec {
  readonly postgresUrl: string;
  readonly inFlight: number;
  readonly streams: number;
  readonly durationMs: number;
  readonly warmupMs: number;
}

export interface TopologyResult {
  readonly instances: number;
  readonly paths: readonly PathResult[];
  readonly verifyOk: boolean;
}

async function runTopology(spec: GrpcBenchSpec, instances: number): Promise<TopologyResult> {
  return withBenchDatabase('postgres', { postgres: spec.postgresUrl, mysql: '' }, async (database) => {
    const dir = mkdtempSync(join(tmpdir(), 'skuld-grpc-bench-'));
    const env = {
      ...process.env,
      ...database.env,
      SKULD_SEED: 'off',
      SKULD_LOG_LEVEL: 'warn',
      SKULD_PORT: '0',
      SKULD_GRPC_PORT: '0',
      SKULD_PROJECTOR: 'off',
      SKULD_RELAY: 'none',
      // The bench measures the paths, not the limiter refusing their load.
      SKULD_RATE_LIMIT_PER_SECOND: '10000000',
      SKULD_RATE_LIMIT_BURST: '10000000',
      SKULD_ORDERS_PORT: '0',
      SKULD_ORDERS_DATABASE_URL: `sqlite:${join(dir, 'orders.db')}`,
    };
    const config = loadConfig(env);
    await prepareW1(config);
    const children: ChildProcess[] = [];
    try {
      const http: string[] = [];
      const grpc: string[] = [];
      let key = '';
      for (let index = 0; index < instances; index += 1) {
        const { child, found } = await startSkuld('serve', env, {
          http: /serving on (https?:\/\/\S+)/,
          grpc: /gRPC: +(https?:\/\/\S+)/,
          // The first start prints the admin key it made: the bench's credential on every path.
          ...(index === 0 ? { key: /^\s+(skuld_[0-9a-f]{16}_\S+)$/m } : {}),
        });
        children.push(child);
        http.push(found.http as string);
        grpc.push(found.grpc as string);
        if (index === 0) key = found.key as string;
      }
      const { child: orders, found } = await startSkuld(
        'orders',
        { ...env, SKULD_INVENTORY_GRPC_URLS: grpc.join(','), SKULD_INVENTORY_KEY: key },
        { orders: /order service on (https?:\/\/\S+)/ },
      );
      children.push(orders);
      const results = await runLoad({
        target: { http, grpc, orders: found.orders as string, key },
        inFlight: spec.inFlight,
        streams: spec.streams,
        durationMs: spec.durationMs,
        warmupMs: spec.warmupMs,
        rounds: 4,
      });
      await stopAll(children.splice(0));
      const store = openStore(config, silentLog);
      try {
        return { instances, paths: results, verifyOk: (await verify(store)).ok };
      } finally {
        await store.close();
      }
    } finally {
      await stopAll(children);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

export function grpcReport(results: readonly TopologyResult[]): string {
  const lines = [
    '| instances | path | per second | of HTTP | p50 ms | p99 ms | failed |',
    '|---|---|--:|--:|--:|--:|--:|',
  ];
  for (const topology of results) {
    const http = topology.paths.find((path) => path.name === 'HTTP')?.perSecond ?? 0;
    for (const path of topology.paths) {
      const share = http === 0 ? '-' : `${((path.perSecond / http) * 100).toFixed(0)}%`;
      const rate = Math.round(path.perSecond).toLocaleString('en-US');
      lines.push(
        `| ${topology.instances} | ${path.name} | ${rate} | ${share} | ${path.latencyMsP50.toFixed(1)} | ${path.latencyMsP99.toFixed(1)} | ${path.failures} |`,
      );
    }
  }
  for (const topology of results)
    lines.push('', `${topology.instances} instance(s): verify ${topology.verifyOk ? 'OK' : 'MISMATCH'}`);
  return lines.join('\n');
}

/** `npm run bench -- --grpc [--in-flight N] [--streams N] [--duration-ms N] [--warmup-ms N] [--instances 1,3] [--quick]`. */
export async function grpcBenchCli(argv: readonly string[]): Promise<number> {
  const { value, number } = flagsOf(argv);
  const quick = argv.includes('--quick');
  const spec: GrpcBenchSpec = {
    postgresUrl: value('--postgres-url') ?? postgresUrlDefault,
    inFlight: number('--in-flight', 256),
    streams: number('--streams', 4),
    durationMs: number('--duration-ms', quick ? 4000 : 20_000),
    warmupMs: number('--warmup-ms', quick ? 500 : 2000),
  };
  const counts = (value('--instances') ?? '1,3').split(',').map(Number);
  const results: TopologyResult[] = [];
  for (const instances of counts) results.push(await runTopology(spec, instances));
  console.log(
    `W1 reservations on PostgreSQL, ${spec.inFlight} in flight on every path (${spec.streams} streams), ${spec.durationMs} ms per path in turns\n`,
  );
  console.log(grpcReport(results));
  const problems = results.filter((topology) => !topology.verifyOk).map((t) => `${t.instances} instance(s): verify`);
  for (const problem of problems) console.error(`problem: ${problem}`);
  return problems.length === 0 ? 0 : 1;
}
