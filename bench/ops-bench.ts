import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import { createRuntime } from '../src/compose/runtime.js';
import { loadConfig } from '../src/config.js';
import { verify } from '../src/verify/verify.js';
import { mysqlUrlDefault, postgresUrlDefault, type StoreKind, withBenchDatabase } from './databases.js';
import { prepareW1 } from './http-bench.js';
import { forkLoadChild, serveLoadChild } from './load-child.js';
import { percentile } from './measure.js';
import { flagsOf } from './options.js';
import { orderLines, seededRandom, w1 } from './workload.js';

// `npm run bench -- --ops`: what watching the service costs it. W1 reservations over HTTP on
// `skuld serve`'s composition (the engine on its thread, the heartbeat and the store-read gauges
// sampled as in production), in turns: bare, and observed, that is with a Prometheus scrape of
// /metrics every second and the dashboard's overview open (its poll of /metrics every 2 s and of
// /v1/instances every 4 s, and of the ledger's head, /v1/projections, every 2 s). The turns
// alternate in pairs (bare-observed, then observed-bare), so a
// drifting machine weighs on both alike. The scrapes are timed from the load generator's side:
// a scrape that waited for the store or for the engine thread shows in its latency; a scrape that
// stalled the serving thread shows in that thread's event-loop delay, sampled per turn.

/** How often the Prometheus scraper and the dashboard's overview ask for /metrics (web/src/pages/overview.tsx). */
const scrapeIntervalMs = 1_000;
const dashboardPollMs = 2_000;
/** The dashboard's overview asks for the instances every 4 s, and for the ledger's head every 2 s. */
const instancesPollMs = 4_000;
const headPollMs = 2_000;

interface ChildSpec {
  readonly port: number;
  readonly connections: number;
  /** Per variant, over all its turns. */
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
}

interface Turn {
  readonly requests: number;
  readonly seconds: number;
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
  readonly non2xx: number;
}

export interface OpsVariantResult extends Turn {
  readonly name: 'bare' | 'observed';
  readonly requestsPerSecond: number;
  /** The server's event-loop delay in its turns: the mean of each 0.5 s sample's p99, and the largest delay. */
  readonly loopDelayMsP99?: number;
  readonly loopDelayMsMax?: number;
}

export interface OpsObservers {
  /** Every /metrics request's time, the scraper's and the dashboard's, in ms. */
  readonly scrapes: number;
  readonly scrapeMsP50: number;
  readonly scrapeMsP99: number;
  readonly scrapeMsMax: number;
  readonly scrapeFailures: number;
  /** Why the observers' requests failed, each reason once. */
  readonly failureReasons: readonly string[];
  /** The dashboard's polls of /v1/instances, and those not answered 200. */
  readonly instancesPolls: number;
  readonly instancesFailures: number;
  /** The overview's polls of the ledger's head (/v1/projections), and those not answered 200. */
  readonly headPolls: number;
  readonly headFailures: number;
}

export interface OpsBenchResult {
  readonly store: StoreKind;
  readonly connections: number;
  readonly durationMs: number;
  readonly rounds: number;
  readonly variants: readonly OpsVariantResult[];
  readonly observers: OpsObservers;
  readonly verifyOk: boolean;
}

function fire(port: number, connections: number, durationMs: number, seed: number): Promise<autocannon.Result> {
  const random = seededRandom(seed);
  let sent = 0;
  const request: autocannon.Request = {
    method: 'POST',
    path: '/v1/reservations',
    headers: { 'content-type': 'application/json' },
    setupRequest: (base) => {
      sent += 1;
      return { ...base, body: JSON.stringify({ id: `o${seed}-${sent}`, lines: orderLines(w1, random) }) };
    },
  };
  return new Promise((resolve, reject) => {
    autocannon(
      { url: `http://127.0.0.1:${port}`, connections, duration: durationMs / 1000, requests: [request] },
      (error, result) => (error === null ? resolve(result) : reject(error)),
    );
  });
}

/** What the observers saw during one observed turn. */
interface Watch {
  readonly scrapeMs: number[];
  scrapeFailures: number;
  instancesPolls: number;
  instancesFailures: number;
  headPolls: number;
  headFailures: number;
}

