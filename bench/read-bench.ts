import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { metricValue } from '../src/cache/cache-metrics.js';
import { createRuntime } from '../src/compose/runtime.js';
import { loadConfig } from '../src/config.js';
import { type ServerUrls, type StoreKind, withBenchDatabase } from './databases.js';
import { forkLoad, loadSlackMs, prepareW1 } from './http-bench.js';
import type { ReadLoadResult, ReadLoadSpec, RouteResult } from './http-load.js';
import { w1 } from './workload.js';

// The read bench (--reads): stock reads of W1's items over HTTP, Zipf-skewed, at full load beside
// the W1 reservation load, once per read path: no cache, L1, L1 + L2, and L1 + L2 with Redis
// down (a URL nothing listens on, so the breaker stays open). Each setup gets a fresh database.

export type ReadSetup = 'no cache' | 'L1' | 'L1+L2' | 'L1+L2, Redis down';

/** A loopback port nothing listens on: Redis "down" from the start, connections refused. */
const deadRedisUrl = 'redis://127.0.0.1:9';

const setups: readonly { readonly name: ReadSetup; readonly env: Readonly<Record<string, string>> }[] = [
  { name: 'no cache', env: { SKULD_CACHE: 'off' } },
  { name: 'L1', env: { SKULD_CACHE: 'local' } },
  { name: 'L1+L2', env: { SKULD_CACHE: 'redis' } },
  { name: 'L1+L2, Redis down', env: { SKULD_CACHE: 'redis', SKULD_REDIS_URL: deadRedisUrl } },
];

/** The skew of the reads: item k is read in proportion to 1 / (k + 1). */
const zipfExponent = 1;

export interface ReadBenchSpec {
  readonly store: StoreKind;
  readonly readConnections: number;
  readonly reserveConnections: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly seed: number;
  readonly urls: ServerUrls;
}

export interface ReadCell extends ReadLoadResult {
  readonly setup: ReadSetup;
  /** Share of the reads that reached each layer and were answered there; undefined without it. */
  readonly l1HitRatio: number | undefined;
  readonly l2HitRatio: number | undefined;
  /** Loads of a stock read from the store per second (without a cache: one per read). */
  readonly storeReadsPerSecond: number;
  /** Most store reads of the cache in flight at once, and the limit; undefined without a cache. */
  readonly storeReadsInFlightPeak: number | undefined;
  readonly storeConcurrencyMax: number;
}

export async function runReadBench(spec: ReadBenchSpec): Promise<ReadCell[]> {
  const cells: ReadCell[] = [];
  for (const setup of setups) {
    cells.push(await runSetup(spec, setup));
    const last = cells.at(-1) as ReadCell;
    console.error(
      `reads ${setup.name}: ${Math.round(last.reads.requestsPerSecond)} reads/s, ` +
        `${Math.round(last.reservations.requestsPerSecond)} reservations/s, ` +
        `${Math.round(last.storeReadsPerSecond)} store reads/s`,
    );
  }
  return cells;
}

async function runSetup(spec: ReadBenchSpec, setup: (typeof setups)[number]): Promise<ReadCell> {
  const { buildApp } = await import('../src/api/app.js');
  return withBenchDatabase(spec.store, spec.urls, async (database) => {
    const config = loadConfig({ ...process.env, ...database.env, SKULD_SEED: 'off', ...setup.env });
    await prepareW1(config);
    const runtime = await createRuntime(config);
    const app = await buildApp({ runtime, logger: false, withoutAuthenticationForBenchmark: true });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const load: ReadLoadSpec = {
        kind: 'reads',
        port: (app.server.address() as AddressInfo).port,
        itemCount: w1.itemCount,
        zipfExponent,
        readConnections: spec.readConnections,
        reserveConnections: spec.reserveConnections,
        durationMs: spec.durationMs,
        warmupMs: spec.warmupMs,
        seed: spec.seed,
      };
      const counters: Counters[] = [];
      const result = await forkLoad<ReadLoadResult>(load, spec.durationMs + spec.warmupMs + loadSlackMs, async () => {
        counters.push(await countersOf(runtime.metrics));
        return undefined;
      });
      await runtime.engine.drain();
      return cell(setup.name, result, counters, config.cache === 'off', config.cacheStoreConcurrencyMax);
    } finally {
      await app.close();
      await runtime.close();
    }
  });
}

interface Counters {
  readonly l1Hits: number;
  readonly l1Misses: number;
  readonly l2Hits: number;
  readonly l2Misses: number;
  readonly storeLoads: number;
  readonly inFlightPeak: number;
}

async function countersOf(registry: Registry): Promise<Counters> {
  if (registry.getSingleMetric('skuld_cache_hits_total') === undefined) {
    return { l1Hits: 0, l1Misses: 0, l2Hits: 0, l2Misses: 0, storeLoads: 0, inFlightPeak: 0 };
  }
  const layer = (name: string, value: string) => metricValue(registry, name, { layer: value });
  return {
    l1Hits: await layer('skuld_cache_hits_total', 'l1'),
    l1Misses: await layer('skuld_cache_misses_total', 'l1'),
    l2Hits: await layer('skuld_cache_hits_total', 'l2'),
    l2Misses: await layer('skuld_cache_misses_total', 'l2'),
    storeLoads: await metricValue(registry, 'skuld_cache_store_loads_total'),
    inFlightPeak: await metricValue(registry, 'skuld_cache_store_reads_in_flight_peak'),
  };
}

function cell(
  setup: ReadSetup,
  result: ReadLoadResult,
  counters: readonly Counters[],
  uncached: boolean,
  storeConcurrencyMax: number,
): ReadCell {
  const [before, after] = counters;
  if (before === undefined || after === undefined)
    throw new Error('the load generator did not open and close its window');
  const delta = (key: keyof Counters) => after[key] - before[key];
  const ratio = (hits: number, misses: number) => (hits + misses === 0 ? undefined : hits / (hits + misses));
  const reads: RouteResult = result.reads;
  return {
    ...result,
    setup,
    l1HitRatio: uncached ? undefined : ratio(delta('l1Hits'), delta('l1Misses')),
    l2HitRatio: uncached ? undefined : ratio(delta('l2Hits'), delta('l2Misses')),
    storeReadsPerSecond: uncached ? reads.requestsPerSecond : delta('storeLoads') / Math.max(reads.durationS, 0.001),
    storeReadsInFlightPeak: uncached ? undefined : after.inFlightPeak,
    storeConcurrencyMax,
  };
}
