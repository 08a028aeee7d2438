import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, errorStatus } from '../../src/domain/index.js';
import { grpcStatus } from '../../src/grpc/grpc-errors.js';
import { as, bearerMetadata, type GrpcApi, loadContract, startGrpc, unaryCall, unique } from './harness.js';

// A standard gRPC client (@grpc/grpc-js, the contract loaded from the .proto files at run time)
// against the server: the wire format, statuses and trailers, both kinds of stream, deadlines,
// the health service and server reflection, from which a client is built without any .proto file.

const east = 'WH-EAST';

function streamOf<T>(call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const received: T[] = [];
    call.on('data', (message: T) => received.push(message));
    call.on('end', () => resolve(received));
    call.on('error', reject);
  });
}

describe('a standard gRPC client (grpc-js)', () => {
  let api: GrpcApi;
  let inventory: grpc.Client;
  let health: grpc.Client;
  let reflection: grpc.Client;
  let metadata: grpc.Metadata;
  const contract = loadContract();

  beforeAll(async () => {
    api = await startGrpc('sqlite');
    const address = api.server.url.replace('http://', '');
    const insecure = grpc.credentials.createInsecure();
    inventory = new contract.skuld.inventory.v1.InventoryService(address, insecure);
    health = new contract.grpc.health.v1.Health(address, insecure);
    reflection = new contract.grpc.reflection.v1.ServerReflection(address, insecure);
    metadata = bearerMetadata(api.adminKey);
  });
  afterAll(async () => {
    for (const client of [inventory, health, reflection]) client?.close();
    await api?.close();
  });

  it('calls the unary RPCs: int64, optional members and enums cross the wire', async () => {
    const sku = unique('SKU');
    const item = await unaryCall<{ item: { sku: string } }>(
      inventory,
      'RegisterItem',
      { id: unique('reg'), sku },
      metadata,
    );
    expect(item.item.sku).toBe(sku);
    await unaryCall(inventory, 'ReceiveStock', { id: unique('rcv'), sku, location: east, quantity: 7 }, metadata);
    const reservation = await unaryCall<{ reservation: { status: string; lines: { quantity: number }[] } }>(
      inventory,
      'ReserveStock',
      { id: unique('order'), lines: [{ sku, location: east, quantity: 2 }] },
      metadata,
    );
    expect(reservation.reservation.status).toBe('RESERVATION_STATUS_PENDING');
    const stock = await unaryCall<{ totals: Record<string, number> }>(inventory, 'GetItemStock', { sku }, metadata);
    expect(stock.totals).toEqual({ onHand: 7, reserved: 2, available: 5, incoming: 0, projected: 5 });
  });

  it('gets a refusal as its status, with the stable code in the trailer and the status details', async () => {
    const error = await unaryCall(inventory, 'GetItem', { sku: unique('SKU') }, metadata).catch(
      (e: grpc.ServiceError) => e,
    );
    const refused = error as grpc.ServiceError;
    expect(refused.code).toBe(grpc.status.NOT_FOUND);
    expect(refused.metadata.get('skuld-error-code')).toEqual(['UNKNOWN_ITEM']);
    expect(refused.metadata.get('grpc-status-details-bin')).toHaveLength(1);
    const anonymous = await unaryCall(inventory, 'ListItems', {}).catch((e: grpc.ServiceError) => e);
    expect((anonymous as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('streams commands both ways and answers each', async () => {
    const sku = unique('SKU');
    await api.client.registerItem({ id: unique('reg'), sku }, as(api.adminKey));
    const call = (
      inventory as unknown as Record<string, (m: grpc.Metadata) => grpc.ClientDuplexStream<object, object>>
    ).ExecuteCommands?.call(inventory, metadata) as grpc.ClientDuplexStream<object, { sequence: number; ok?: object }>;
    const answers = streamOf(call);
    for (let index = 0; index < 100; index += 1) {
      call.write({ receiveStock: { id: `interop-${sku}-${index}`, sku, location: east, quantity: 1 } });
    }
    call.end();
    const received = await answers;
    expect(received.map((answer) => answer.sequence)).toEqual([...Array(100).keys()]);
    expect(received.every((answer) => answer.ok !== undefined)).toBe(true);
  });

  it('tails the ledger with WatchEvents until cancelled', async () => {
    const head = await api.runtime.store.headPosition();
    const call = (
      inventory as unknown as Record<string, (r: object, m: grpc.Metadata) => grpc.ClientReadableStream<object>>
    ).WatchEvents?.call(inventory, { after: Math.max(0, head - 3) }, metadata) as grpc.ClientReadableStream<{
      event: { position: number };
    }>;
    const positions = await new Promise<number[]>((resolve) => {
      const seen: number[] = [];
      call.on('data', ({ event }: { event: { position: number } }) => {
        seen.push(event.position);
        if (seen.length === 3) call.cancel();
      });
      call.on('error', (error: grpc.ServiceError) => {
        expect(error.code).toBe(grpc.status.CANCELLED);
        resolve(seen);
      });
    });
    expect(positions).toEqual([head - 2, head - 1, head]);
  });

  it('honours a deadline', async () => {
    const sku = unique('SKU');
    const outcomes = new Set<number | 'ok'>();
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const outcome = await unaryCall(
        inventory,
        'RegisterItem',
        { id: unique('reg'), sku: `${sku}-${attempt}` },
        metadata,
        {
          deadline: Date.now() + 1,
        },
      ).then(
        () => 'ok' as const,
        (error: grpc.ServiceError) => error.code,
      );
      outcomes.add(outcome);
    }
    for (const outcome of outcomes) expect(['ok', grpc.status.DEADLINE_EXCEEDED]).toContain(outcome);
  });

  it('answers the health service without a credential', async () => {
    expect(await unaryCall(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' });
    const named = await unaryCall(health, 'Check', { service: 'skuld.inventory.v1.InventoryService' });
    expect(named).toEqual({ status: 'SERVING' });
    const unknown = await unaryCall(health, 'Check', { service: 'nope' }).catch((e: grpc.ServiceError) => e);
    expect((unknown as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
  });

  it('lists its services by reflection and describes them well enough to call them', async () => {
    const ask = (request: object) => {
      const call = (
        reflection as unknown as Record<string, (m: grpc.Metadata) => grpc.ClientDuplexStream<object, object>>
      ).ServerReflectionInfo?.call(reflection, new grpc.Metadata()) as grpc.ClientDuplexStream<
        object,
        Record<string, unknown>
      >;
      const answers = streamOf(call);
      call.write(request);
      call.end();
      return answers.then((all) => all[0] as Record<string, unknown>);
    };
    const listed = (await ask({ listServices: '' })).listServicesResponse as { service: { name: string }[] };
    expect(listed.service.map((service) => service.name).sort()).toEqual([
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'skuld.inventory.v1.InventoryService',
    ]);
    const described = (await ask({ fileContainingSymbol: 'skuld.inventory.v1.InventoryService.GetItem' }))
      .fileDescriptorResponse as { fileDescriptorProto: Buffer[] };
    const files = described.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
    expect(files.map((file) => file.name)).toEqual([
      'google/protobuf/struct.proto',
      'skuld/inventory/v1/types.proto',
      'skuld/inventory/v1/inventory_service.proto',
    ]);
    const missing = await ask({ fileContainingSymbol: 'no.such.Symbol' });
    expect(missing.errorResponse).toMatchObject({ errorCode: grpc.status.NOT_FOUND });

    // A client built from the reflected descriptors alone.
    const set = toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: files }));
    const loaded = grpc.loadPackageDefinition(
      protoLoader.loadFileDescriptorSetFromBuffer(Buffer.from(set)),
    ) as unknown as {
      skuld: { inventory: { v1: { InventoryService: grpc.ServiceClientConstructor } } };
    };
    const dynamic = new loaded.skuld.inventory.v1.InventoryService(
      api.server.url.replace('http://', ''),
      grpc.credentials.createInsecure(),
    );
    const items = await unaryCall<{ items: unknown[] }>(dynamic, 'ListItems', { limit: 1 }, metadata);
    expect(items.items).toHaveLength(1);
    dynamic.close();
  });

  it('answers reflection v1alpha too', async () => {
    const root = new URL('../../proto', import.meta.url).pathname;
    const alpha = grpc.loadPackageDefinition(
      protoLoader.loadSync('grpc/reflection/v1alpha/reflection.proto', { includeDirs: [root] }),
    ) as unknown as { grpc: { reflection: { v1alpha: { ServerReflection: grpc.ServiceClientConstructor } } } };
    const client = new alpha.grpc.reflection.v1alpha.ServerReflection(
      api.server.url.replace('http://', ''),
      grpc.credentials.createInsecure(),
    );
    const call = (
      client as unknown as Record<string, () => grpc.ClientDuplexStream<object, Record<string, unknown>>>
    ).ServerReflectionInfo?.call(client) as grpc.ClientDuplexStream<object, Record<string, unknown>>;
    const answers = streamOf(call);
    call.write({ listServices: '' });
    call.end();
    const [answer] = await answers;
    const listed = answer?.listServicesResponse as { service: unknown[] } | undefined;
    expect(listed?.service).toHaveLength(3);
    client.close();
  });
});

describe('gRPC over TLS', () => {
  let api: GrpcApi;
  let cert: Buffer;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skuld-grpc-tls-'));
    const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    const subject = ['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'];
    const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', ...subject];
    execFileSync('openssl', [...args, '-keyout', files.key, '-out', files.cert], { stdio: 'ignore' });
    cert = readFileSync(files.cert);
    api = await startGrpc('sqlite', {}, { cert, key: readFileSync(files.key) });
    rmSync(dir, { recursive: true, force: true });
  });
  afterAll(async () => api?.close());

  it('serves the standard client over TLS with the configured certificate', async () => {
    expect(api.server.url).toMatch(/^https:\/\//);
    const contract = loadContract();
    const address = api.server.url.replace('https://', '');
    const health = new contract.grpc.health.v1.Health(address, grpc.credentials.createSsl(cert));
    expect(await unaryCall(health, 'Check', { service: '' })).toEqual({ status: 'SERVING' });
    health.close();
    expect((await api.client.listItems({}, as(api.adminKey))).items).toEqual([]);
  });
});

describe('the gRPC status of every stable code', () => {
  it('is the gRPC column of the table in docs/api.md', () => {
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    for (const code of errorCodes) {
      const row = new RegExp(`^\\| \`${code}\` \\| \\d+ \\| ([A-Z_]+) \\|`, 'm').exec(doc);
      expect(row?.[1], code).toBe(errorStatus[code].grpc);
      expect(grpc.status[grpcStatus(code)], code).toBe(errorStatus[code].grpc);
    }
  });
});
