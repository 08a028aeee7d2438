import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { mysqlUrl, onMysqlServer, postgresUrl, testDialects } from './dialects.js';
import { runProblems } from './log-check.js';
import { runDirVariable } from './run-logs.js';

/**
 * Fails the run at once, naming the service, when a dialect under test has no server; makes the
 * folder the run's logs are captured in. Vitest calls it once per project, in one process.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const dialects = testDialects();
  if (dialects.includes('postgres')) await reachPostgres();
  if (dialects.includes('mysql')) await reachMariadb();
  // The read cache's tests need Redis whatever the dialects (and the redlock strategy's, on the row-locking stores).
  await reachRedis();
  process.env[runDirVariable] ??= mkdtempSync(join(tmpdir(), 'skuld-test-run-'));
  return () => checkRunLogs(project);
}

/**
 * At the end of the run, once: fails it if a line it captured holds a credential, or if the
 * authentication suites that ran captured nothing to check. The folder is kept when it fails, or
 * when SKULD_TEST_KEEP_LOGS is set.
 */
function checkRunLogs(project: TestProject): void {
  const runDir = process.env[runDirVariable];
  // Each project's teardown calls this: the first checks, the others find nothing left to check.
  if (runDir === undefined) return;
  delete process.env[runDirVariable];
  const ran = project.vitest.state
    .getFiles()
    .filter((file) => file.result?.state === 'pass' || file.result?.state === 'fail')
    .map((file) => relative(process.cwd(), file.filepath));
  const problems = runProblems(runDir, ran);
  if (problems.length > 0) {
    // Vitest prints an error thrown by a teardown but still exits 0 on it: the exit code fails the run.
    process.exitCode = 1;
    throw new Error(`The run's captured logs (kept in ${runDir}) fail the check:\n${problems.join('\n')}`);
  }
  if (process.env.SKULD_TEST_KEEP_LOGS === undefined) rmSync(runDir, { recursive: true, force: true });
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
