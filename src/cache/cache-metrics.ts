import { Counter, Gauge, type Registry } from 'prom-client';
import type { BreakerState } from './circuit-breaker.js';

// The cache's counters, in the process's Prometheus registry. Labels are few and fixed (a layer,
// a scope), never a SKU, and each labelled child is bound once here, not looked up per read.

/** A counter, or one labelled child of one. */
export interface Tally {
  inc(value?: number): void;
}

const breakerValue: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

export class CacheMetrics {
  readonly l1Hits: Tally;
  readonly l1Misses: Tally;
  readonly l2Hits: Tally;
  readonly l2Misses: Tally;
  readonly bloomRejections: Tally;
  readonly storeLoads: Tally;
  readonly processJoins: Tally;
  readonly instanceJoins: Tally;
  readonly degradedReads: Tally;
  readonly refusedRefills: Tally;
  readonly redisErrors: Tally;
  readonly invalidationsSent: Tally;
  readonly invalidationsReceived: Tally;
  readonly flushes: Tally;
  readonly breakerOpens: Tally;
  private readonly breaker: Gauge;

  constructor(registry: Registry, inFlight: () => { now: number; peak: number }) {
    const registers = [registry];
    const hits = new Counter({
      name: 'skuld_cache_hits_total',
      help: 'Stock reads answered by a cache layer',
      labelNames: ['layer'],
      registers,
    });
    const misses = new Counter({
      name: 'skuld_cache_misses_total',
      help: 'Stock reads a cache layer did not answer',
      labelNames: ['layer'],
      registers,
    });
    const joins = new Counter({
      name: 'skuld_cache_single_flight_joins_total',
      help: "Reads that waited for another read's load of the same key: in this process, or in another instance (Redis lock)",
      labelNames: ['scope'],
      registers,
    });
    const invalidations = new Counter({
      name: 'skuld_cache_invalidations_total',
      help: 'Committed batches whose touched keys were invalidated: sent to Redis by this instance, or received from another',
      labelNames: ['direction'],
      registers,
    });
    const counter = (name: string, help: string) => new Counter({ name, help, registers });
    this.l1Hits = hits.labels('l1');
    this.l2Hits = hits.labels('l2');
    this.l1Misses = misses.labels('l1');
    this.l2Misses = misses.labels('l2');
    this.processJoins = joins.labels('process');
    this.instanceJoins = joins.labels('instances');
    this.invalidationsSent = invalidations.labels('sent');
    this.invalidationsReceived = invalidations.labels('received');
    this.bloomRejections = counter(
      'skuld_cache_bloom_rejections_total',
      'Reads of a SKU the bloom filter knows is not registered',
    );
    this.storeLoads = counter('skuld_cache_store_loads_total', 'Loads of a cache key from the store');
    this.degradedReads = counter(
      'skuld_cache_degraded_reads_total',
      'Reads served an expired in-process value because the store limit was full',
    );
    this.refusedRefills = counter(
      'skuld_cache_refused_refills_total',
      'Loaded values not cached because a newer write had invalidated their key meanwhile',
    );
    this.redisErrors = counter('skuld_cache_redis_errors_total', 'Failed or timed-out Redis calls of the cache');
    this.flushes = counter(
      'skuld_cache_flushes_total',
      'In-process cache flushes after invalidations may have been lost',
    );
    this.breakerOpens = counter('skuld_cache_breaker_opens_total', 'Times the Redis circuit breaker opened');
    this.breaker = new Gauge({
      name: 'skuld_cache_breaker_state',
      help: 'Redis circuit breaker: 0 closed, 1 half-open, 2 open (reads skip Redis)',
      registers,
    });
    this.breaker.set(0);
    new Gauge({
      name: 'skuld_cache_store_reads_in_flight',
      help: 'Store reads of the cache in flight now',
      registers,
      collect() {
        this.set(inFlight().now);
      },
    });
    new Gauge({
      name: 'skuld_cache_store_reads_in_flight_peak',
      help: 'Most store reads of the cache in flight at once since the start (never above the limit)',
      registers,
      collect() {
        this.set(inFlight().peak);
      },
    });
  }

  breakerState(state: BreakerState): void {
    this.breaker.set(breakerValue[state]);
    if (state === 'open') this.breakerOpens.inc();
  }
}

/** A metric's value in a registry: summed over its series, or over those with these labels. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted))
    .reduce((sum, value) => sum + value.value, 0);
}
