import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { type Config, storeConfig } from '../config.js';
import { StartupError } from '../startup-error.js';
import { untilStopped } from './serve.js';

// `skuld system`: the whole system on one machine, for development, demos and the simulation:
// N inventory instances (HTTP and gRPC) on one store, the order service and the purchase
// service, each a process of its own, their output prefixed with their name. Each service gets a
// key made for this run (roles `orders`, `purchasing`) and revoked when it stops. Ctrl-C stops
// everything, the services first.

const run = promisify(execFile);

/** The settings the system sets per process: a flag for them would override every process alike. */
const perProcessFlags = new Set([
  '--port',
  '--grpc-port',
  '--orders-port',
  '--purchases-port',
  '--inventory-grpc-urls',
  '--inventory-key',
]);

/** The process's own entry (bin/skuld.js, or the sources through tsx) with the flags to pass on. */
function skuld(args: readonly string[]): string[] {
  return [...process.execArgv, process.argv[1] as string, ...args];
}

/** The flags of `skuld system` that every process takes too. */
export function sharedFlags(argv: readonly string[]): string[] {
  const shared: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] as string;
    const name = arg.split('=')[0] as string;
    if (!perProcessFlags.has(name)) {
      shared.push(arg);
      continue;
    }
    if (!arg.includes('=')) index += 1;
  }
  return shared;
}

export interface SystemProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly urls: Readonly<Record<string, string>>;
  readonly exited: Promise<number | null>;
}

/** Starts one process; resolves with the URLs its banner printed. Its output goes out prefixed. */
async function start(
  name: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  patterns: Readonly<Record<string, RegExp>>,
): Promise<SystemProcess> {
  const child = spawn(process.execPath, skuld(args), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const prefix = (stream: NodeJS.WritableStream) => {
    let partial = '';
    return (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) stream.write(`[${name}] ${line}\n`);
    };
  };
  child.stdout?.on('data', prefix(process.stdout));
  child.stderr?.on('data', prefix(process.stderr));
  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new StartupError('PROCESS_FAILED', `${name} did not start within 60 s`)),
      60_000,
    );
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      const found = Object.entries(patterns).map(([label, pattern]) => [label, pattern.exec(output)?.[1]] as const);
      if (found.every(([, url]) => url !== undefined)) {
        clearTimeout(timer);
        child.stdout?.off('data', seen);
        resolve(Object.fromEntries(found) as Record<string, string>);
      }
    };
    child.stdout?.on('data', seen);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new StartupError('PROCESS_FAILED', `${name} exited with ${code} before it was serving`));
    });
  });
  return { name, child, urls, exited };
}

async function stop(process: SystemProcess): Promise<void> {
  if (process.child.exitCode === null && process.child.signalCode === null) process.child.kill('SIGTERM');
  const killer = setTimeout(() => process.child.kill('SIGKILL'), 15_000);
  await process.exited;
  clearTimeout(killer);
}

/** How many inventory instances: as set, or 3 on a shared database and 1 on an embedded SQLite file. */
export function instancesOf(config: Config): number {
  const sqlite = storeConfig(config).kind === 'sqlite';
  if (config.systemInstances === 0) return sqlite ? 1 : 3;
  if (sqlite && config.systemInstances > 1) {
    throw new StartupError(
      'CONFIG_INVALID',
      'SKULD_SYSTEM_INSTANCES: several inventory instances share one PostgreSQL or MySQL database; an embedded SQLite file serves one',
    );
  }
  return config.systemInstances;
}

export interface RunningSystem {
  readonly inventory: readonly SystemProcess[];
  readonly orders: SystemProcess;
  readonly purchases: SystemProcess;
  /** Stops the services, then the instances, and revokes the keys made for this run. */
  stop(): Promise<void>;
}

