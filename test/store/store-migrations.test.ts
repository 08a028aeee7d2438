import { afterEach, describe, expect, it } from 'vitest';
import type { Reservation } from '../../src/domain/index.js';
import type { Migration } from '../../src/store/migrate.js';
import { mysqlMigrations } from '../../src/store/mysql/mysql-migrations.js';
import type { Dialect, Store } from '../../src/store/port.js';
import { postgresMigrations } from '../../src/store/postgres/postgres-migrations.js';
import { sqliteMigrations } from '../../src/store/sqlite/sqlite-migrations.js';
import { createTestDatabase, type TestDatabase, testDialects } from '../support/dialects.js';

// A database of an earlier layout, with data in it, migrated by the current store: nothing of
// what it held is lost or changes meaning.

const migrations: Readonly<Record<Dialect, readonly Migration[]>> = {
  sqlite: sqliteMigrations,
  postgres: postgresMigrations,
  mysql: mysqlMigrations,
};

/** The stores' own table of applied migrations, as each creates it. */
const migrationsTable: Readonly<Record<Dialect, string>> = {
  sqlite:
    'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  postgres:
    'CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
  mysql:
    'CREATE TABLE schema_migrations (version INT PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL) ENGINE = InnoDB',
};

/** Applies the migrations up to `version` by hand, as an earlier Skuld would have. */
async function migrateTo(db: TestDatabase, version: number): Promise<void> {
  if (db.dialect === 'postgres') await db.exec(`CREATE SCHEMA ${db.env.SKULD_DATABASE_SCHEMA}`);
  await db.exec(migrationsTable[db.dialect]);
  for (const migration of migrations[db.dialect].filter((m) => m.version <= version)) {
    // One statement per call: the MySQL helper sends no more.
    for (const statement of migration.sql.split(';').filter((s) => s.trim() !== '')) await db.exec(statement);
    await db.exec(
      `INSERT INTO schema_migrations (version, name, applied_at) VALUES (${migration.version}, 'v${migration.version}', 0)`,
    );
  }
}

const lines = [{ sku: 'A', location: 'L1', quantity: 2, committed: null }];
const pending: Reservation = {
  id: 'R-old',
  status: 'pending',
  lines,
  createdAt: 100,
  expiresAt: 500,
  resolvedAt: null,
};
const done: Reservation = {
  id: 'R-done',
  status: 'committed',
  lines: [{ ...lines[0], committed: 2 } as Reservation['lines'][number]],
  createdAt: 100,
  expiresAt: 500,
  resolvedAt: 200,
};
const orphan: Reservation = { ...pending, id: 'R-orphan' };
const created = (id: string, position: number) => ({ ok: true, commandId: id, position, created: 'reservation' });

describe.each(testDialects())('migrations on %s', (dialect) => {
  let db: TestDatabase | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await db?.drop();
  });

  it('moves each reservation of the two-table layout into the row of the command that created it', async () => {
    db = await createTestDatabase(dialect);
    await migrateTo(db, 2);
    const linesColumn = dialect === 'mysql' ? '`lines`' : 'lines';
    const reservationRow = (r: Reservation) =>
      `('${r.id}', '${r.status}', '${JSON.stringify(r.lines)}', ${r.createdAt}, ${r.expiresAt}, ${r.resolvedAt ?? 'NULL'})`;
    await db.exec(
      `INSERT INTO reservations (id, status, ${linesColumn}, created_at, expires_at, resolved_at) VALUES ` +
        [pending, done, orphan].map(reservationRow).join(', '),
    );
    const commandRow = (id: string, type: string, outcome: object) =>
      `('${id}', '${type}', 'fp-${id}', '${JSON.stringify(outcome)}', 1000)`;
    await db.exec(
      'INSERT INTO commands (id, type, fingerprint, outcome, recorded_at) VALUES ' +
        [
          commandRow('R-old', 'ReserveStock', created('R-old', 3)),
          commandRow('R-done', 'ReserveStock', created('R-done', 4)),
          commandRow('C-old', 'ReceiveStock', {
            ok: true,
            commandId: 'C-old',
            value: { kind: 'levels', levels: [] },
            position: 1,
          }),
        ].join(', '),
    );

    store = db.open();
    await store.migrate();
    expect(await store.getReservation('R-old')).toEqual(pending);
    expect(await store.getReservation('R-done')).toEqual(done);
    expect(await store.getReservation('R-orphan')).toEqual(orphan);
    expect(await store.getReservation('C-old')).toBeUndefined();
    expect(await store.getCommand('R-old')).toMatchObject({
      type: 'ReserveStock',
      fingerprint: 'fp-R-old',
      outcome: created('R-old', 3),
    });
    expect(await store.getCommand('C-old')).toMatchObject({ type: 'ReceiveStock', fingerprint: 'fp-C-old' });
    // The orphan's record matches no payload: a resend under its id is a conflict, not a second hold.
    expect(await store.getCommand('R-orphan')).toMatchObject({
      type: 'ReserveStock',
      fingerprint: '',
      outcome: created('R-orphan', 0),
    });
    expect(await store.dueReservations(600, 10)).toEqual(['R-old', 'R-orphan']);
    expect((await store.scanPendingReservations(undefined, 10)).map((r) => r.id)).toEqual(['R-old', 'R-orphan']);
    // Migrating again changes nothing.
    await store.migrate();
    expect(await store.getReservation('R-done')).toEqual(done);
  });
});
