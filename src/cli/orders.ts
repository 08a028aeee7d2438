import { createLog } from '../compose/runtime.js';
import type { Config } from '../config.js';
import { killAt } from '../services/failpoints.js';
import { openOrderService } from '../services/orders/order-service.js';
import { checkAddressFree, listenError, untilStopped } from './serve.js';

const portSetting = 'SKULD_ORDERS_PORT / --orders-port';

/** `skuld orders`: the order service, in its own process with its own database, until stopped. */
export async function serveOrders(config: Config): Promise<number> {
  await checkAddressFree(config.host, config.ordersPort, portSetting);
  const log = createLog(config);
  const service = await openOrderService(config, log, { level: config.logLevel }, killAt(process.env.SKULD_FAILPOINT));
  try {
    const address = await service.app.listen({ host: config.host, port: config.ordersPort }).catch((error: unknown) => {
      throw listenError(error, config.host, config.ordersPort, portSetting);
    });
    const base = address.replace('://0.0.0.0', '://127.0.0.1').replace('://[::]', '://[::1]');
    console.log(`Skuld order service on ${base}`);
    console.log(`  orders:    ${base}/v1/orders`);
    console.log(`  health:    ${base}/healthz, ${base}/readyz`);
    console.log(`  database:  ${config.ordersDatabaseUrl.replace(/:\/\/[^@/]*@/, '://***@')}`);
    console.log(`  inventory: ${config.inventoryGrpcUrls.join(', ')}`);
    await untilStopped();
    return 0;
  } finally {
    await service.close();
  }
}
