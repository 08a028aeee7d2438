import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Health, HealthCheckResponse_ServingStatus as Status } from '../../src/grpc/gen/grpc/health/v1/health_pb.js';
import type { EngineThread } from '../../src/thread/engine-thread.js';
import { as, type GrpcApi, startGrpc, unique } from './harness.js';

// A load balancer or a client pool asks the standard health service where to send calls. An
// instance whose write path has stopped (its engine thread died) must say NOT_SERVING, to a Check
// and to a Watch already open, so callers go to another instance; its reads still answer.

const service = 'skuld.inventory.v1.InventoryService';

describe('the gRPC health service when the write path stops', () => {
  let api: GrpcApi;
  let health: ReturnType<typeof createClient<typeof Health>>;

  beforeAll(async () => {
    // No cache in front: the runtime's engine is the engine thread itself.
    api = await startGrpc('sqlite', { SKULD_ENGINE_THREAD: 'on', SKULD_CACHE: 'off' });
    health = createClient(Health, createGrpcTransport({ baseUrl: api.server.url }));
  });
  afterAll(async () => api?.close());

  it('turns SERVING to NOT_SERVING for Check and Watch, while reads still answer', async () => {
    expect((await health.check({ service: '' })).status).toBe(Status.SERVING);
    expect((await health.check({ service })).status).toBe(Status.SERVING);
    const watching = new AbortController();
    const seen: Status[] = [];
    const watched = (async () => {
      for await (const change of health.watch({ service }, { signal: watching.signal })) {
        seen.push(change.status);
        if (change.status === Status.NOT_SERVING) return;
      }
    })();
    const sku = unique('SKU');
    await api.client.registerItem({ id: unique('reg'), sku }, as(api.adminKey));

    // The worker is stopped from outside, as a crash of its thread would stop it.
    const thread = api.runtime.engine as EngineThread;
    await (thread as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    expect(thread.stopped).toMatch(/engine thread/);

    expect((await health.check({ service: '' })).status).toBe(Status.NOT_SERVING);
    expect((await health.check({ service })).status).toBe(Status.NOT_SERVING);
    await watched;
    watching.abort();
    expect(seen).toEqual([Status.SERVING, Status.NOT_SERVING]);
    const refused = await api.client
      .receiveStock({ id: unique('rcv'), sku, location: 'WH1', quantity: 1n }, as(api.adminKey))
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 14 });
    expect((await api.client.getItem({ sku }, as(api.adminKey))).item?.sku).toBe(sku);
  });
});
