import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { createKey } from '../auth/key-admin.js';
import type { Runtime } from '../compose/runtime.js';
import type { Config } from '../config.js';
import { StartupError } from '../startup-error.js';
import { seed } from './seed.js';

/** Codes of the errors a socket cannot listen with that are the operator's to fix. */
const listenErrorMessages: Readonly<Record<string, string>> = {
  EADDRINUSE: 'another process listens on',
  EACCES: 'this process may not listen on',
  EADDRNOTAVAIL: 'no network interface of this machine has the address',
  ENOTFOUND: 'the host name does not resolve:',
};

/** The settings that name a port, for the message of a start refused for it. */
export const httpPortSetting = 'SKULD_PORT / --port';
export const grpcPortSetting = 'SKULD_GRPC_PORT / --grpc-port';

/** A socket's listen error as a StartupError (PORT_IN_USE, or CONFIG_INVALID); any other error as it is. */
export function listenError(error: unknown, host: string, port: number, setting = httpPortSetting): unknown {
  const code = (error as { code?: unknown }).code;
  const message = typeof code === 'string' ? listenErrorMessages[code] : undefined;
  if (message === undefined) return error;
  const where = `${host}:${port} (SKULD_HOST / --host, ${setting})`;
  return new StartupError(code === 'EADDRINUSE' ? 'PORT_IN_USE' : 'CONFIG_INVALID', `${message} ${where}`, {
    cause: error,
  });
}

/**
 * Fails with PORT_IN_USE when the HTTP address is taken, before the store is opened, migrated or
 * seeded: a start that cannot serve changes nothing. (Another process may still take the port
 * between this check and the real listen; that listen fails the same way.)
 */
export async function checkAddressFree(host: string, port: number, setting = httpPortSetting): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port, exclusive: true }, resolve);
    });
  } catch (error) {
    throw listenError(error, host, port, setting);
  }
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

/** The certificate and key for HTTPS, read before anything is opened; undefined for plain HTTP. */
export function readTls(config: Config): { cert: Buffer; key: Buffer } | undefined {
  if (config.tlsCertFile === '') return undefined;
  const read = (file: string, setting: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new StartupError('CONFIG_INVALID', `${setting}: cannot read ${file}: ${(error as Error).message}`);
    }
  };
  return { cert: read(config.tlsCertFile, 'SKULD_TLS_CERT_FILE'), key: read(config.tlsKeyFile, 'SKULD_TLS_KEY_FILE') };
}

/** Seeds demo data into an empty store, unless SKULD_SEED=off. */
export async function seedIfEmpty(config: Config, runtime: Runtime): Promise<void> {
  if (config.seed !== 'auto' || (await runtime.store.headPosition()) !== 0) return;
  const applied = await seed(runtime.engine);
  if (applied > 0) console.log(`seeded demo data (${applied} commands)`);
}

/** An address a server listens on, as this machine's terminal may open it (a wildcard as loopback). */
export function local(address: string): string {
  return address.replace('://0.0.0.0', '://127.0.0.1').replace('://[::]', '://[::1]');
}

/** An address a server listens on, as other machines may reach it (a wildcard as this host's name). */
export function advertised(address: string): string {
  return address.replace('://0.0.0.0', `://${hostname()}`).replace('://[::]', `://${hostname()}`);
}

export function printBanner(address: string, runtime: Runtime, grpcUrl?: string): void {
  const base = local(address);
  console.log(`Skuld is serving on ${base} (store: ${runtime.store.dialect})`);
  console.log(`  API:      ${base}/v1`);
  console.log(`  API docs: ${base}/docs`);
  console.log(
    `  dashboard: ${base}/dashboard (a read-only key: npx skuld keys create --name dashboard --role auditor)`,
  );
  console.log(`  health:   ${base}/healthz, ${base}/readyz`);
  if (grpcUrl !== undefined) {
    const grpc = local(grpcUrl);
    console.log(`  gRPC:     ${grpc} (skuld.inventory.v1.InventoryService, grpc.health.v1, reflection)`);
  }
}

/**
 * On the first start (no key was ever created) an admin key, so that a new deployment is usable
 * and still closed: nothing but the health check, the docs and the index answers without a key.
 */
export async function firstKeyIfNone(runtime: Runtime): Promise<string | undefined> {
  const { keys } = runtime.store;
  if ((await keys.countKeys()) > 0) return undefined;
  const roles = ['admin' as const];
  const created = await createKey(keys, {
    name: 'admin',
    roles,
    createdBy: 'system',
    now: Date.now(),
    expiresAt: null,
  });
  return created.key;
}

/** The first key, on the terminal, once: it is never shown again and never logged. */
export function printFirstKey(key: string, address: string): void {
  const base = local(address);
  console.log(`
First start: an API key with the admin role was created. It is shown this once; keep it:

  ${key}

  curl -H 'authorization: Bearer ${key}' ${base}/v1/items
  More keys (one per service, team or scanner fleet; roles scanner, orders, purchasing, auditor, admin):
  npx skuld keys create --name <name> --role <role>`);
}

/** Reads open on loopback are for development: said loudly, on the terminal and in the log. */
export function warnIfOpenReads(config: Config, runtime: Runtime): void {
  if (config.devOpenReads === 'off') return;
  const message =
    'SKULD_DEV_OPEN_READS=loopback: reads from this machine need no credential. For development only; changes still need one';
  console.warn(`WARNING: ${message}`);
  runtime.log.warn({ devOpenReads: config.devOpenReads }, message);
}

export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
