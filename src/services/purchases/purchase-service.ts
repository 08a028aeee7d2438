import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { Config } from '../../config.js';
import type { Log } from '../../log.js';
import { ServiceMetrics } from '../../metrics/service-metrics.js';
import type { FailpointHook } from '../failpoints.js';
import { inventoryPoolOf } from '../inventory-client.js';
import type { ServiceDb } from '../service-db.js';
import { openPurchaseDb } from './purchase-db.js';
import { buildPurchaseApp } from './purchase-http.js';
import { PurchaseService, purchaseOrderStatuses } from './purchases.js';

// The purchase service as one process runs it: its database, the inventory instances, the owed
// receipts made and retried, and its HTTP API.

export interface RunningPurchaseService {
  readonly app: FastifyInstance;
  readonly purchases: PurchaseService;
  readonly db: ServiceDb;
  close(): Promise<void>;
}

export async function openPurchaseService(
  config: Config,
  log: Log,
  logger: boolean | object = false,
  failpoint?: FailpointHook,
): Promise<RunningPurchaseService> {
  const db = await openPurchaseDb(config.purchasesDatabaseUrl);
  const registry = new Registry();
  const inventory = inventoryPoolOf(config, registry);
  let purchases: PurchaseService | undefined;
  const transitions = new ServiceMetrics(registry, {
    ordersFamily: 'skuld_purchase_orders_total',
    ordersHelp:
      'Purchase orders that reached each status (draft: created; confirmed, receiving, received, closed, cancelled)',
    statuses: purchaseOrderStatuses,
    owedCalls: (countMax) => purchases?.owedCalls(countMax) ?? Promise.resolve(0),
  });
  purchases = new PurchaseService({
    db,
    inventory,
    log,
    transitions,
    retryMs: 500,
    ...(failpoint === undefined ? {} : { failpoint }),
  });
  const app = await buildPurchaseApp({ purchases, inventory, metrics: registry }, logger);
  purchases.start();
  return {
    app,
    purchases,
    db,
    async close() {
      await app.close();
      await purchases.close();
      await db.close();
    },
  };
}
