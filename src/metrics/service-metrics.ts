import { Gauge, type Registry } from 'prom-client';
import { counterIn } from './registered.js';

// The order and purchase services' own metrics, beside the HTTP latency and the inventory calls
// every service has: its orders by the status they reached, and the calls it still owes the
// inventory (its outbox).

/** Most owed calls a scrape counts: the count reads at most this many entries of the outbox's index. */
export const owedCallsCountMax = 10_000;

export interface ServiceMetricsOptions {
  /** The family of the service's orders: `skuld_orders_total`, `skuld_purchase_orders_total`. */
  readonly ordersFamily: string;
  readonly ordersHelp: string;
  /** Every status an order may reach: each is exposed from the start, at 0. */
  readonly statuses: readonly string[];
  /** Calls owed to the inventory and not yet answered, counted up to owedCallsCountMax. */
  readonly owedCalls: (countMax: number) => Promise<number>;
}

/** What the service's logic reports: an order reached a status. */
export interface OrderTransitions {
  reached(status: string): void;
}

export const noTransitions: OrderTransitions = { reached() {} };

export class ServiceMetrics implements OrderTransitions {
  private readonly statuses: ReadonlySet<string>;
  private readonly orders;

  constructor(registry: Registry, options: ServiceMetricsOptions) {
    this.statuses = new Set(options.statuses);
    this.orders = counterIn(registry, {
      name: options.ordersFamily,
      help: options.ordersHelp,
      labelNames: ['status'],
    });
    for (const status of options.statuses) this.orders.labels(status).inc(0);
    const { owedCalls } = options;
    new Gauge({
      name: 'skuld_owed_calls_pending',
      help: `Calls this service owes the inventory and has not had answered yet (its outbox; counted up to ${owedCallsCountMax})`,
      registers: [registry],
      async collect() {
        this.set(await owedCalls(owedCallsCountMax));
      },
    });
  }

  reached(status: string): void {
    if (!this.statuses.has(status)) throw new Error(`no order status ${status}`);
    this.orders.labels(status).inc();
  }
}
