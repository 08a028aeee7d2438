import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';

/** A registry's metrics as plain data: what a thread sends the thread that serves /metrics. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/** Metrics kept on another thread: asked for at each scrape. */
export interface MetricsSource {
  /** The thread's metrics now; undefined when it cannot answer (it has stopped). */
  snapshot(): Promise<MetricsSnapshot | undefined>;
}

/**
 * Longest a scrape waits for another thread's metrics. A thread that does not answer in time, or
 * has stopped, is represented by the last snapshot it sent, so that its counters never seem to
 * fall back (a counter that drops looks like a restart to `rate()`).
 */
const threadAnswerMsMax = 2_000;

/**
 * The process's registry: the metrics of this thread, and at each scrape those of the threads
 * that keep their own (the engine thread). prom-client has no worker-thread aggregation, but its
 * cluster aggregator merges metrics given as data: counters and histograms are summed series by
 * series (a histogram's buckets, sum and count each), so a family observed on both threads is
 * exposed once with both threads' observations, as if one registry had seen them all.
 */
export class ProcessRegistry extends Registry {
  private readonly sources: { readonly source: MetricsSource; last: MetricsSnapshot }[] = [];

  /** Adds a thread's metrics to every scrape. */
  addSource(source: MetricsSource): void {
    this.sources.push({ source, last: [] });
  }

  override async metrics(): Promise<string> {
    if (this.sources.length === 0) return super.metrics();
    return AggregatorRegistry.aggregate(await this.snapshots()).metrics();
  }

  /** This thread's metrics and each source's, not yet merged. */
  async snapshots(): Promise<MetricsSnapshot[]> {
    const others = await Promise.all(this.sources.map((entry) => latest(entry)));
    return [await this.getMetricsAsJSON(), ...others];
  }
}

async function latest(entry: { readonly source: MetricsSource; last: MetricsSnapshot }): Promise<MetricsSnapshot> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), threadAnswerMsMax);
  });
  const snapshot = await Promise.race([entry.source.snapshot(), late]).finally(() => clearTimeout(timer));
  if (snapshot !== undefined) entry.last = snapshot;
  return entry.last;
}
