import { connect, type NatsConnection } from '@nats-io/transport-node';

// The NATS server with JetStream the event suites run against (4222 by default). A suite that
// needs it connects through here and fails at once, naming the server, if it is down.

export const natsUrl = process.env.SKULD_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export async function connectNats(): Promise<NatsConnection> {
  try {
    return await connect({ servers: natsUrl, timeout: 5000, name: 'skuld-test' });
  } catch (error) {
    throw new Error(
      `NATS is unreachable at ${natsUrl} (${(error as Error).message}). ` +
        'Start it with JetStream (-js) or set SKULD_TEST_NATS_URL; the relay tests need it.',
    );
  }
}