/** GETs `path`, read whole: its time in ms, or undefined when it failed (or the turn ended). */
async function timedGet(port: number, path: string, signal: AbortSignal): Promise<number | undefined> {
  const startedAt = performance.now();
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal });
    await response.text();
    if (response.status === 200) return performance.now() - startedAt;
    failureReasons.add(`${path}: status ${response.status}`);
  } catch (error) {
    if (!signal.aborted) failureReasons.add(`${path}: ${(error as Error).cause ?? (error as Error).message}`);
  }
  return undefined;
}

/** Why requests of the observers failed (distinct reasons), for the report. */
const failureReasons = new Set<string>();

/**
 * GETs `path` every `intervalMs` until `signal` aborts, each answer read whole and told to
 * `answered` (its time in ms, or undefined when it failed); a request the end of the turn aborted
 * is told nothing.
 */
async function pollEvery(
  port: number,
  path: string,
  intervalMs: number,
  signal: AbortSignal,
  answered: (ms: number | undefined) => void,
): Promise<void> {
  while (!signal.aborted) {
    const startedAt = performance.now();
    const ms = await timedGet(port, path, signal);
    if (signal.aborted) return;
    answered(ms);
    await pause(Math.max(0, intervalMs - (performance.now() - startedAt)), signal);
  }
}

/** Waits `ms`, or until `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

async function observedTurn(spec: ChildSpec, turnMs: number, seed: number, watch: Watch): Promise<autocannon.Result> {
  const stop = new AbortController();
  const scraped = (ms: number | undefined) => {
    if (ms === undefined) watch.scrapeFailures += 1;
    else watch.scrapeMs.push(ms);
  };
  const observers = [
    pollEvery(spec.port, '/metrics', scrapeIntervalMs, stop.signal, scraped),
    pollEvery(spec.port, '/metrics', dashboardPollMs, stop.signal, scraped),
    pollEvery(spec.port, '/v1/instances', instancesPollMs, stop.signal, (ms) => {
      watch.instancesPolls += 1;
      if (ms === undefined) watch.instancesFailures += 1;
    }),
    pollEvery(spec.port, '/v1/projections', headPollMs, stop.signal, (ms) => {
      watch.headPolls += 1;
      if (ms === undefined) watch.headFailures += 1;
    }),
  ];
  try {
    return await fire(spec.port, spec.connections, turnMs, seed);
  } finally {
    stop.abort();
    await Promise.all(observers);
  }
}

function summarize(name: OpsVariantResult['name'], turns: readonly autocannon.Result[]): OpsVariantResult {
  const requests = turns.reduce((sum, turn) => sum + turn.requests.total, 0);
  const seconds = turns.reduce((sum, turn) => sum + turn.duration, 0);
  return {
    name,
    requests,
    seconds,
    requestsPerSecond: requests / seconds,
    latencyMsP50: Math.max(...turns.map((turn) => turn.latency.p50)),
    latencyMsP99: Math.max(...turns.map((turn) => turn.latency.p99)),
    non2xx: turns.reduce((sum, turn) => sum + turn.non2xx, 0),
  };
}

/** The child: a warm-up, then bare and observed turns in alternating pairs. */
/** When each turn ran (epoch ms), for the server's event-loop samples of the same windows. */
interface TurnWindow {
  readonly variant: OpsVariantResult['name'];
  readonly startedAt: number;
  readonly endedAt: number;
}

interface ChildResult {
  readonly variants: OpsVariantResult[];
  readonly observers: OpsObservers;
  readonly windows: TurnWindow[];
}

