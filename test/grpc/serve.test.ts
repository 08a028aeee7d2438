import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { captureOutput, recordCredential } from '../support/run-logs.js';
import { skuldArgs } from '../support/server-process.js';
import { bearerMetadata, loadContract, unaryCall } from './harness.js';

// `skuld serve` with SKULD_GRPC_PORT: the gRPC server beside HTTP in one process, on the same
// store, printed in the banner, closed with the process; a taken gRPC port refuses the start
// before the store is opened.

function serve(db: TestDatabase, env: Record<string, string>) {
  const child = spawn(process.execPath, [...skuldArgs, 'serve'], {
    env: { ...process.env, ...db.env, SKULD_PORT: '0', SKULD_SEED: 'off', SKULD_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  captureOutput(child, 'serve');
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const started = new Promise<{ grpcUrl: string; key: string }>((resolve, reject) => {
    const timer = setInterval(() => {
      const grpcUrl = /gRPC: +(http:\/\/\S+)/.exec(output)?.[1];
      const key = /skuld_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(output)?.[0];
      if (grpcUrl !== undefined && key !== undefined) {
        clearInterval(timer);
        recordCredential(key);
        resolve({ grpcUrl, key });
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`skuld serve exited with ${code}:\n${output}`));
    });
  });
  // A start that is refused is the test's to check, by the exit code.
  started.catch(() => undefined);
  return { child, exited, started, output: () => output };
}

describe('skuld serve with gRPC', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterAll(async () => db?.drop());

  it('serves gRPC beside HTTP on the same store, and stops with the process', async () => {
    const server = serve(db, { SKULD_GRPC_PORT: '0' });
    const { grpcUrl, key } = await server.started;
    const contract = loadContract();
    const address = grpcUrl.replace('http://', '');
    const health = new contract.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
    const inventory = new contract.skuld.inventory.v1.InventoryService(address, grpc.credentials.createInsecure());
    expect(await unaryCall(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' });
    const registered = await unaryCall<{ item: { sku: string } }>(
      inventory,
      'RegisterItem',
      { id: 'serve-reg-1', sku: 'SKU-SERVE' },
      bearerMetadata(key),
    );
    expect(registered.item.sku).toBe('SKU-SERVE');
    health.close();
    inventory.close();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output()).not.toMatch(/error/i);
  });

  it('refuses to start with PORT_IN_USE when the gRPC port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const { port } = taken.address() as { port: number };
    const fresh = await createTestDatabase('sqlite');
    try {
      const server = serve(fresh, { SKULD_GRPC_PORT: String(port) });
      expect(await server.exited).toBe(1);
      expect(server.output()).toMatch(/^skuld: PORT_IN_USE: .*SKULD_GRPC_PORT \/ --grpc-port/m);
    } finally {
      taken.close();
      await fresh.drop();
    }
  });
});
