import type { FastifyInstance } from 'fastify';
import { createLog } from '../compose/runtime.js';
import type { Config } from '../config.js';
import type { Log } from '../log.js';
import { loggerOptions } from '../log-output.js';
import { type FailpointHook, killAt } from '../services/failpoints.js';
import { openOrderService } from '../services/orders/order-service.js';
import { openPurchaseService } from '../services/purchases/purchase-service.js';
import { checkAddressFree, listenError, local, untilStopped } from './serve.js';

// `skuld orders` and `skuld purchases`: a service in its own process with its own database,
// serving its HTTP API until stopped, and calling the inventory over gRPC.

interface Service {
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

async function serveService(
  config: Config,
  what: { name: string; port: number; portSetting: string; database: string; routes: string },
  open: (log: Log, logger: object, failpoint: FailpointHook) => Promise<Service>,
): Promise<number> {
  await checkAddressFree(config.host, what.port, what.portSetting);
  const service = await open(createLog(config), loggerOptions(config), killAt(process.env.SKULD_FAILPOINT));
  try {
    const address = await service.app.listen({ host: config.host, port: what.port }).catch((error: unknown) => {
      throw listenError(error, config.host, what.port, what.portSetting);
    });
    const base = local(address);
    console.log(`Skuld ${what.name} on ${base}`);
    console.log(`  API:       ${base}${what.routes}`);
    console.log(`  health:    ${base}/healthz, ${base}/readyz, ${base}/metrics`);
    console.log(`  database:  ${what.database.replace(/:\/\/[^@/]*@/, '://***@')}`);
    console.log(`  inventory: ${config.inventoryGrpcUrls.join(', ')}`);
    await untilStopped();
    return 0;
  } finally {
    await service.close();
  }
}

/** `skuld orders`: the order service. */
export function serveOrders(config: Config): Promise<number> {
  const what = {
    name: 'order service',
    port: config.ordersPort,
    portSetting: 'SKULD_ORDERS_PORT / --orders-port',
    database: config.ordersDatabaseUrl,
    routes: '/v1/orders',
  };
  return serveService(config, what, (log, logger, failpoint) => openOrderService(config, log, logger, failpoint));
}

/** `skuld purchases`: the purchase service. */
export function servePurchases(config: Config): Promise<number> {
  const what = {
    name: 'purchase service',
    port: config.purchasesPort,
    portSetting: 'SKULD_PURCHASES_PORT / --purchases-port',
    database: config.purchasesDatabaseUrl,
    routes: '/v1/purchase-orders',
  };
  return serveService(config, what, (log, logger, failpoint) => openPurchaseService(config, log, logger, failpoint));
}
