import { type ChildProcess, spawn } from 'node:child_process';
import { captureOutput, recordCredential } from './run-logs.js';
import { skuldArgs } from './server-process.js';

// The system's processes for end-to-end tests: inventory instances serving HTTP and gRPC, and
// the order service, each a real `skuld` process started from the sources on free ports.

export interface SystemProcess {
  readonly child: ChildProcess;
  /** The URLs its banner printed, by label (`http`, `grpc`, `orders`). */
  readonly urls: Readonly<Record<string, string>>;
  /** The admin key a first start prints, if it did. */
  readonly key: string | undefined;
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `skuld <command>` and waits until its output shows every pattern's URL. */
async function spawnSkuld(
  command: string,
  env: Record<string, string>,
  patterns: Readonly<Record<string, RegExp>>,
): Promise<SystemProcess> {
  const child = spawn(process.execPath, [...skuldArgs, command], {
    env: { ...process.env, SKULD_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  captureOutput(child, command);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`skuld ${command} did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = Object.entries(patterns).map(([label, pattern]) => [label, pattern.exec(output)?.[1]] as const);
      if (found.every(([, url]) => url !== undefined)) {
        clearTimeout(timer);
        resolve(Object.fromEntries(found) as Record<string, string>);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`skuld ${command} exited with ${code} before listening:\n${output}`)));
  });
  const key = /skuld_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(output)?.[0];
  if (key !== undefined) recordCredential(key);
  return {
    child,
    urls,
    key,
    exited,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** An inventory instance (`skuld serve`) with gRPC on a free port. */
export function startInventory(env: Record<string, string>): Promise<SystemProcess> {
  return spawnSkuld(
    'serve',
    { SKULD_PORT: '0', SKULD_GRPC_PORT: '0', SKULD_SEED: 'off', ...env },
    { http: /serving on (https?:\/\/\S+)/, grpc: /gRPC: +(https?:\/\/\S+)/ },
  );
}

/** The order service (`skuld orders`) on a free port. */
export function startOrders(env: Record<string, string>): Promise<SystemProcess> {
  return spawnSkuld('orders', { SKULD_ORDERS_PORT: '0', ...env }, { orders: /order service on (https?:\/\/\S+)/ });
}

/** The purchase service (`skuld purchases`) on a free port. */
export function startPurchases(env: Record<string, string>): Promise<SystemProcess> {
  return spawnSkuld(
    'purchases',
    { SKULD_PURCHASES_PORT: '0', ...env },
    { purchases: /purchase service on (https?:\/\/\S+)/ },
  );
}
