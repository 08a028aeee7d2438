import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { type Config, readDatabaseConfig, storeConfig } from '../config.js';
import { PostgresReadDb } from '../events/read-side/postgres/postgres-read-db.js';
import { Projector } from '../events/read-side/projector.js';
import type { ReadDb } from '../events/read-side/read-db.js';
import { ReadSide } from '../events/read-side/read-side.js';
import { claimReadDatabase } from '../events/read-side/read-source.js';
import { SqliteReadDb } from '../events/read-side/sqlite/sqlite-read-db.js';
import type { Log } from '../log.js';
import type { StoreReads } from '../store/port.js';
import { ProjectorThread } from './projector-thread.js';
import { openStore } from './runtime.js';

// Composition of the read side: its database, the projector's thread (SKULD_PROJECTOR) and the
// queries the routes use.

/** Connections of one process to a PostgreSQL read database: the routes' reads, or the projector's pages. */
const readConnectionsMax = 4;

export function openReadDb(config: Config): ReadDb {
  const target = readDatabaseConfig(config);
  return target.kind === 'sqlite'
    ? SqliteReadDb.open(target.path)
    : PostgresReadDb.open(target.url, readConnectionsMax);
}

/**
 * The projector's lease in the store: one name per read database, so that instances sharing a
 * read database (a PostgreSQL one) project by turns, and an instance with a file of its own
 * projects into it alone. A file is named with its machine: another machine's file is another.
 */
export function projectorLeaseName(config: Config): string {
  const target = readDatabaseConfig(config);
  const where = target.kind === 'sqlite' ? `${hostname()}:${target.path}` : target.url;
  return `projector:${createHash('sha256').update(where).digest('hex').slice(0, 16)}`;
}

/** The store a read database follows, as it records it: its dialect and where it is, a hash of both. */
export function storeIdentity(config: Config): string {
  const target = storeConfig(config);
  const where = target.kind === 'sqlite' ? target.path : `${target.url}#${config.databaseSchema}`;
  return `${target.kind}:${createHash('sha256').update(where).digest('hex').slice(0, 16)}`;
}

/** The projector's bounds and defaults, as configured. */
export function projectorSettings(config: Config) {
  return {
    pageEventsMax: config.projectorPageEventsMax,
    snapshotIntervalEvents: config.readSnapshotIntervalEvents,
    lowStockThresholdDefault: config.lowStockThresholdDefault,
  };
}

export interface ReadSideRuntime {
  readonly readSide: ReadSide;
  close(): Promise<void>;
}

/** Opens and migrates the read database, and starts the projector's thread when this process runs one. */
export async function createReadSide(
  config: Config,
  store: StoreReads,
  log: Log,
  clock: () => number,
): Promise<ReadSideRuntime> {
  const readDb = openReadDb(config);
  let thread: ProjectorThread | undefined;
  try {
    await readDb.migrate();
    await claimReadDatabase(readDb, storeIdentity(config), { named: config.readDatabaseUrl !== '', log });
    const readSide = new ReadSide({
      readDb,
      ledger: store,
      waitMsMax: config.readWaitMsMax,
      projecting: config.projector === 'on',
      clock,
    });
    if (config.projector === 'on') {
      thread = await ProjectorThread.start(config, (crossings) => readSide.crossings.emit('crossings', crossings), log);
    }
    return {
      readSide,
      close: async () => {
        await thread?.stop();
        await readDb.close();
      },
    };
  } catch (error) {
    await readDb.close();
    throw error;
  }
}

export interface Projection {
  readonly projector: Projector;
  readonly readSide: ReadSide;
  close(): Promise<void>;
}

/**
 * The projector in this thread, on a migrated store and read database: for `skuld projections`,
 * which rebuilds and reports (a command that does nothing else may block its own thread).
 */
export async function openProjection(config: Config, log: Log): Promise<Projection> {
  const store = openStore(config, log);
  const readDb = openReadDb(config);
  try {
    await store.migrate();
    await readDb.migrate();
    await claimReadDatabase(readDb, storeIdentity(config), { named: config.readDatabaseUrl !== '', log });
  } catch (error) {
    await readDb.close();
    await store.close();
    throw error;
  }
  const projector = new Projector({ ...projectorSettings(config), ledger: store, readDb, log });
  const readSide = new ReadSide({ readDb, ledger: store, waitMsMax: config.readWaitMsMax, projecting: true });
  return {
    projector,
    readSide,
    close: async () => {
      await readDb.close();
      await store.close();
    },
  };
}
