import { createServer } from 'node:net';
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

/** A socket's listen error as a StartupError (PORT_IN_USE, or CONFIG_INVALID); any other error as it is. */
export function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as { code?: unknown }).code;
  const message = typeof code === 'string' ? listenErrorMessages[code] : undefined;
  if (message === undefined) return error;
  const where = `${host}:${port} (SKULD_HOST / --host, SKULD_PORT / --port)`;
  return new StartupError(code === 'EADDRINUSE' ? 'PORT_IN_USE' : 'CONFIG_INVALID', `${message} ${where}`, {
    cause: error,
  });
}

/**
 * Fails with PORT_IN_USE when the HTTP address is taken, before the store is opened, migrated or
 * seeded: a start that cannot serve changes nothing. (Another process may still take the port
 * between this check and the real listen; that listen fails the same way.)
 */
export async function checkAddressFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port, exclusive: true }, resolve);
    });
  } catch (error) {
    throw listenError(error, host, port);
  }
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

/** Seeds demo data into an empty store, unless SKULD_SEED=off. */
export async function seedIfEmpty(config: Config, runtime: Runtime): Promise<void> {
  if (config.seed !== 'auto' || (await runtime.store.headPosition()) !== 0) return;
  const applied = await seed(runtime.engine);
  if (applied > 0) console.log(`seeded demo data (${applied} commands)`);
}

export function printBanner(address: string, runtime: Runtime): void {
  const base = address.replace('://0.0.0.0', '://127.0.0.1').replace('://[::]', '://[::1]');
  console.log(`Skuld is serving on ${base} (store: ${runtime.store.dialect})`);
  console.log(`  API:      ${base}/v1`);
  console.log(`  API docs: ${base}/docs`);
  console.log(`  health:   ${base}/healthz, ${base}/readyz`);
}

export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
