import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { Code, ConnectError } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { ApiRuntime } from '../api/commands.js';
import type { Log } from '../log.js';
import { grpcMetricsInterceptor } from '../metrics/grpc-metrics.js';
import { InventoryService } from './gen/skuld/inventory/v1/inventory_service_pb.js';
import { accessInterceptor, callValues, checkRpcsDeclared, type GrpcAuth } from './grpc-access.js';
import { Health, healthService } from './health.js';
import { inventoryService } from './inventory-service.js';
import { reflected, reflectionServices, ServerReflection, ServerReflectionAlpha } from './reflection.js';

// The gRPC server: HTTP/2 on a port of its own (gRPC needs HTTP/2, which the HTTP API's port does
// not speak without TLS), on the same runtime as the HTTP API: one engine, one read cache, one
// store. It speaks gRPC (and Connect and gRPC-Web, which come with the same handler).

export interface GrpcServerOptions {
  readonly runtime: ApiRuntime;
  /** The HTTP API's authenticator and rate limits: one budget per principal across both. */
  readonly auth: GrpcAuth;
  readonly log: Log;
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  /** TLS with this certificate chain and key (PEM); absent: plaintext HTTP/2 (h2c). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
}

export interface GrpcServer {
  /** `http://host:port` (or https). */
  readonly url: string;
  readonly port: number;
  /** Stops taking calls, lets the calls in progress finish (WatchEvents streams end), then closes. */
  close(): Promise<void>;
}

/**
 * A PING on every connection this often: a peer that is gone is found and its connection closed
 * (a missing ack fails the ping), and proxies see traffic on a connection that only waits for
 * WatchEvents. An idle connection is otherwise never closed by the server: closing it sends a
 * GOAWAY that some clients handle badly (connect-es #1768).
 */
const keepalivePingMs = 30_000;
/** How long a closing server waits for the calls in progress before it ends them with UNAVAILABLE. */
const closeGraceMs = 5_000;

export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  checkRpcsDeclared();
  const { runtime, auth, log } = options;
  const services = [InventoryService.typeName];
  const reflection = reflectionServices(reflected([InventoryService, Health, ServerReflection]));
  // Ends the WatchEvents streams when the server closes; `shutdown` ends whatever outlives the grace.
  const closing = new AbortController();
  const shutdown = new AbortController();
  const handler = connectNodeAdapter({
    routes(router) {
      router.service(InventoryService, inventoryService(runtime, auth, closing.signal));
      router.service(
        Health,
        healthService(services, () => runtime.engine.stopped === undefined),
      );
      router.service(ServerReflection, reflection.v1);
      router.service(ServerReflectionAlpha, reflection.v1alpha);
    },
    interceptors: [grpcMetricsInterceptor(runtime.metrics), accessInterceptor(auth)],
    contextValues: callValues,
    shutdownSignal: shutdown.signal,
    // One message is at most as large as an HTTP request body may be.
    readMaxBytes: runtime.config.bodyLimitBytes,
  });
  const server =
    options.tls === undefined
      ? http2.createServer(handler)
      : http2.createSecureServer({ cert: options.tls.cert, key: options.tls.key }, handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (session) => keepAlive(session, sessions, log));
  server.on('sessionError', (error) => log.warn({ cause: error.message }, 'gRPC: a connection failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const scheme = options.tls === undefined ? 'http' : 'https';
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `${scheme}://${host}:${port}`,
    port,
    close: () => closeServer(server, { sessions, sockets }, closing, shutdown),
  };
}

function keepAlive(session: http2.ServerHttp2Session, sessions: Set<http2.ServerHttp2Session>, log: Log): void {
  sessions.add(session);
  const timer = setInterval(() => {
    if (session.closed || session.destroyed) return;
    session.ping((error) => {
      if (error !== null && !session.destroyed) session.destroy();
    });
  }, keepalivePingMs);
  timer.unref();
  session.on('error', (error) => log.warn({ cause: error.message }, 'gRPC: a connection failed'));
  session.once('close', () => {
    clearInterval(timer);
    sessions.delete(session);
  });
}

async function closeServer(
  server: http2.Http2Server | http2.Http2SecureServer,
  { sessions, sockets }: { sessions: Set<http2.ServerHttp2Session>; sockets: Set<Socket> },
  closing: AbortController,
  shutdown: AbortController,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  closing.abort();
  // A GOAWAY on each connection: no new call, the calls in progress go on to their end.
  for (const session of sessions) session.close();
  const grace = setTimeout(() => {
    shutdown.abort(new ConnectError('the server is shutting down', Code.Unavailable));
    for (const session of sessions) session.destroy();
    // A session's socket can outlive its destruction (a stream the peer reset): the server's
    // close waits for every socket.
    for (const socket of sockets) socket.destroy();
  }, closeGraceMs);
  await closed;
  clearTimeout(grace);
}
