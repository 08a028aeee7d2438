import postgres from 'postgres';
import { runMigrations } from '../../../store/migrate.js';
import { createDatabaseIfMissing } from '../../../store/postgres/postgres-database.js';
import { guard } from '../../../store/postgres/postgres-errors.js';
import { postgresMigrationTarget } from '../../../store/postgres/postgres-migrations.js';
import { bigintAsNumber, numbered, type Sql } from '../../../store/postgres/postgres-sql.js';
import { type BulkWrite, bulkWriteSql, type ReadDb, type ReadTx, type ReadValue } from '../read-db.js';
import { postgresReadMigrations } from './postgres-read-migrations.js';

// The read side in a PostgreSQL database of its own (SKULD_READ_DATABASE_URL), created if missing
// as the store creates its own. Several instances may run projectors against it: each page's
// checkpoint is a compare-and-set on the row of the model, taken first in the transaction, so the
// second of two projectors waits for the first, finds the checkpoint moved, and rolls back.

/** Most parameters of one statement: PostgreSQL's protocol counts them in 16 bits. */
const parametersMax = 60_000;
/** Most rows of one multi-row insert: beyond, the statement's text costs more than its round trip saves. */
const rowsPerStatementMax = 1000;

export class PostgresReadDb implements ReadDb {
  readonly dialect = 'postgres' as const;
  private readonly sql: Sql;
  private readonly url: string;

  private constructor(sql: Sql, url: string) {
    this.sql = sql;
    this.url = url;
  }

  static open(url: string, connectionsMax: number): PostgresReadDb {
    const sql = postgres(url, {
      max: connectionsMax,
      onnotice: () => undefined,
      types: { bigint: bigintAsNumber },
    }) as unknown as Sql;
    return new PostgresReadDb(sql, url);
  }

  async migrate(): Promise<void> {
    await guard(async () => {
      await createDatabaseIfMissing(this.sql, this.url);
      await runMigrations(postgresMigrationTarget(this.sql, undefined), postgresReadMigrations);
    });
  }

  transaction<T>(work: (tx: ReadTx) => Promise<T>): Promise<T> {
    return guard(() => this.sql.begin((tx) => work(bound(tx as unknown as Sql))) as Promise<T>);
  }

  read<T>(work: (tx: ReadTx) => Promise<T>): Promise<T> {
    return guard(
      () =>
        this.sql.begin('isolation level repeatable read read only', (tx) =>
          work(bound(tx as unknown as Sql)),
        ) as Promise<T>,
    );
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

/** The statements of one transaction. */
function bound(tx: Sql): ReadTx {
  const run = (sql: string, params: readonly ReadValue[]) =>
    tx.unsafe(numbered(sql), params as (string | number)[], { prepare: true });
  return {
    rows: async <T>(sql: string, params: readonly ReadValue[]) => (await run(sql, params)) as unknown as T[],
    run: async (sql, params) => (await run(sql, params)).count,
    write: async (write: BulkWrite, rows: readonly (readonly ReadValue[])[]) => {
      const perStatement = Math.min(rowsPerStatementMax, Math.floor(parametersMax / write.columns.length));
      for (let start = 0; start < rows.length; start += perStatement) {
        const chunk = rows.slice(start, start + perStatement);
        await run(bulkWriteSql(write, chunk.length), chunk.flat());
      }
    },
  };
}
