import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { createRuntime, openStore } from '../src/compose/runtime.js';
import { type Config, loadConfig } from '../src/config.js';
import { silentLog } from '../src/log.js';
import { verify } from '../src/verify/verify.js';
import { type ServerUrls, type StoreKind, withBenchDatabase } from './databases.js';
import { type EngineSummary, summarizeEngine, summarizeVerify, type VerifySummary } from './engine-bench.js';
import { AnswerAtOnce } from './http-ceiling.js';
import type { LoadMessage, LoadResult, LoadSpec, ReadLoadSpec, RouteCpu, WindowAnswer } from './http-load.js';
import { type CpuUse, serverProcessNames, startCpuWindow } from './measure.js';
import { setupWorkload, skuOf, w1 } from './workload.js';

// The HTTP bench: the real app, on loopback, in this process; the load generator in a child
// process. In one run it measures the trivial route and the reservation route with the same
// connection count, so their ratio shows what the HTTP path costs next to the engine.

export interface HttpBenchSpec {
  readonly store: StoreKind;
  readonly connections: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly seed: number;
  readonly urls: ServerUrls;
}

export interface HttpBenchResult extends LoadResult {
  readonly store: StoreKind;
  /** Write path of the app: on an engine thread of its own, or on the HTTP thread. */
  readonly engineThread: 'on' | 'off';
  /** Requests/s of the reservation route over those of GET /healthz. */
  readonly ratio: number;
  /** The same for the route with no engine behind it: the most the ratio could be here. */
  readonly ceilingRatio: number;
  /**
   * CPU time per GET /healthz over that per reservation, both sides of the loopback counted
   * (server, database, load generator): what bounds the ratio once the machine's cores are busy.
   */
  readonly cpuRatio: number | undefined;
  readonly engine: EngineSummary;
  readonly verify: VerifySummary;
}

/**
 * The routes take turns, each for a quarter of its time per round, so that a machine whose speed
 * drifts during the run (a shared virtual machine) weighs on every route alike: run one after the
 * other, the trivial route could catch a fast minute and the reservation route a slow one.
 */
export const httpRounds = 4;

/** Time the load child gets beyond its runs before it is stopped. */
export const loadSlackMs = 30_000;

export async function runHttpBench(spec: HttpBenchSpec): Promise<HttpBenchResult> {
  const { buildApp } = await import('../src/api/app.js');
  return withBenchDatabase(spec.store, spec.urls, async (database) => {
    const config = loadConfig({ ...process.env, ...database.env, SKULD_SEED: 'off' });
    await prepareW1(config);
    const runtime = await createRuntime(config);
    try {
      const app = await buildApp({ runtime, logger: false, withoutAuthenticationForBenchmark: true });
      const ceilingApp = await buildApp({
        runtime: { ...runtime, engine: new AnswerAtOnce(config.reservationTtlMsDefault) },
        logger: false,
        withoutAuthenticationForBenchmark: true,
      });
      try {
        const port = await listen(app);
        const ceilingPort = await listen(ceilingApp);
        const { connections, durationMs, warmupMs, seed } = spec;
        const readPath = `/v1/items/${skuOf(0)}/stock`;
        const load = await runLoad(
          {
            port,
            ceilingPort,
            readPath,
            rounds: httpRounds,
            connections,
            durationMs,
            warmupMs,
            seed,
          },
          serverProcessNames[spec.store],
        );
        await runtime.engine.drain();
        const perHealthz = (route: { requestsPerSecond: number }) =>
          route.requestsPerSecond / Math.max(1, load.healthz.requestsPerSecond);
        return {
          ...load,
          store: spec.store,
          engineThread: config.engineThread,
          ratio: perHealthz(load.reservations),
          ceilingRatio: perHealthz(load.ceiling),
          cpuRatio: cpuRatio(load.healthz.cpuUsPerRequest, load.reservations.cpuUsPerRequest),
          engine: summarizeEngine(runtime.engine.stats),
          verify: summarizeVerify(await verify(runtime.store)),
        };
      } finally {
        await ceilingApp.close();
        await app.close();
      }
    } finally {
      await runtime.close();
    }
  });
}

/**
 * Loads W1 into the store before the service starts, as a deployment's items are there before
 * it: the read cache's bloom filter is built from the store at start.
 */
export async function prepareW1(config: Config): Promise<void> {
  const store = openStore(config, silentLog);
  try {
    await store.migrate();
    await setupWorkload(store, w1);
  } finally {
    await store.close();
  }
}

function cpuRatio(trivial: RouteCpu | undefined, reservation: RouteCpu | undefined): number | undefined {
  if (trivial === undefined || reservation === undefined) return undefined;
  const total = (cpu: RouteCpu) => cpu.server + (cpu.database ?? 0) + cpu.loadGenerator;
  return total(trivial) / total(reservation);
}

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

/** Runs the load child; opens and closes a CPU window of this process when it asks. */
function runLoad(spec: LoadSpec, serverNames: readonly string[]): Promise<LoadResult> {
  let closeWindow: (() => CpuUse) | undefined;
  const limitMs = 4 * spec.durationMs + 3 * spec.warmupMs + loadSlackMs;
  return forkLoad<LoadResult>(spec, limitMs, async (open) => {
    const cpu = open ? undefined : closeWindow?.();
    closeWindow = open ? startCpuWindow(serverNames) : undefined;
    return cpu;
  });
}

/**
 * Forks the load generator with a spec and resolves with its result; `onWindow` runs when the
 * child opens or closes its measured window, and its answer goes back to the child.
 */
export function forkLoad<R>(
  spec: LoadSpec | ReadLoadSpec,
  limitMs: number,
  onWindow: (open: boolean) => Promise<CpuUse | undefined>,
): Promise<R> {
  const child = fork(fileURLToPath(new URL('./http-load.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the load generator did not finish within ${limitMs} ms`));
    }, limitMs);
    child.on('message', (message: LoadMessage) => {
      if (message.kind === 'window') {
        onWindow(message.open).then(
          (cpu) => child.send({ kind: 'window', cpu } satisfies WindowAnswer),
          (error: unknown) => {
            child.kill();
            reject(error);
          },
        );
        return;
      }
      clearTimeout(timer);
      resolve(message.result as R);
    });
    // 'close' comes after every IPC message has been delivered.
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`the load generator exited (code ${code}) without a result`));
    });
    child.once('error', reject);
    child.send(spec);
  });
}
