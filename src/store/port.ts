import type { CommandRecord, Item, LedgerEvent, Level, Reservation, StockLine } from '../domain/index.js';

// The store port. Every adapter (one folder per database, same file set) implements it and
// passes the one contract suite in test/store/. Driver errors never cross this boundary: the
// adapters turn them into StoreError.

export type Dialect = 'sqlite' | 'postgres' | 'mysql';

export type LevelRef = Pick<StockLine, 'sku' | 'location'>;

/**
 * A changed level and the version it had when the transaction read it, or null when it had no
 * row: the write creates it. A level gets a row only when a change is written to it, so a
 * refused command leaves none behind. Creating a row that a concurrent writer created first is a
 * retryable conflict (a unique violation), never a silent overwrite.
 */
export interface LevelWrite extends Level {
  readonly previousVersion: number | null;
}

/**
 * How the level writes of a transaction are guarded. `locked`: the transaction holds the rows'
 * locks, so a row that does not match is a bug. `version`: the rows were read without locks and
 * each write is a compare-and-set on the version read (and, with a fence, on a fencing token
 * newer than the last one written); a miss is a retryable conflict.
 */
export type LevelGuard = { readonly kind: 'locked' } | { readonly kind: 'version'; readonly fence?: number };

/** The fencing token a row created under the guard starts with: the writer's, or none (0). */
export function createdFence(guard: LevelGuard): number {
  return guard.kind === 'version' ? (guard.fence ?? 0) : 0;
}

/** Conflict codes of guarded level writes. */
export const staleLevelCode = 'VERSION_CONFLICT';
export const fencedCode = 'FENCED';

/** Everything one batch writes, in ONE transaction. */
export interface WriteSet {
  readonly items: readonly Item[];
  /** Final state of every level the batch changed: rows read are updated, the others created. */
  readonly levels: readonly LevelWrite[];
  readonly levelGuard: LevelGuard;
  /** Reservations that did not exist before the batch, in their state after it. */
  readonly createdReservations: readonly Reservation[];
  /** Reservations that existed and changed (status, committed quantities). */
  readonly updatedReservations: readonly Reservation[];
  /** Positioned events, from the first claimed position on, in order. */
  readonly events: readonly LedgerEvent[];
  readonly commands: readonly CommandRecord[];
}

/**
 * The write transaction, step by step, in the order the engine calls it. Locks are taken in
 * one global order: level rows sorted by (item, location), then the ledger head, so no two
 * writers, in one process or many, ever wait on each other in a cycle.
 */
export interface WriteSession {
  /** Immutable once created, so safe to read before any lock. */
  loadItems(skus: readonly string[]): Promise<Map<string, Item>>;
  /** Lines are immutable; the status read before locks is re-read after them. */
  loadReservations(ids: readonly string[]): Promise<Map<string, Reservation>>;
  /**
   * Locks existing rows of the sorted keys in that order and returns them. A key without a row
   * takes no lock: the levels it creates are inserted by write(), after claimPositions, so
   * creations are serialized by the ledger head and a concurrent creation of the same row fails
   * as a unique violation (a retryable conflict).
   */
  lockLevels(keys: readonly LevelRef[]): Promise<Level[]>;
  /** Reads existing rows of the keys without locking them (compare-and-set write paths). */
  readLevels(keys: readonly LevelRef[]): Promise<Level[]>;
  loadCommands(ids: readonly string[]): Promise<Map<string, CommandRecord>>;
  /**
   * Locks the ledger head and reserves `count` positions; returns the first. The head stays
   * locked until commit, so positions are gap-free and in commit order: a reader tailing the
   * ledger by position can never see position n+1 before n is visible.
   */
  claimPositions(count: number): Promise<number>;
  write(set: WriteSet): Promise<void>;
}

/** What a store offers the write strategies: they ask this, never which database it is. */
export interface StoreCapabilities {
  /** Row locks that other writers wait on (SELECT … FOR UPDATE), so writers of other levels run side by side. */
  readonly rowLocks: boolean;
  /** Write transactions may be in flight at once, from this process or from others. */
  readonly concurrentWriters: boolean;
}

/** What an event says of its stream's balances: all a fold of the ledger needs. */
export type LedgerBalance = Pick<
  LedgerEvent,
  | 'position'
  | 'sku'
  | 'location'
  | 'streamVersion'
  | 'onHandDelta'
  | 'reservedDelta'
  | 'incomingDelta'
  | 'onHandAfter'
  | 'reservedAfter'
  | 'incomingAfter'
>;

/** A stored API key: everything but the key itself, of which only a hash is kept. */
export interface ApiKeyRecord {
  /** Public: it names the key in lists and logs, and is part of the key. */
  readonly id: string;
  readonly name: string;
  /** SHA-256 of the whole key, hex. */
  readonly hash: string;
  readonly roles: readonly string[];
  readonly createdAt: number;
  readonly createdBy: string;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
  readonly revokedBy: string | null;
}

