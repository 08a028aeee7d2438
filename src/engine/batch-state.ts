import {
  type CommandRecord,
  type EventDraft,
  emptyLevel,
  evolveLevel,
  evolveReservation,
  type Item,
  type Level,
  levelKey,
  type Reservation,
  type StockView,
} from '../domain/index.js';
import type { LevelRef, LevelWrite } from '../store/port.js';

/**
 * The state one batch decides against: the rows locked for it, plus every change decided so far
 * in the batch, so command n sees the effects of commands 1..n-1. It remembers what changed.
 */
export class BatchState implements StockView {
  private readonly items: Map<string, Item>;
  private readonly levels = new Map<string, Level>();
  /** Every level the batch locked or read, by key; a key outside it was never loaded, so it is unknown. */
  private readonly loaded: ReadonlyMap<string, LevelRef>;
  /** Events applied to each changed level: its version must step by exactly these. */
  private readonly eventsOn = new Map<string, number>();
  private readonly reservations: Map<string, Reservation>;
  private readonly records: Map<string, CommandRecord>;
  private readonly newItems: Item[] = [];
  private readonly dirtyLevels = new Set<string>();
  private readonly dirtyReservations = new Set<string>();
  private readonly storedReservations: ReadonlySet<string>;
  private readonly readVersions = new Map<string, number>();

  constructor(
    items: Map<string, Item>,
    loaded: ReadonlyMap<string, LevelRef>,
    levels: readonly Level[],
    reservations: Map<string, Reservation>,
    records: Map<string, CommandRecord>,
  ) {
    this.items = items;
    this.loaded = loaded;
    for (const level of levels) {
      const key = levelKey(level.sku, level.location);
      this.levels.set(key, level);
      this.readVersions.set(key, level.version);
    }
    this.reservations = reservations;
    this.storedReservations = new Set(reservations.keys());
    this.records = records;
  }

  item(sku: string): Item | undefined {
    return this.items.get(sku);
  }

  level(sku: string, location: string): Level {
    return this.levelAt(levelKey(sku, location), sku, location);
  }

  /**
   * The level under a key already built (apply builds it once per event). A key the batch did
   * not load has no row only if it was loaded and found missing; any other key would be decided
   * from zero and overwrite real stock, so it is a bug that stops the batch.
   */
  private levelAt(key: string, sku: string, location: string): Level {
    const level = this.levels.get(key);
    if (level !== undefined) return level;
    if (!this.loaded.has(key)) throw new Error(`write path invariant: level ${key} was read but never loaded`);
    return emptyLevel(sku, location);
  }

  reservation(id: string): Reservation | undefined {
    return this.reservations.get(id);
  }

  record(commandId: string): CommandRecord | undefined {
    return this.records.get(commandId);
  }

  addRecord(record: CommandRecord): void {
    this.records.set(record.id, record);
  }

  addItem(item: Item): void {
    this.items.set(item.sku, item);
    this.newItems.push(item);
  }

  apply(event: EventDraft): void {
    // An item's own stream has no level; the item itself is added by addItem.
    if (event.type === 'ItemRegistered') return;
    const key = levelKey(event.sku, event.location);
    this.levels.set(key, evolveLevel(this.levelAt(key, event.sku, event.location), event));
    this.dirtyLevels.add(key);
    this.eventsOn.set(key, (this.eventsOn.get(key) ?? 0) + 1);
    if (event.reservationId !== null) {
      const next = evolveReservation(this.reservations.get(event.reservationId), event);
      if (next !== undefined) {
        this.reservations.set(next.id, next);
        this.dirtyReservations.add(next.id);
      }
    }
  }

  changedItems(): readonly Item[] {
    return this.newItems;
  }

  /** Changed levels, each with the version it was read at (the guard of its write), null if new. */
  changedLevels(): LevelWrite[] {
    return [...this.dirtyLevels].map((key) => {
      const level = this.levels.get(key) as Level;
      const previousVersion = this.readVersions.get(key) ?? null;
      const expected = (previousVersion ?? 0) + (this.eventsOn.get(key) ?? 0);
      if (level.version !== expected) {
        throw new Error(
          `write path invariant: level ${key} is at version ${level.version}, its events make ${expected}`,
        );
      }
      return { ...level, previousVersion };
    });
  }

  /** Reservations first written by this batch, and stored ones it changed. */
  changedReservations(): { created: Reservation[]; updated: Reservation[] } {
    const created: Reservation[] = [];
    const updated: Reservation[] = [];
    for (const id of this.dirtyReservations) {
      (this.storedReservations.has(id) ? updated : created).push(this.reservations.get(id) as Reservation);
    }
    return { created, updated };
  }
}
