import postgres from 'postgres';
import { postgresUrl, testDialects } from './dialects.js';

/** Fails the run at once, naming the service, when a dialect under test has no server. */
export default async function setup(): Promise<void> {
  if (!testDialects().includes('postgres')) return;
  const sql = postgres(postgresUrl, { max: 1, connect_timeout: 5, onnotice: () => undefined });
  try {
    await sql`SELECT 1`;
  } catch (error) {
    throw new Error(
      `PostgreSQL is unreachable at ${postgresUrl} (${(error as Error).message}). ` +
        'Start it, set SKULD_TEST_POSTGRES_URL, or run only SQLite with SKULD_TEST_DIALECTS=sqlite.',
    );
  } finally {
    await sql.end({ timeout: 1 });
  }
}