/** A change to credentials, recorded in the same transaction as the change. */
export interface AuditEvent {
  readonly id: string;
  readonly at: number;
  readonly actor: string;
  readonly action: 'key.created' | 'key.revoked';
  /** The key's id. */
  readonly subject: string;
  readonly detail: string;
}

/** Most keys a list returns: keys are few (one per service, team or scanner fleet). */
export const keysListMax = 10_000;

/** Where API keys and the record of their changes live: a table of their own in every store. */
export interface KeyStore {
  /** Writes the key and its audit event in one transaction. */
  createKey(record: ApiKeyRecord, audit: AuditEvent): Promise<void>;
  getKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** Every key, revoked and expired ones too, oldest first (at most keysListMax). */
  listKeys(): Promise<ApiKeyRecord[]>;
  /** Keys ever created, revoked ones included. */
  countKeys(): Promise<number>;
  /** Revokes a live key and records it; false when there is no such key or it was revoked already. */
  revokeKey(id: string, at: number, by: string, audit: AuditEvent): Promise<boolean>;
  /** Records a use, unless one at or after `notBefore` is recorded already (uses are recorded coarsely). */
  touchKey(id: string, at: number, notBefore: number): Promise<void>;
  /** Audit events after a time, oldest first. */
  auditEvents(afterAt: number, limit: number): Promise<AuditEvent[]>;
}

/** What a reconciliation report is about: a count sheet's import, or a verify run. */
export type ReportKind = 'count-sheet' | 'verify';

/** A report as listed: what it is, when and by whom, and how many findings it has. */
export interface ReportSummary {
  /** Starts with its creation time, so that ids sort as reports were made. */
  readonly id: string;
  readonly kind: ReportKind;
  readonly createdAt: number;
  readonly actor: string;
  /** Discrepancies and refused lines of a sheet; mismatches of a verify run. */
  readonly findings: number;
  /** One line for people. */
  readonly summary: string;
}

export interface ReconciliationReport extends ReportSummary {
  /** The whole report (JSON), as its kind defines it. */
  readonly body: unknown;
}

/** Where reconciliation reports live: a table of their own in every store. */
export interface ReportStore {
  saveReport(report: ReconciliationReport): Promise<void>;
  getReport(id: string): Promise<ReconciliationReport | undefined>;
  /** Newest first, those with an id before `beforeId` when one is given. */
  listReports(beforeId: string | undefined, limit: number): Promise<ReportSummary[]>;
}

/**
 * A lease on a job that runs in one instance at a time across all of them, with the job's
 * checkpoint (a ledger position).
 */
export interface Lease {
  readonly name: string;
  readonly holder: string;
  /** Epoch ms; 0 once released. */
  readonly expiresAt: number;
  readonly position: number;
}

/** Where leases live: a table of their own in every store. */
export interface LeaseStore {
  /**
   * Takes the lease if it is free or expired at `now`, or renews it if `holder` has it, until
   * `until`. True when `holder` holds it afterwards.
   */
  acquire(name: string, holder: string, now: number, until: number): Promise<boolean>;
  /** Gives the lease up, so that another instance takes it at once; the checkpoint stays. */
  release(name: string, holder: string): Promise<void>;
  get(name: string): Promise<Lease | undefined>;
  /**
   * Moves the checkpoint to `position`, only while `holder` holds an unexpired lease and never
   * backwards: false when it does not, and the caller has lost the lease.
   */
  advance(name: string, holder: string, now: number, position: number): Promise<boolean>;
}

/** An inventory instance as its heartbeats record it. */
export interface InstanceRecord {
  readonly id: string;
  readonly httpUrl: string;
  readonly grpcUrl: string | null;
  readonly startedAt: number;
  /** Epoch ms of its latest heartbeat. */
  readonly lastSeenAt: number;
}

/** Where the instances sharing a store say they are alive: a small table in every store. */
export interface InstanceStore {
  /** Records a heartbeat: the instance's row, created on its first. */
  beat(instance: InstanceRecord): Promise<void>;
  /** The instances, most recently seen first, at most `limit`. */
  list(limit: number): Promise<InstanceRecord[]>;
  /** Deletes the instances last seen before `seenBefore`; returns how many. */
  forget(seenBefore: number): Promise<number>;
  /** Deletes one instance's row: it stopped on purpose. */
  remove(id: string): Promise<void>;
}

/** Pending reservations, as a gauge reads them: a bounded count and the oldest expiry. */
export interface PendingReservations {
  /** Pending reservations, counted up to the bound asked for. */
  readonly count: number;
  /** The earliest expiry among them; null when there are none. */
  readonly oldestExpiresAt: number | null;
}

/** What the swap of a rebuild found and did. */
export interface RebuildSwap {
  /** The ledger's head the levels now reflect. */
  readonly head: number;
  /** Events committed while the levels were being rebuilt, folded in under the swap's locks. */
  readonly tailEvents: number;
  readonly updated: number;
  readonly inserted: number;
  readonly deleted: number;
}

/**
 * `skuld rebuild`'s side of a store: levels rebuilt from the ledger go to a table of their own
 * while the service runs, then are swapped in by one transaction that no batch runs beside.
 */