async function runChild(spec: ChildSpec): Promise<ChildResult> {
  let seed = 1;
  await fire(spec.port, spec.connections, spec.warmupMs, seed++);
  const turnMs = spec.durationMs / spec.rounds;
  const bare: autocannon.Result[] = [];
  const observed: autocannon.Result[] = [];
  const watch: Watch = {
    scrapeMs: [],
    scrapeFailures: 0,
    instancesPolls: 0,
    instancesFailures: 0,
    headPolls: 0,
    headFailures: 0,
  };
  const windows: TurnWindow[] = [];
  for (let round = 0; round < spec.rounds; round += 1) {
    const pair = round % 2 === 0 ? (['bare', 'observed'] as const) : (['observed', 'bare'] as const);
    for (const variant of pair) {
      const startedAt = Date.now();
      if (variant === 'bare') bare.push(await fire(spec.port, spec.connections, turnMs, seed++));
      else observed.push(await observedTurn(spec, turnMs, seed++, watch));
      windows.push({ variant, startedAt, endedAt: Date.now() });
    }
  }
  const sorted = Float64Array.from(watch.scrapeMs).sort();
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    variants: [summarize('bare', bare), summarize('observed', observed)],
    observers: {
      scrapes: sorted.length,
      scrapeMsP50: sorted.length === 0 ? 0 : round(percentile(sorted, 0.5)),
      scrapeMsP99: sorted.length === 0 ? 0 : round(percentile(sorted, 0.99)),
      scrapeMsMax: sorted.length === 0 ? 0 : round(sorted[sorted.length - 1] as number),
      scrapeFailures: watch.scrapeFailures,
      failureReasons: [...failureReasons],
      instancesPolls: watch.instancesPolls,
      instancesFailures: watch.instancesFailures,
      headPolls: watch.headPolls,
      headFailures: watch.headFailures,
    },
    windows,
  };
}

serveLoadChild('--ops-load-child', runChild);

/** How often the server's event-loop delay is read (and its histogram started anew). */
const loopSampleMs = 500;

/**
 * The server's event-loop delay (the thread that serves HTTP and /metrics), read every
 * loopSampleMs: a stall of the loop, by a scrape or anything else, shows as a delay in the
 * windows of the turns it happened in.
 */
function sampleEventLoop() {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  const samples: { at: number; p99Ms: number; maxMs: number }[] = [];
  const timer = setInterval(() => {
    samples.push({ at: Date.now(), p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6 });
    histogram.reset();
  }, loopSampleMs);
  return {
    stop: () => {
      clearInterval(timer);
      histogram.disable();
    },
    /** The delay over the samples taken inside the variant's turns: the mean of their p99s, and the largest. */
    delayIn(windows: readonly TurnWindow[], variant: OpsVariantResult['name']) {
      const inside = samples.filter((sample) =>
        windows.some((w) => w.variant === variant && sample.at - loopSampleMs >= w.startedAt && sample.at <= w.endedAt),
      );
      const round = (ms: number) => Math.round(ms * 10) / 10;
      const meanP99 = inside.reduce((sum, s) => sum + s.p99Ms, 0) / Math.max(1, inside.length);
      return { loopDelayMsP99: round(meanP99), loopDelayMsMax: round(Math.max(0, ...inside.map((s) => s.maxMs))) };
    },
  };
}

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

export interface OpsBenchSpec {
  readonly store: StoreKind;
  readonly connections: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
  readonly urls: { readonly postgres: string; readonly mysql: string };
}

export async function runOpsBench(spec: OpsBenchSpec): Promise<OpsBenchResult> {
  const { buildApp } = await import('../src/api/app.js');
  return withBenchDatabase(spec.store, spec.urls, async (database) => {
    const config = loadConfig({ ...process.env, ...database.env, SKULD_SEED: 'off', SKULD_LOG_LEVEL: 'silent' });
    await prepareW1(config);
    const runtime = await createRuntime(config);
    try {
      // Authentication is not what is measured (the auth bench is): every request is let through.
      const app = await buildApp({ runtime, logger: false, withoutAuthenticationForBenchmark: true });
      try {
        const port = await listen(app);
        // As `skuld serve` runs them: the sweeper, the relays (the in-process one feeds the live
        // tail), the heartbeat and the sampled gauges.
        runtime.sweeper.start();
        runtime.relays.start();
        runtime.ops.start({ httpUrl: `http://127.0.0.1:${port}`, grpcUrl: null });
        const { connections, durationMs, warmupMs, rounds } = spec;
        const loop = sampleEventLoop();
        const { windows, ...load } = await forkLoadChild<ChildSpec, ChildResult>(
          fileURLToPath(import.meta.url),
          '--ops-load-child',
          { port, connections, durationMs, warmupMs, rounds },
          ['--import', 'tsx'],
        ).finally(() => loop.stop());
        await runtime.engine.drain();
        const report = await verify(runtime.store);
        const variants = load.variants.map((variant) => ({ ...variant, ...loop.delayIn(windows, variant.name) }));
        return { store: spec.store, connections, durationMs, rounds, ...load, variants, verifyOk: report.ok };
      } finally {
        await app.close();
      }
    } finally {
      await runtime.close();
    }
  });
}

