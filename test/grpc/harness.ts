import { join } from 'node:path';
import { type Client, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { apiAuth } from '../../src/api/app.js';
import { createKey } from '../../src/auth/key-admin.js';
import type { Role } from '../../src/auth/scopes.js';
import { createRuntime, type Runtime } from '../../src/compose/runtime.js';
import { loadConfig } from '../../src/config.js';
import { InventoryService } from '../../src/grpc/gen/skuld/inventory/v1/inventory_service_pb.js';
import { ErrorDetailSchema } from '../../src/grpc/gen/skuld/inventory/v1/types_pb.js';
import { type GrpcServer, startGrpcServer } from '../../src/grpc/grpc-server.js';
import type { Dialect } from '../../src/store/port.js';
import { ManualClock } from '../support/clock.js';
import { createTestDatabase } from '../support/dialects.js';
import { capturedLog, recordCredential } from '../support/run-logs.js';

// The gRPC server under test: a real runtime on a fresh database of the dialect, its gRPC server
// on a free port, and clients over real HTTP/2: Connect's gRPC transport (typed, from the same
// generated code) and @grpc/grpc-js with the .proto files loaded at run time (a standard client,
// for wire compatibility). The clock moves only when a test says so.

export interface GrpcApi {
  readonly runtime: Runtime;
  readonly server: GrpcServer;
  readonly clock: ManualClock;
  readonly client: Client<typeof InventoryService>;
  /** A key with the admin role; `as(key)` sends another. */
  readonly adminKey: string;
  close(): Promise<void>;
}

/** `tls`: the server's certificate and key (PEM); the typed client then trusts that certificate. */
export async function startGrpc(
  dialect: Dialect,
  env: Record<string, string> = {},
  tls?: { readonly cert: Buffer; readonly key: Buffer },
): Promise<GrpcApi> {
  const db = await createTestDatabase(dialect);
  const clock = new ManualClock();
  const config = loadConfig({ ...db.env, SKULD_LOG_LEVEL: 'silent', ...env });
  // Everything it logs goes to the run's folder, which the end of the run checks for credentials.
  const log = capturedLog();
  const runtime = await createRuntime(config, clock, log);
  const auth = apiAuth(runtime, log);
  await auth.ready();
  const server = await startGrpcServer({ runtime, auth, log, host: '127.0.0.1', port: 0, tls });
  const transport = createGrpcTransport({ baseUrl: server.url, nodeOptions: { ca: tls?.cert } });
  const client = createClient(InventoryService, transport);
  const adminKey = await keyOf(runtime, ['admin'], 'grpc-admin');
  return {
    runtime,
    server,
    clock,
    client,
    adminKey,
    close: async () => {
      await server.close();
      await auth.close();
      await runtime.close();
      await db.drop();
    },
  };
}

export async function keyOf(
  runtime: Pick<Runtime, 'store'>,
  roles: readonly Role[],
  name = unique('key'),
): Promise<string> {
  const created = await createKey(runtime.store.keys, {
    name,
    roles,
    createdBy: 'test',
    now: Date.now(),
    expiresAt: null,
  });
  recordCredential(created.key);
  return created.key;
}

/** Call options carrying a key; '' carries no credential at all. */
export function as(key: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}) {
  return key === '' ? options : { headers: { authorization: `Bearer ${key}` }, ...options };
}

let counter = 0;

export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** The refusal a call failed with: its status, stable code (details and trailer) and message. */
export async function refusal(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    const connect = ConnectError.from(error);
    const [detail] = connect.findDetails(ErrorDetailSchema);
    return {
      status: connect.code,
      code: detail?.code,
      trailer: connect.metadata.get('skuld-error-code'),
      message: connect.rawMessage,
      details: detail?.details,
    };
  }
  throw new Error('the call succeeded');
}

/** The contract loaded from its .proto files by @grpc/proto-loader, as a standard client would. */
export function loadContract() {
  const root = join(import.meta.dirname, '..', '..', 'proto');
  const files = [
    'skuld/inventory/v1/inventory_service.proto',
    'grpc/health/v1/health.proto',
    'grpc/reflection/v1/reflection.proto',
  ];
  const definition = protoLoader.loadSync(files, {
    includeDirs: [root],
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition) as unknown as {
    skuld: { inventory: { v1: { InventoryService: grpc.ServiceClientConstructor } } };
    grpc: {
      health: { v1: { Health: grpc.ServiceClientConstructor } };
      reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } };
    };
  };
}

/** A unary call of a grpc-js client as a promise. */
export function unaryCall<T>(
  client: grpc.Client,
  method: string,
  request: object,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const call = (client as unknown as Record<string, grpc.requestCallback<T> & ((...args: unknown[]) => void)>)[
      method
    ];
    if (call === undefined) throw new Error(`no method ${method}`);
    call.call(client, request, metadata, options, (error: grpc.ServiceError | null, response?: T) =>
      error === null ? resolve(response as T) : reject(error),
    );
  });
}

export function bearerMetadata(key: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${key}`);
  return metadata;
}