export async function startSystem(config: Config, argv: readonly string[]): Promise<RunningSystem> {
  const count = instancesOf(config);
  const flags = sharedFlags(argv);
  const env = process.env;
  const grpcBase = config.grpcPort === 'off' ? 50051 : config.grpcPort;
  const at = (base: number, index: number) => String(base === 0 ? 0 : base + index);
  const inventory: SystemProcess[] = [];
  const started: SystemProcess[] = [];
  const keyIds: string[] = [];
  const stopAll = async () => {
    for (const process of [...started].reverse()) await stop(process);
    for (const id of keyIds) {
      await run(globalThis.process.execPath, skuld(['keys', 'revoke', id, ...flags]), { env }).catch(() => undefined);
    }
  };
  /** A key of `role` for a service of this run, on the inventory's store. */
  const keyFor = async (service: string, role: string) => {
    const name = `system-${service}-${globalThis.process.pid}`;
    const created = await run(
      globalThis.process.execPath,
      skuld(['keys', 'create', '--name', name, '--role', role, ...flags]),
      {
        env,
      },
    );
    const id = /created key (\S+)/.exec(created.stdout)?.[1];
    if (id !== undefined) keyIds.push(id);
    const key = /^(skuld_\S+)$/m.exec(created.stdout)?.[1];
    if (key === undefined) throw new StartupError('PROCESS_FAILED', `no key for the ${service} service could be made`);
    return key;
  };
  try {
    for (let index = 0; index < count; index += 1) {
      const instance = await start(
        `inventory-${index + 1}`,
        ['serve', ...flags],
        { ...env, SKULD_PORT: at(config.port, index), SKULD_GRPC_PORT: at(grpcBase, index) },
        { http: /serving on (https?:\/\/\S+)/, grpc: /gRPC: +(https?:\/\/\S+)/ },
      );
      inventory.push(instance);
      started.push(instance);
    }
    const grpcUrls = inventory.map((instance) => instance.urls.grpc).join(',');
    const orders = await start(
      'orders',
      ['orders', ...flags],
      {
        ...env,
        SKULD_ORDERS_PORT: String(config.ordersPort),
        SKULD_INVENTORY_GRPC_URLS: grpcUrls,
        SKULD_INVENTORY_KEY: await keyFor('orders', 'orders'),
      },
      { url: /order service on (https?:\/\/\S+)/ },
    );
    started.push(orders);
    const purchases = await start(
      'purchases',
      ['purchases', ...flags],
      {
        ...env,
        SKULD_PURCHASES_PORT: String(config.purchasesPort),
        SKULD_INVENTORY_GRPC_URLS: grpcUrls,
        SKULD_INVENTORY_KEY: await keyFor('purchases', 'purchasing'),
      },
      { url: /purchase service on (https?:\/\/\S+)/ },
    );
    started.push(purchases);
    return { inventory, orders, purchases, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** `skuld system`: starts everything, prints where it is, and stops it all on Ctrl-C. */
export async function runSystem(config: Config, argv: readonly string[]): Promise<number> {
  const system = await startSystem(config, argv);
  const stopped = untilStopped();
  console.log('\nSkuld system is up:');
  for (const instance of system.inventory) {
    console.log(
      `  ${instance.name}: ${instance.urls.http} (API docs ${instance.urls.http}/docs), gRPC ${instance.urls.grpc}`,
    );
  }
  console.log(`  orders:      ${system.orders.urls.url}/v1/orders`);
  console.log(`  purchases:   ${system.purchases.urls.url}/v1/purchase-orders`);
  console.log('  simulate a storefront: npx skuld simulate --rate 20 --duration 30');
  console.log('Ctrl-C stops everything.');
  const died = Promise.race(
    [...system.inventory, system.orders, system.purchases].map((process) =>
      process.exited.then((code) => ({ process, code })),
    ),
  );
  const reason = await Promise.race([stopped.then(() => undefined), died]);
  if (reason !== undefined) console.error(`${reason.process.name} exited with ${reason.code}; stopping the rest`);
  await system.stop();
  return reason === undefined ? 0 : 1;
}
