import { Redis } from 'ioredis';
import postgres from 'postgres';
import { mysqlUrl, onMysqlServer, postgresUrl, testDialects } from './dialects.js';

/** Fails the run at once, naming the service, when a dialect under test has no server. */
export default async function setup(): Promise<void> {
  const dialects = testDialects();
  if (dialects.includes('postgres')) await reachPostgres();
  if (dialects.includes('mysql')) await reachMariadb();
  // The read cache's tests need Redis whatever the dialects (and the redlock strategy's, on the row-locking stores).
  await reachRedis();
}

export const redisUrl = process.env.SKULD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function reachRedis(): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(
      `Redis is unreachable at ${redisUrl} (${(error as Error).message}). ` +
        'Start it or set SKULD_TEST_REDIS_URL; the read cache and redlock strategy tests need it.',
    );
  } finally {
    redis.disconnect();
  }
}

async function reachPostgres(): Promise<void> {
  const sql = postgres(postgresUrl, { max: 1, connect_timeout: 5, onnotice: () => undefined });
  try {
    await sql`SELECT 1`;
  } catch (error) {
    throw unreachable('PostgreSQL', postgresUrl, 'SKULD_TEST_POSTGRES_URL', error);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function reachMariadb(): Promise<void> {
  try {
    await onMysqlServer('SELECT 1');
  } catch (error) {
    throw unreachable('MariaDB (or MySQL)', mysqlUrl, 'SKULD_TEST_MYSQL_URL', error);
  }
}

function unreachable(service: string, url: string, variable: string, error: unknown): Error {
  return new Error(
    `${service} is unreachable at ${url} (${(error as Error).message}). ` +
      `Start it, set ${variable}, or choose the dialects to test with SKULD_TEST_DIALECTS (e.g. sqlite).`,
  );
}