export function opsReport(result: OpsBenchResult): string {
  const bare = result.variants.find((variant) => variant.name === 'bare')?.requestsPerSecond ?? 0;
  const rows = result.variants.map((variant) => {
    const share = bare === 0 ? '-' : `${((variant.requestsPerSecond / bare) * 100).toFixed(1)}%`;
    const rate = Math.round(variant.requestsPerSecond).toLocaleString('en-US');
    const loop = `${variant.loopDelayMsP99 ?? '-'} | ${variant.loopDelayMsMax ?? '-'}`;
    return `| ${variant.name} | ${rate} | ${share} | ${variant.latencyMsP50} | ${variant.latencyMsP99} | ${variant.non2xx} | ${loop} |`;
  });
  const { observers: o } = result;
  return [
    `POST /v1/reservations (W1 orders, ${result.store}), ${result.connections} connections, ` +
      `${result.durationMs} ms per variant in ${result.rounds} alternating turns; observed: /metrics every ` +
      `${scrapeIntervalMs} ms, and the dashboard's overview (/metrics every ${dashboardPollMs} ms, /v1/instances every ` +
      `${instancesPollMs} ms, the ledger's head every ${headPollMs} ms)`,
    '',
    '| variant | reservations/s | of bare | p50 ms | p99 ms | non-2xx | loop delay p99 ms | loop delay max ms |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    "loop delay: the event loop of the thread serving HTTP and /metrics, in the turns of the variant (the mean of 0.5 s samples' p99, and the largest)",
    `GET /metrics under that load: ${o.scrapes} scrapes, p50 ${o.scrapeMsP50} ms, p99 ${o.scrapeMsP99} ms, ` +
      `max ${o.scrapeMsMax} ms, ${o.scrapeFailures} failed`,
    `GET /v1/instances (the dashboard's poll): ${o.instancesPolls} requests, ${o.instancesFailures} not answered 200`,
    `GET /v1/projections (the overview's ledger head): ${o.headPolls} requests, ${o.headFailures} not answered 200`,
    `verify: ${result.verifyOk ? 'OK' : 'MISMATCH'}`,
  ].join('\n');
}

/**
 * `npm run bench -- --ops [--store sqlite|postgres|mysql] [--connections N] [--duration-ms N]
 * [--warmup-ms N] [--rounds N] [--quick] [--postgres-url URL] [--mysql-url URL]`.
 */
export async function opsBenchCli(argv: readonly string[]): Promise<number> {
  const { value, number } = flagsOf(argv);
  const store = (value('--store') ?? 'sqlite') as StoreKind;
  if (!['sqlite', 'postgres', 'mysql'].includes(store)) throw new Error('--store: sqlite, postgres or mysql');
  const quick = argv.includes('--quick');
  const rounds = number('--rounds', quick ? 2 : 6);
  if (rounds % 2 !== 0) throw new Error('--rounds: an even number (the turns alternate in pairs)');
  const result = await runOpsBench({
    store,
    connections: number('--connections', 256),
    durationMs: number('--duration-ms', quick ? 4000 : 30_000),
    warmupMs: number('--warmup-ms', quick ? 1000 : 3000),
    rounds,
    urls: { postgres: value('--postgres-url') ?? postgresUrlDefault, mysql: value('--mysql-url') ?? mysqlUrlDefault },
  });
  console.log(opsReport(result));
  const problems = result.variants.filter((variant) => variant.non2xx > 0).map((v) => `${v.name}: non-2xx answers`);
  if (result.observers.scrapeFailures > 0) {
    problems.push(`${result.observers.scrapeFailures} scrapes failed (${result.observers.failureReasons.join('; ')})`);
  }
  if (result.observers.headFailures > 0) {
    problems.push(`${result.observers.headFailures} polls of /v1/projections failed`);
  }
  if (result.observers.instancesFailures > 0) {
    problems.push(`${result.observers.instancesFailures} polls of /v1/instances failed`);
  }
  if (!result.verifyOk) problems.push('verify found mismatches');
  for (const problem of problems) console.error(`problem: ${problem}`);
  return problems.length === 0 ? 0 : 1;
}
