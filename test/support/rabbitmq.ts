import { Connection } from 'rabbitmq-client';

// The RabbitMQ the event suites run against: the real broker (guest/guest on 5672 by default).
// A suite that needs it connects through here and fails at once, naming the broker, if it is down.

export const rabbitmqUrl = process.env.SKULD_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A connection to the broker under test, or an error that says where it was looked for. */
export async function connectRabbitmq(): Promise<Connection> {
  const connection = new Connection({ url: rabbitmqUrl, connectionName: 'skuld-test' });
  connection.on('error', () => undefined);
  try {
    await connection.onConnect(5000, true);
  } catch (error) {
    await connection.close();
    throw new Error(
      `RabbitMQ is unreachable at ${rabbitmqUrl} (${(error as Error).message}). ` +
        'Start it or set SKULD_TEST_AMQP_URL; the returns queue tests need it.',
    );
  }
  return connection;
}
