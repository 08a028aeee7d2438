import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';

export { metricValue } from '../../src/cache/cache-metrics.js';

import { createReadPath, type ReadPath } from '../../src/cache/read-path.js';
import { loadConfig } from '../../src/config.js';
import type { CommandExecutor } from '../../src/engine/executor.js';
import type { Log } from '../../src/log.js';
import type { StoreReads } from '../../src/store/port.js';
import { redisUrl } from './global-setup.js';

// The read cache under test: read paths built as the runtime builds them, over a real store, with
// the store's reads counted (every call still reaches the real database).

export type ReadCounts = Partial<Record<keyof StoreReads, number>>;

/** The store's reads, each call counted by method. */
export function countedReads(store: StoreReads): { reads: StoreReads; counts: ReadCounts; reset(): void } {
  const counts: ReadCounts = {};
  const reads = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const name = property as keyof StoreReads;
        counts[name] = (counts[name] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  });
  return {
    reads,
    counts,
    reset: () => {
      for (const key of Object.keys(counts)) delete counts[key as keyof StoreReads];
    },
  };
}

export interface TestReadPath extends ReadPath {
  readonly registry: Registry;
  readonly errors: unknown[];
}

/** A read path as `createRuntime` builds one; `env` sets the SKULD_CACHE… settings (default: with Redis). */
export async function openReadPath(
  reads: StoreReads,
  engine: CommandExecutor,
  namespace: string,
  env: Record<string, string> = {},
): Promise<TestReadPath> {
  const settings = loadConfig({ SKULD_CACHE: 'redis', SKULD_REDIS_URL: redisUrl, ...env });
  const registry = new Registry();
  const errors: unknown[] = [];
  const log: Log = { error: (context) => errors.push(context), warn() {}, info() {}, debug() {} };
  const path = await createReadPath(settings, { store: reads, engine, registry, log, namespace });
  return { ...path, registry, errors, close: () => path.close() };
}

/** A namespace no other test run uses. */
export function freshNamespace(): string {
  return `skuld-test:${randomUUID()}:`;
}
