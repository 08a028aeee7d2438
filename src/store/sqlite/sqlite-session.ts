import type Database from 'better-sqlite3';
import type { CommandRecord, Item, Level, Reservation } from '../../domain/index.js';
import { createdFence, type LevelRef, StoreError, type WriteSession, type WriteSet } from '../port.js';
import {
  type CommandRow,
  commandFromRow,
  commandWrites,
  type ItemRow,
  itemFromRow,
  type LevelRow,
  levelFromRow,
  type ReservationRow,
  reservationFromRow,
} from '../rows.js';
import { staleLevel } from './sqlite-errors.js';
import { prepareWriteStatements, type WriteStatements } from './sqlite-sql.js';

/** The write session on the writer connection; its statements are prepared once. */
export class SqliteSession implements WriteSession {
  private readonly statements: WriteStatements;

  constructor(db: Database.Database) {
    this.statements = prepareWriteStatements(db);
  }

  async loadItems(skus: readonly string[]): Promise<Map<string, Item>> {
    const items = new Map<string, Item>();
    for (const sku of skus) {
      const row = this.statements.item.get(sku) as ItemRow | undefined;
      if (row !== undefined) items.set(sku, itemFromRow(row));
    }
    return items;
  }

  async loadReservations(ids: readonly string[]): Promise<Map<string, Reservation>> {
    const reservations = new Map<string, Reservation>();
    for (const id of ids) {
      const row = this.statements.reservation.get(id) as ReservationRow | undefined;
      if (row !== undefined) reservations.set(id, reservationFromRow(row));
    }
    return reservations;
  }

  async lockLevels(keys: readonly LevelRef[]): Promise<Level[]> {
    // The write lock of BEGIN IMMEDIATE covers every row: there is nothing more to lock.
    const levels: Level[] = [];
    for (const key of keys) {
      const row = this.statements.level.get(key.sku, key.location) as LevelRow | undefined;
      if (row !== undefined) levels.push(levelFromRow(row));
    }
    return levels;
  }

  async readLevels(keys: readonly LevelRef[]): Promise<Level[]> {
    return this.lockLevels(keys);
  }

  async loadCommands(ids: readonly string[]): Promise<Map<string, CommandRecord>> {
    const records = new Map<string, CommandRecord>();
    for (const id of ids) {
      const row = this.statements.command.get(id) as CommandRow | undefined;
      if (row !== undefined) records.set(id, commandFromRow(row));
    }
    return records;
  }

  async claimPositions(count: number): Promise<number> {
    const head = this.statements.claim.pluck().get(count) as number;
    return head - count + 1;
  }

  async write(set: WriteSet): Promise<void> {
    const s = this.statements;
    for (const item of set.items) {
      s.insertItem.run(item.sku, item.name, item.allowBackorder ? 1 : 0, item.createdAt, item.lowStockThreshold);
    }
    const guard = set.levelGuard;
    for (const l of set.levels) {
      if (l.previousVersion === null) {
        s.insertLevel.run(l.sku, l.location, l.onHand, l.reserved, l.incoming, l.version, createdFence(guard));
        continue;
      }
      if (guard.kind === 'locked') {
        if (s.updateLevel.run(l.onHand, l.reserved, l.incoming, l.version, l.sku, l.location).changes !== 1) {
          throw new StoreError('internal', `level ${l.sku}@${l.location} was changed but has no row`);
        }
        continue;
      }
      // Without a fence the row keeps its own, and the fence check always passes.
      const swapped = s.swapLevel.run(
        l.onHand,
        l.reserved,
        l.incoming,
        l.version,
        guard.fence ?? 0,
        l.sku,
        l.location,
        l.previousVersion,
        guard.fence ?? Number.MAX_SAFE_INTEGER,
      );
      if (swapped.changes !== 1) throw staleLevel(l, guard);
    }
    for (const r of set.updatedReservations) {
      if (s.updateReservation.run(r.status, JSON.stringify(r.lines), r.resolvedAt, r.id).changes !== 1) {
        throw new StoreError('internal', `reservation ${r.id} was changed but has no row`);
      }
    }
    for (const e of set.events) {
      s.insertEvent.run(
        e.position,
        e.type,
        e.sku,
        e.location,
        e.onHandDelta,
        e.reservedDelta,
        e.onHandAfter,
        e.reservedAfter,
        e.quantity,
        e.commandId,
        e.reservationId,
        e.expiresAt,
        e.peerLocation,
        e.reason,
        e.reference,
        e.actor,
        e.occurredAt,
        e.recordedAt,
        e.streamVersion,
        e.attributes === null ? null : JSON.stringify(e.attributes),
        e.incomingDelta,
        e.incomingAfter,
      );
    }
    for (const { record: c, reservation: r } of commandWrites(set)) {
      const lines = r === undefined ? null : JSON.stringify(r.lines);
      s.insertCommand.run(
        c.id,
        c.type,
        c.fingerprint,
        JSON.stringify(c.outcome),
        c.recordedAt,
        r?.status ?? null,
        lines,
        r?.createdAt ?? null,
        r?.expiresAt ?? null,
        r?.resolvedAt ?? null,
      );
    }
  }
}
