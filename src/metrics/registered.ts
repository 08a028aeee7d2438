import {
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  type Registry,
} from 'prom-client';

// A metric of a registry, made on first use and shared after: two apps built on one runtime (a
// test's, an HTTP and a gRPC server) observe into the same family instead of failing to
// register it twice.

export function histogramIn<T extends string>(registry: Registry, config: HistogramConfiguration<T>): Histogram<T> {
  const existing = registry.getSingleMetric(config.name);
  return (existing as Histogram<T> | undefined) ?? new Histogram({ ...config, registers: [registry] });
}

export function counterIn<T extends string>(registry: Registry, config: CounterConfiguration<T>): Counter<T> {
  const existing = registry.getSingleMetric(config.name);
  return (existing as Counter<T> | undefined) ?? new Counter({ ...config, registers: [registry] });
}

export function gaugeIn<T extends string>(registry: Registry, config: GaugeConfiguration<T>): Gauge<T> {
  const existing = registry.getSingleMetric(config.name);
  return (existing as Gauge<T> | undefined) ?? new Gauge({ ...config, registers: [registry] });
}

/** Request latency in seconds: from a cached read (well under a millisecond) to a client's timeout. */
export const latencySecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