export interface LevelRebuildStore {
  /** Empties the rebuild table. */
  clear(): Promise<void>;
  /** Adds rebuilt levels to it. */
  add(levels: readonly Level[]): Promise<void>;
  /**
   * Holding every level and the ledger head: hands `finish` the events after `through` (those
   * committed since the rebuild read the ledger), writes the levels it returns to the rebuild
   * table, then makes the levels equal to that table.
   */
  swap(through: number, finish: (tail: readonly LedgerEvent[]) => readonly Level[]): Promise<RebuildSwap>;
}

/** A read and the ledger position it reflects: every event up to it, none after. */
export interface StockAt<T> {
  readonly position: number;
  readonly value: T;
}

export interface Store {
  readonly dialect: Dialect;
  readonly capabilities: StoreCapabilities;
  readonly keys: KeyStore;
  readonly leases: LeaseStore;
  readonly instances: InstanceStore;
  readonly rebuild: LevelRebuildStore;
  readonly reports: ReportStore;
  migrate(): Promise<void>;
  writeTransaction<T>(work: (session: WriteSession) => Promise<T>): Promise<T>;

  getItem(sku: string): Promise<Item | undefined>;
  listItems(afterSku: string | undefined, limit: number): Promise<Item[]>;
  itemLevels(sku: string): Promise<Level[]>;
  locationLevels(location: string, afterSku: string | undefined, limit: number): Promise<Level[]>;
  getReservation(id: string): Promise<Reservation | undefined>;
  getCommand(id: string): Promise<CommandRecord | undefined>;
  /** Events with position > after, ascending. */
  readLedger(after: number, limit: number): Promise<LedgerEvent[]>;
  /** The same events' balances only: what a fold of the whole ledger reads (verify, rebuild). */
  readBalances(after: number, limit: number): Promise<LedgerBalance[]>;
  itemHistory(sku: string, after: number, limit: number): Promise<LedgerEvent[]>;
  headPosition(): Promise<number>;
  /** Pending reservations counted up to `countMax` (a bounded read of the due index), and the oldest expiry. */
  pendingReservations(countMax: number): Promise<PendingReservations>;
  /**
   * An item and its levels with the ledger position they reflect, read in one statement (one
   * snapshot): what a cache loads for a key. `item` is undefined when no such item is registered.
   */
  itemStockAt(sku: string): Promise<StockAt<{ item: Item | undefined; levels: Level[] }>>;
  /** A location's page of levels (as `locationLevels`) with the position it reflects, in one statement. */
  locationLevelsAt(location: string, afterSku: string | undefined, limit: number): Promise<StockAt<Level[]>>;
  /** Ids of pending reservations due at `now`, oldest first. */
  dueReservations(now: number, limit: number): Promise<string[]>;

  /** For verify: levels in key order after the given key. */
  scanLevels(after: LevelRef | undefined, limit: number): Promise<Level[]>;
  scanPendingReservations(afterId: string | undefined, limit: number): Promise<Reservation[]>;

  close(): Promise<void>;
}

/** The reads of the Store port: what the read side (the API, a cache) may use of a store. */
export type StoreReads = Pick<
  Store,
  | 'getItem'
  | 'listItems'
  | 'itemLevels'
  | 'locationLevels'
  | 'getReservation'
  | 'getCommand'
  | 'readLedger'
  | 'readBalances'
  | 'itemHistory'
  | 'headPosition'
  | 'itemStockAt'
  | 'locationLevelsAt'
  | 'dueReservations'
  | 'scanLevels'
  | 'scanPendingReservations'
>;

export type StoreErrorKind = 'conflict' | 'unavailable' | 'internal';

/**
 * What a retryable conflict was, the same on every database: each dialect's error translation
 * names it beside the database's own code, so that metrics count conflicts by a small, fixed set
 * and no driver code leaves the adapter's folder to be interpreted elsewhere.
 */
export const conflictKinds = [
  'deadlock',
  'lock_timeout',
  'unique_violation',
  'serialization_failure',
  'version_conflict',
] as const;
export type ConflictKind = (typeof conflictKinds)[number];

export interface StoreErrorOptions {
  readonly cause?: unknown;
  readonly code?: string | undefined;
  /** For a `conflict`: which kind; one is required of every conflict (see conflictOf). */
  readonly conflict?: ConflictKind | undefined;
}

/** The only error an adapter lets out. `conflict` is safe to retry as a whole transaction. */
export class StoreError extends Error {
  readonly kind: StoreErrorKind;
  readonly code: string | undefined;
  readonly conflict: ConflictKind | undefined;
  constructor(kind: StoreErrorKind, message: string, options?: StoreErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.kind = kind;
    this.code = options?.code;
    this.conflict = options?.conflict;
  }
}

/** A retryable conflict of the given kind (the database's own code beside it, for the log). */
export function conflictError(
  conflict: ConflictKind,
  message: string,
  options: { cause?: unknown; code?: string | undefined } = {},
): StoreError {
  return new StoreError('conflict', message, { ...options, conflict });
}
