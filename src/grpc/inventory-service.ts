import type { ServiceImpl } from '@connectrpc/connect';
import type { ApiRuntime } from '../api/commands.js';
import { commandHandlers } from './command-handlers.js';
import type { InventoryService } from './gen/skuld/inventory/v1/inventory_service_pb.js';
import type { GrpcAuth } from './grpc-access.js';
import { readHandlers } from './read-handlers.js';
import { readModelHandlers, reconciliationHandlers } from './read-model-handlers.js';

// The inventory service: its commands (command-handlers.ts), the reads of the store and the read
// cache with WatchEvents (read-handlers.ts), and the read models', count sheets' and reports'
// (read-model-handlers.ts), all on the runtime the HTTP API uses.

/** `closing` aborts when the server closes: WatchEvents streams end then. */
export function inventoryService(
  runtime: ApiRuntime,
  auth: GrpcAuth,
  closing: AbortSignal,
): ServiceImpl<typeof InventoryService> {
  return {
    ...commandHandlers(runtime, auth),
    ...readHandlers(runtime, closing),
    ...readModelHandlers(runtime),
    ...reconciliationHandlers(runtime),
  };
}
