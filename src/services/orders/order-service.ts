import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { Config } from '../../config.js';
import type { Log } from '../../log.js';
import { ServiceMetrics } from '../../metrics/service-metrics.js';
import type { FailpointHook } from '../failpoints.js';
import { type InventoryPool, inventoryPoolOf } from '../inventory-client.js';
import type { ServiceDb } from '../service-db.js';
import { ExpiryWatch } from './expiry-watch.js';
import { openOrderDb } from './order-db.js';
import { buildOrderApp } from './order-http.js';
import { OrderService, orderStatuses } from './orders.js';

// The order service as one process runs it: its database, the pool of inventory instances, the
// owed calls made and retried, the watch for expired reservations, and the storefront's HTTP API.

export interface RunningOrderService {
  readonly app: FastifyInstance;
  readonly orders: OrderService;
  readonly db: ServiceDb;
  readonly inventory: InventoryPool;
  /** Stops taking requests, lets the calls in progress finish, and closes the database. */
  close(): Promise<void>;
}

export async function openOrderService(
  config: Config,
  log: Log,
  logger: boolean | object = false,
  failpoint?: FailpointHook,
): Promise<RunningOrderService> {
  const db = await openOrderDb(config.ordersDatabaseUrl);
  const registry = new Registry();
  const inventory = inventoryPoolOf(config, registry);
  let orders: OrderService | undefined;
  const transitions = new ServiceMetrics(registry, {
    ordersFamily: 'skuld_orders_total',
    ordersHelp:
      'Orders that reached each status (placing: placed; awaiting_payment: stock reserved; paid, rejected, cancelled, expired)',
    statuses: orderStatuses,
    owedCalls: (countMax) => orders?.owedCalls(countMax) ?? Promise.resolve(0),
  });
  orders = new OrderService({
    db,
    inventory,
    log,
    transitions,
    paymentWindowMs: config.ordersPaymentWindowMs,
    retryMs: 500,
    ...(failpoint === undefined ? {} : { failpoint }),
  });
  const watch = new ExpiryWatch({ db, inventory, orders, log, saveEveryMs: 1000, retryMs: 500 });
  const app = await buildOrderApp({ orders, inventory, watch, metrics: registry }, logger);
  orders.start();
  watch.start();
  return {
    app,
    orders,
    db,
    inventory,
    async close() {
      await app.close();
      await watch.close();
      await orders.close();
      await db.close();
    },
  };
}
