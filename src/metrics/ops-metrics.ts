import { Counter, Gauge, type Registry } from 'prom-client';

// The gauges an inventory instance reads from its store and its jobs rather than counts as it
// goes: reservations pending, the sweeper's lag, the relays' and the projections' lag. A sampler
// (src/compose/ops-sampler.ts) sets them on a timer, with bounded reads, so that a scrape only
// reads values already in memory and never waits for the store.

export interface OpsSample {
  /** Pending reservations (counted up to a bound). */
  readonly reservationsPending: number;
  /** How long the oldest reservation due for expiry has waited past its expiry; 0 when none is. */
  readonly sweeperLagSeconds: number;
  readonly relays: readonly { readonly destination: string; readonly events: number; readonly seconds: number }[];
  readonly projections: readonly { readonly projection: string; readonly events: number; readonly seconds: number }[];
}

/** What the sweeper has counted since the start (its SweeperStats). */
export interface SweeperView {
  readonly stats: { readonly expired: number; readonly failures: number };
}

/** What this process's relays say of themselves (RelayStatus). */
export interface RelaysView {
  status(): readonly { readonly destination: string; readonly published: number; readonly failures: number }[];
}

export class OpsMetrics {
  private readonly pending: Gauge;
  private readonly sweeperLag: Gauge;
  private readonly relayEvents: Gauge<'destination'>;
  private readonly relaySeconds: Gauge<'destination'>;
  private readonly projectionEvents: Gauge<'projection'>;
  private readonly projectionSeconds: Gauge<'projection'>;
  /** Samples that failed (the store out of reach): each is logged, and the gauges keep their last values. */
  readonly sampleFailures: Counter;

  constructor(registry: Registry, sweeper: SweeperView, relays: RelaysView) {
    const registers = [registry];
    new Counter({
      name: 'skuld_relay_published_total',
      help: "Ledger events this instance's relay published to a destination (confirmed by it)",
      labelNames: ['destination'],
      registers,
      collect() {
        this.reset();
        for (const { destination, published } of relays.status()) this.labels(destination).inc(published);
      },
    });
    new Gauge({
      name: 'skuld_relay_failures',
      help: 'Publishes to a destination that have failed in a row (each logged; 0 once one succeeds)',
      labelNames: ['destination'],
      registers,
      collect() {
        for (const { destination, failures } of relays.status()) this.labels(destination).set(failures);
      },
    });
    this.pending = new Gauge({
      name: 'skuld_reservations_pending',
      help: 'Pending reservations in the store (counted up to a bound, see docs/api.md), as last sampled',
      registers,
    });
    this.sweeperLag = new Gauge({
      name: 'skuld_sweeper_lag_seconds',
      help: 'How long the oldest pending reservation has been past its expiry, as last sampled (0: none is)',
      registers,
    });
    new Counter({
      name: 'skuld_sweeper_expired_total',
      help: 'Reservations this instance expired',
      registers,
      collect() {
        this.reset();
        this.inc(sweeper.stats.expired);
      },
    });
    new Counter({
      name: 'skuld_sweeper_failures_total',
      help: 'Expiry sweeps that failed (each logged; the next one tries again)',
      registers,
      collect() {
        this.reset();
        this.inc(sweeper.stats.failures);
      },
    });
    const lag = <T extends string>(name: string, help: string, label: T) =>
      new Gauge<T>({ name, help, labelNames: [label], registers });
    this.relayEvents = lag('skuld_relay_lag_events', 'Ledger events not yet published to a destination', 'destination');
    this.relaySeconds = lag(
      'skuld_relay_lag_seconds',
      'Age of the oldest ledger event not yet published to a destination (0: caught up)',
      'destination',
    );
    this.projectionEvents = lag(
      'skuld_projection_lag_events',
      'Ledger events not yet applied to a read model',
      'projection',
    );
    this.projectionSeconds = lag(
      'skuld_projection_lag_seconds',
      'Age of the oldest ledger event not yet applied to a read model (0: caught up)',
      'projection',
    );
    this.sampleFailures = new Counter({
      name: 'skuld_ops_sample_failures_total',
      help: 'Samples of the store-read gauges that failed (each logged; the gauges keep their last values)',
      registers,
    });
  }

  record(sample: OpsSample): void {
    this.pending.set(sample.reservationsPending);
    this.sweeperLag.set(sample.sweeperLagSeconds);
    for (const { destination, events, seconds } of sample.relays) {
      this.relayEvents.labels(destination).set(events);
      this.relaySeconds.labels(destination).set(seconds);
    }
    for (const { projection, events, seconds } of sample.projections) {
      this.projectionEvents.labels(projection).set(events);
      this.projectionSeconds.labels(projection).set(seconds);
    }
  }
}
