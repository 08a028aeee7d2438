import postgres from 'postgres';
import type { Sql } from './postgres-sql.js';

const undefinedDatabaseCode = '3D000';
/** duplicate_database, or the catalog's unique index when both creations ran at once. */
const createdMeanwhileCodes = new Set(['42P04', '23505']);

/**
 * A missing database fails every connection (3D000), and PostgreSQL has no CREATE DATABASE IF
 * NOT EXISTS: the database is created from the server's maintenance database, `postgres`, as
 * the MySQL store creates its own. Two processes may start at once: the second finds it made.
 * The store and the read side's database (a database of its own) are created alike.
 */
export async function createDatabaseIfMissing(sql: Sql, url: string): Promise<void> {
  try {
    await sql`SELECT 1`;
    return;
  } catch (error) {
    if ((error as { code?: unknown }).code !== undefinedDatabaseCode) throw error;
  }
  const server = postgres(url, { database: 'postgres', max: 1, onnotice: () => undefined });
  try {
    await server`CREATE DATABASE ${server(sql.options.database)}`;
  } catch (error) {
    if (!createdMeanwhileCodes.has((error as { code?: string }).code ?? '')) throw error;
  } finally {
    await server.end();
  }
}
