import { type Client, Code, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import { InventoryService } from '../grpc/gen/skuld/inventory/v1/inventory_service_pb.js';
import { ErrorDetailSchema } from '../grpc/gen/skuld/inventory/v1/types_pb.js';
import { inventoryCallInterceptor } from '../metrics/grpc-metrics.js';

// How the order and purchase services reach the inventory cluster: one gRPC client per instance,
// calls spread round-robin over the instances not ejected, and a call that finds an instance
// unavailable retried on the next one. Every command carries its own id, so a retry that reaches
// a second instance after the first had committed is answered from the first's record, never
// done twice.

export type InventoryClient = Client<typeof InventoryService>;

export interface InventoryPoolOptions {
  /** gRPC base URLs of the inventory instances, e.g. http://127.0.0.1:50051. */
  readonly urls: readonly string[];
  /** The credential sent on every call (an API key or a token), or empty for none. */
  readonly credential: string;
  /** Each attempt's deadline. */
  readonly timeoutMs: number;
  /** How long an instance that failed is skipped before it is tried again. */
  readonly ejectMs: number;
  /** Attempts of one call, over the instances, before it fails UNAVAILABLE. */
  readonly attemptsMax: number;
  readonly now?: () => number;
  /** Run around every attempt, after the credential is set (the metrics' timer). */
  readonly interceptors?: readonly Interceptor[];
}

/** Statuses after which the same call, with the same command id, may go to another instance. */
const retryable = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.Unknown, Code.Internal]);

interface Instance {
  readonly url: string;
  readonly client: InventoryClient;
  ejectedUntil: number;
}

export class InventoryPool {
  private readonly instances: Instance[];
  private next = 0;
  private readonly now: () => number;

  constructor(private readonly options: InventoryPoolOptions) {
    if (options.urls.length === 0) throw new Error('no inventory instance to call');
    this.now = options.now ?? Date.now;
    const authorize: Interceptor = (call) => (request) => {
      if (options.credential !== '') request.header.set('authorization', `Bearer ${options.credential}`);
      return call(request);
    };
    this.instances = options.urls.map((url) => ({
      url,
      client: createClient(
        InventoryService,
        createGrpcTransport({
          baseUrl: url,
          interceptors: [authorize, ...(options.interceptors ?? [])],
          // An idle connection is probed, so a dead peer is found before a call waits on it.
          pingIntervalMs: 10_000,
          pingIdleConnection: true,
          idleConnectionTimeoutMs: 60_000,
        }),
      ),
      ejectedUntil: 0,
    }));
  }

  /** The instances and whether each is in rotation. */
  state(): { url: string; ejected: boolean }[] {
    const now = this.now();
    return this.instances.map((instance) => ({ url: instance.url, ejected: instance.ejectedUntil > now }));
  }

  /**
   * Runs `call` on an instance, and again on the next while the failure is one another instance
   * may not have (unavailable, deadline, reset). Refusals (the command's own errors) are final.
   */
  async call<T>(call: (client: InventoryClient, options: { timeoutMs: number }) => Promise<T>): Promise<T> {
    let last: unknown;
    for (let attempt = 0; attempt < this.options.attemptsMax; attempt += 1) {
      const instance = this.pick();
      try {
        return await call(instance.client, { timeoutMs: this.options.timeoutMs });
      } catch (error) {
        if (!(error instanceof ConnectError) || !retryable.has(error.code)) throw error;
        last = error;
        instance.ejectedUntil = this.now() + this.options.ejectMs;
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 1000)));
      }
    }
    throw last instanceof ConnectError ? last : new ConnectError('no inventory instance answered', Code.Unavailable);
  }

  private pick(): Instance {
    const now = this.now();
    for (let tried = 0; tried < this.instances.length; tried += 1) {
      const instance = this.instances[this.next++ % this.instances.length] as Instance;
      if (instance.ejectedUntil <= now) return instance;
    }
    // All ejected: try the one whose ejection ends first rather than none.
    return this.instances.reduce((a, b) => (b.ejectedUntil < a.ejectedUntil ? b : a));
  }
}

/** The stable code of an inventory refusal (its ErrorDetail), or undefined for other errors. */
export function refusalCode(error: unknown): string | undefined {
  if (!(error instanceof ConnectError)) return undefined;
  return error.findDetails(ErrorDetailSchema)[0]?.code ?? error.metadata.get('skuld-error-code') ?? undefined;
}

/** The pool a service's settings describe: the instances, the key, the deadline of each call. */
export function inventoryPoolOf(config: Config, registry: Registry): InventoryPool {
  return new InventoryPool({
    interceptors: [inventoryCallInterceptor(registry)],
    urls: config.inventoryGrpcUrls,
    credential: config.inventoryKey,
    timeoutMs: config.inventoryCallTimeoutMs,
    ejectMs: 2000,
    attemptsMax: Math.max(3, config.inventoryGrpcUrls.length * 2),
  });
}
