import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandRecord, Item, LedgerEvent, Level, Reservation } from '../../src/domain/index.js';
import { type LevelWrite, type Store, StoreError, type WriteSet } from '../../src/store/port.js';
import { ledgerTotals } from '../../src/verify/verify.js';
import { openTestStore, testDialects } from '../support/dialects.js';
import { prng } from '../support/engine-harness.js';

// One contract, every dialect: what the engine relies on from a store.

const item = (sku: string): Item => ({
  sku,
  name: `item ${sku}`,
  allowBackorder: false,
  lowStockThreshold: null,
  createdAt: 1_000,
});
const level = (sku: string, location: string, onHand: number, reserved = 0, version = 1, incoming = 0): Level => ({
  sku,
  location,
  onHand,
  reserved,
  incoming,
  version,
});

/** A level as written by a transaction that read it at the version before (or created it, at version 1). */
const changed = (l: Level, previousVersion: number | null = l.version > 1 ? l.version - 1 : null): LevelWrite => ({
  ...l,
  previousVersion,
});

function event(position: number, sku: string, location: string, onHandDelta: number, onHandAfter: number): LedgerEvent {
  return {
    position,
    type: 'StockReceived',
    sku,
    location,
    onHandDelta,
    reservedDelta: 0,
    onHandAfter,
    reservedAfter: 0,
    incomingDelta: 0,
    incomingAfter: 0,
    quantity: onHandDelta,
    commandId: `cmd-${position}`,
    reservationId: null,
    expiresAt: null,
    peerLocation: null,
    reason: null,
    reference: 'PO-1',
    actor: 'tester',
    occurredAt: 500 + position,
    recordedAt: 1_000 + position,
    streamVersion: position,
    attributes: null,
  };
}

function record(id: string, position: number): CommandRecord {
  return {
    id,
    type: 'ReceiveStock',
    fingerprint: `fp-${id}`,
    outcome: { ok: true, commandId: id, value: { kind: 'levels', levels: [] }, position },
    recordedAt: 1_000,
  };
}

/** The record of the ReserveStock that created reservation `id`: a reservation is written with it. */
const reserved = (id: string, position = 0): CommandRecord => ({
  id,
  type: 'ReserveStock',
  fingerprint: `fp-${id}`,
  outcome: { ok: true, commandId: id, position, created: 'reservation' },
  recordedAt: 1_000,
});

/** Reservations and the records of the commands that created them, for a write set. */
const withRecords = (reservations: readonly Reservation[]) => ({
  createdReservations: reservations,
  commands: reservations.map((r) => reserved(r.id)),
});

const reservation = (id: string, expiresAt: number, status: Reservation['status'] = 'pending'): Reservation => ({
  id,
  status,
  lines: [{ sku: 'A', location: 'L1', quantity: 2, committed: null }],
  createdAt: 100,
  expiresAt,
  resolvedAt: null,
});

const emptySet: WriteSet = {
  levelGuard: { kind: 'locked' },
  items: [],
  levels: [],
  createdReservations: [],
  updatedReservations: [],
  events: [],
  commands: [],
};

/** Receives `quantity` into (sku, location) as one transaction, the way the engine would. */
async function receive(store: Store, sku: string, location: string, quantity: number): Promise<number> {
  return store.writeTransaction(async (session) => {
    const [current] = await session.lockLevels([{ sku, location }]);
    const onHand = (current?.onHand ?? 0) + quantity;
    const position = await session.claimPositions(1);
    await session.write({
      ...emptySet,
      levels: [changed(level(sku, location, onHand, 0, (current?.version ?? 0) + 1), current?.version ?? null)],
      events: [event(position, sku, location, quantity, onHand)],
      commands: [record(`cmd-${position}`, position)],
    });
    return position;
  });
}

describe.each(testDialects())('store contract: %s', (dialect) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let reopen: () => Store;

  beforeEach(async () => {
    const opened = await openTestStore(dialect);
    store = opened.store;
    cleanup = opened.cleanup;
    reopen = opened.db.open;
  });
  afterEach(async () => cleanup());

  it('migrates idempotently, also from several processes at once', async () => {
    const others = [reopen(), reopen()];
    await Promise.all([store.migrate(), ...others.map((other) => other.migrate())]);
    await Promise.all(others.map((other) => other.close()));
    expect(await store.headPosition()).toBe(0);
  });

  it('writes a batch in one transaction and reads every part back', async () => {
    const res = reservation('R1', 9_000);
    await store.writeTransaction(async (session) => {
      const first = await session.claimPositions(2);
      expect(first).toBe(1);
      await session.write({
        ...emptySet,
        items: [item('A')],
        levels: [changed(level('A', 'L1', 10, 2, 2, 7), null)],
        createdReservations: [res],
        events: [
          { ...event(1, 'A', 'L1', 10, 10), incomingDelta: 7, incomingAfter: 7 },
          {
            ...event(2, 'A', 'L1', 0, 10),
            type: 'StockReserved',
            reservedDelta: 2,
            reservedAfter: 2,
            reservationId: 'R1',
            expiresAt: 9_000,
            incomingAfter: 7,
          },
        ],
        commands: [record('c1', 2), reserved('R1', 2)],
      });
    });
    expect(await store.getItem('A')).toEqual(item('A'));
    expect(await store.itemLevels('A')).toEqual([level('A', 'L1', 10, 2, 2, 7)]);
    expect(await store.getReservation('R1')).toEqual(res);
    expect(await store.getCommand('c1')).toEqual(record('c1', 2));
    // One row, two views: the reservation and the record of the command that created it.
    expect(await store.getCommand('R1')).toEqual(reserved('R1', 2));
    expect(await store.getReservation('c1')).toBeUndefined();
    const ledger = await store.readLedger(0, 10);
    expect(ledger.map((e) => e.position)).toEqual([1, 2]);
    expect(ledger[0]).toEqual({ ...event(1, 'A', 'L1', 10, 10), incomingDelta: 7, incomingAfter: 7 });
    expect(ledger[1]).toMatchObject({ incomingDelta: 0, incomingAfter: 7 });
    expect((await store.readBalances(0, 10)).map((b) => [b.incomingDelta, b.incomingAfter])).toEqual([
      [7, 7],
      [0, 7],
    ]);
    expect(ledger[1]?.reservationId).toBe('R1');
    expect(await store.headPosition()).toBe(2);
    // What a cache loads: the same rows and the position they reflect, each in one statement.
    expect(await store.itemStockAt('A')).toEqual({
      position: 2,
      value: { item: item('A'), levels: [level('A', 'L1', 10, 2, 2, 7)] },
    });
    expect(await store.itemStockAt('NONE')).toEqual({ position: 2, value: { item: undefined, levels: [] } });
    expect(await store.locationLevelsAt('L1', undefined, 10)).toEqual({
      position: 2,
      value: [level('A', 'L1', 10, 2, 2, 7)],
    });
    expect(await store.locationLevelsAt('L1', 'A', 10)).toEqual({ position: 2, value: [] });
  });

  it('reads back what a session wrote, inside the next transaction', async () => {
    await receive(store, 'A', 'L1', 5);
    await store.writeTransaction(async (session) => {
      const [locked] = await session.lockLevels([{ sku: 'A', location: 'L1' }]);
      expect(locked).toEqual(level('A', 'L1', 5));
      expect((await session.loadCommands(['cmd-1', 'nope'])).get('cmd-1')).toEqual(record('cmd-1', 1));
      expect((await session.loadCommands(['nope'])).size).toBe(0);
    });
  });

  it('rolls back everything when the work fails', async () => {
    await expect(
      store.writeTransaction(async (session) => {
        await session.claimPositions(3);
        await session.write({ ...emptySet, items: [item('A')], commands: [record('c1', 0)] });
        throw new Error('boom');
      }),
    ).rejects.toThrow(StoreError);
    expect(await store.headPosition()).toBe(0);
    expect(await store.getItem('A')).toBeUndefined();
    expect(await store.itemLevels('A')).toEqual([]);
    expect(await store.getCommand('c1')).toBeUndefined();
  });

  // Small write sets go in statements of their own; from 64 rows a table, in bulk (COPY, LOAD DATA).
  it.each([1, 100])(
    'reports a duplicate command record among %i new ones as a retryable conflict, keeping none',
    async (count) => {
      await store.writeTransaction(async (session) => session.write({ ...emptySet, commands: [record('c-old', 0)] }));
      const fresh = Array.from({ length: count }, (_, i) => record(`c-new-${i}`, 0));
      const failure = await store
        .writeTransaction(async (session) => session.write({ ...emptySet, commands: [...fresh, record('c-old', 0)] }))
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StoreError);
      expect((failure as StoreError).kind).toBe('conflict');
      expect(await store.getCommand('c-new-0')).toBeUndefined();
      expect(await store.getCommand('c-old')).toEqual(record('c-old', 0));
    },
  );

  it.each([1, 100])(
    'fails a batch of %i ledger events that collide with one, promptly and without a trace',
    async (count) => {
      await receive(store, 'A', 'L1', 1);
      const failure = await store
        .writeTransaction(async (session) => {
          await session.claimPositions(count);
          const events = Array.from({ length: count }, (_, i) => event(1 + i, 'A', 'L1', 1, 2 + i));
          await session.write({ ...emptySet, events, commands: [record('late', 1)] });
        })
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StoreError);
      expect(await store.headPosition()).toBe(1);
      expect(await store.getCommand('late')).toBeUndefined();
      expect((await store.readLedger(0, count + 1)).length).toBe(1);
      // The connection is usable again afterwards.
      expect(await receive(store, 'A', 'L1', 1)).toBe(2);
    },
  );

  it('fails a batch that changes a level without a row, and keeps nothing of it', async () => {
    const failure = await store
      .writeTransaction(async (session) => {
        const position = await session.claimPositions(1);
        await session.write({
          ...emptySet,
          levels: [changed(level('A', 'L1', 5, 0, 2))],
          events: [event(position, 'A', 'L1', 5, 5)],
          commands: [record('c1', position)],
        });
      })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StoreError);
    // Not a conflict: running the batch again cannot help.
    expect((failure as StoreError).kind).toBe('internal');
    expect(await store.itemLevels('A')).toEqual([]);
    expect(await store.headPosition()).toBe(0);
    expect(await store.getCommand('c1')).toBeUndefined();
  });

  it.each([1, 100])(
    'keeps text with quotes, backslashes, tabs, line breaks and non-ASCII exactly, %i rows a table',
    async (count) => {
      const text = `O'Brien "said" \\ back\\slash\ttab\nline\r — é 😀 \\N`;
      const refused = (id: string): CommandRecord => ({
        ...record(id, 0),
        outcome: { ok: false, commandId: id, error: { code: 'INSUFFICIENT_STOCK', message: text, details: { text } } },
      });
      const ids = Array.from({ length: count }, (_, i) => `c${i}`);
      await store.writeTransaction(async (session) => {
        const first = await session.claimPositions(count);
        await session.write({
          ...emptySet,
          items: [{ ...item('A'), name: text }],
          levels: [changed(level('A', 'L1', count))],
          events: ids.map((_, i) => ({ ...event(first + i, 'A', 'L1', 1, i + 1), reason: text, reference: text })),
          commands: ids.map(refused),
        });
      });
      expect((await store.getItem('A'))?.name).toBe(text);
      expect(await store.getCommand(`c${count - 1}`)).toEqual(refused(`c${count - 1}`));
      const stored = await store.readLedger(0, count);
      expect(stored.map((e) => [e.reason, e.reference])).toEqual(ids.map(() => [text, text]));
    },
  );

  it.each([1, 100])(
    'keeps a value longer than its column whole or refuses the write, never cuts it (%i rows)',
    async (count) => {
      const long = 'x'.repeat(1_000);
      const written = await store
        .writeTransaction(async (session) => {
          const first = await session.claimPositions(count);
          const events = Array.from({ length: count }, (_, i) => ({
            ...event(first + i, 'A', 'L1', 1, i + 1),
            actor: long,
          }));
          await session.write({ ...emptySet, events, commands: [record('c1', first)] });
        })
        .then(
          () => true,
          (error: unknown) => error,
        );
      if (written === true) {
        const stored = await store.readLedger(0, count);
        expect(stored.map((e) => e.actor)).toEqual(stored.map(() => long));
        expect(stored.length).toBe(count);
      } else {
        expect(written).toBeInstanceOf(StoreError);
        expect(await store.headPosition()).toBe(0);
        expect(await store.getCommand('c1')).toBeUndefined();
      }
    },
  );

  it('writes a batch larger than any one statement or round trip', async () => {
    const count = 4000;
    const keys = Array.from({ length: count }, (_, i) => ({ sku: `S${String(i).padStart(4, '0')}`, location: 'L1' }));
    const note = 'n'.repeat(200);
    await store.writeTransaction(async (session) => {
      expect((await session.lockLevels(keys)).length).toBe(0);
      const first = await session.claimPositions(count);
      await session.write({
        ...emptySet,
        levels: keys.map((key) => changed(level(key.sku, key.location, 2))),
        events: keys.map((key, i) => ({
          ...event(first + i, key.sku, key.location, 2, 2),
          reason: note,
          reference: note,
        })),
        commands: keys.map((_, i) => record(`c${i}`, first + i)),
      });
    });
    expect(await store.headPosition()).toBe(count);
    const levels = await store.scanLevels(undefined, count + 1);
    expect(levels.length).toBe(count);
    expect(levels.every((l) => l.onHand === 2 && l.version === 1)).toBe(true);
    expect((await store.readLedger(count - 1, 10)).map((e) => [e.position, e.reason])).toEqual([[count, note]]);
    expect(await store.getCommand(`c${count - 1}`)).toEqual(record(`c${count - 1}`, count));
  });

  it('writes a level read without locks only if its version is still the one read', async () => {
    await receive(store, 'A', 'L1', 5);
    const swap = (previousVersion: number) =>
      store.writeTransaction(async (session) => {
        const [read] = await session.readLevels([{ sku: 'A', location: 'L1' }]);
        expect(read?.onHand).toBeGreaterThan(0);
        await session.write({
          ...emptySet,
          levelGuard: { kind: 'version' },
          levels: [changed(level('A', 'L1', 9, 0, previousVersion + 1, 3), previousVersion)],
        });
      });
    const stale = await swap(0).catch((error: unknown) => error);
    expect(stale).toBeInstanceOf(StoreError);
    expect(stale).toMatchObject({ kind: 'conflict', code: 'VERSION_CONFLICT' });
    expect(await store.itemLevels('A')).toEqual([level('A', 'L1', 5)]);
    await swap(1);
    expect(await store.itemLevels('A')).toEqual([level('A', 'L1', 9, 0, 2, 3)]);
  });

  it('refuses a fenced write whose token is not newer than the last one written', async () => {
    await receive(store, 'A', 'L1', 5);
    const fencedWrite = (fence: number, previousVersion: number) =>
      store.writeTransaction(async (session) =>
        session.write({
          ...emptySet,
          levelGuard: { kind: 'version', fence },
          levels: [changed(level('A', 'L1', 10 + fence, 0, previousVersion + 1), previousVersion)],
        }),
      );
    await fencedWrite(6, 1);
    // A holder whose lock expired comes back with an older token: its write must not land,
    // even though it names the current version.
    const late = await fencedWrite(5, 2).catch((error: unknown) => error);
    expect(late).toMatchObject({ kind: 'conflict', code: 'FENCED' });
    expect(await store.itemLevels('A')).toEqual([level('A', 'L1', 16, 0, 2)]);
    await fencedWrite(7, 2);
    expect(await store.itemLevels('A')).toEqual([level('A', 'L1', 17, 0, 3)]);
  });

  it('creates a level row only by writing it; a second creation of the row is a retryable conflict', async () => {
    await receive(store, 'A', 'L1', 7);
    // Locking a key without a row creates nothing, and neither does a transaction that writes nothing.
    await store.writeTransaction(async (session) => {
      expect(
        await session.lockLevels([
          { sku: 'A', location: 'L1' },
          { sku: 'A', location: 'L2' },
        ]),
      ).toEqual([level('A', 'L1', 7)]);
    });
    expect(await store.itemLevels('A')).toEqual([level('A', 'L1', 7)]);
    // A writer that read no row for A@L1 (another created it meanwhile) must not overwrite it.
    for (const levelGuard of [{ kind: 'locked' }, { kind: 'version' }] as const) {
      const late = await store
        .writeTransaction(async (session) => {
          const position = await session.claimPositions(1);
          await session.write({
            ...emptySet,
            levelGuard,
            levels: [changed(level('A', 'L1', 3)), changed(level('A', 'L2', 3))],
            events: [event(position, 'A', 'L1', 3, 3), event(position + 1, 'A', 'L2', 3, 3)],
          });
        })
        .catch((error: unknown) => error);
      expect(late).toMatchObject({ kind: 'conflict' });
    }
    expect(await store.itemLevels('A')).toEqual([level('A', 'L1', 7)]);
    expect(await store.headPosition()).toBe(1);
  });

  it('pages the ledger, an item history, levels by location and in key order', async () => {
    for (const [sku, location] of [
      ['B', 'L1'],
      ['A', 'L2'],
      ['A', 'L1'],
      ['B', 'L1'],
    ] as const) {
      await receive(store, sku, location, 1);
    }
    expect((await store.readLedger(1, 2)).map((e) => e.position)).toEqual([2, 3]);
    expect((await store.readLedger(4, 10)).length).toBe(0);
    expect((await store.itemHistory('B', 0, 10)).map((e) => e.position)).toEqual([1, 4]);
    expect((await store.itemHistory('B', 1, 10)).map((e) => e.position)).toEqual([4]);
    expect((await store.locationLevels('L1', undefined, 10)).map((l) => l.sku)).toEqual(['A', 'B']);
    expect((await store.locationLevels('L1', 'A', 10)).map((l) => l.sku)).toEqual(['B']);
    const page = await store.locationLevelsAt('L1', undefined, 1);
    expect([page.position, page.value.map((l) => l.sku)]).toEqual([4, ['A']]);
    expect((await store.itemStockAt('A')).value.levels.map((l) => l.location)).toEqual(['L1', 'L2']);
    const keys = (await store.scanLevels(undefined, 2)).map((l) => `${l.sku}@${l.location}`);
    expect(keys).toEqual(['A@L1', 'A@L2']);
    const rest = await store.scanLevels({ sku: 'A', location: 'L2' }, 10);
    expect(rest.map((l) => `${l.sku}@${l.location}`)).toEqual(['B@L1']);
  });

  it('finds due pending reservations only, oldest first, and pages pending ones', async () => {
    await store.writeTransaction(async (session) =>
      session.write({
        ...emptySet,
        ...withRecords([
          reservation('R3', 300),
          reservation('R1', 100),
          reservation('R2', 200, 'released'),
          reservation('R4', 900),
        ]),
      }),
    );
    expect(await store.dueReservations(300, 10)).toEqual(['R1', 'R3']);
    expect(await store.dueReservations(300, 1)).toEqual(['R1']);
    expect((await store.scanPendingReservations(undefined, 2)).map((r) => r.id)).toEqual(['R1', 'R3']);
    expect((await store.scanPendingReservations('R3', 10)).map((r) => r.id)).toEqual(['R4']);
    await store.writeTransaction(async (session) =>
      session.write({
        ...emptySet,
        updatedReservations: [{ ...reservation('R1', 100), status: 'committed', resolvedAt: 150 }],
      }),
    );
    expect(await store.dueReservations(300, 10)).toEqual(['R3']);
    expect((await store.getReservation('R1'))?.status).toBe('committed');
  });

  it('keeps a reservation in the row of the command that created it: one id, one first effect', async () => {
    await store.writeTransaction((session) => session.write({ ...emptySet, commands: [record('X', 0)] }));
    const write = (set: Partial<WriteSet>) =>
      store.writeTransaction((session) => session.write({ ...emptySet, ...set }));
    // Another command holds the id: a reservation under it is refused, as a retryable conflict.
    await expect(write(withRecords([reservation('X', 500)]))).rejects.toMatchObject({ kind: 'conflict' });
    // A reservation is written with the record of its ReserveStock, or not at all.
    await expect(write({ createdReservations: [reservation('Y', 500)] })).rejects.toMatchObject({ kind: 'internal' });
    // A change to a reservation that does not exist fails the batch.
    const missing = { ...reservation('Z', 500), status: 'released' as const, resolvedAt: 600 };
    await expect(write({ updatedReservations: [missing] })).rejects.toMatchObject({ kind: 'internal' });
    expect(await store.getCommand('X')).toEqual(record('X', 0));
    for (const id of ['X', 'Y', 'Z']) expect(await store.getReservation(id)).toBeUndefined();
    expect(await store.getCommand('Y')).toBeUndefined();
  });

  it('totals the ledger per level and counts breaks in the chain of balances', async () => {
    await receive(store, 'A', 'L1', 4);
    await receive(store, 'A', 'L1', 6);
    await store.writeTransaction(async (session) => {
      const position = await session.claimPositions(1);
      // A balance-after that does not follow from the previous one plus the delta.
      await session.write({ ...emptySet, events: [event(position, 'A', 'L1', 1, 99)] });
    });
    const totals = [...(await ledgerTotals(store, await store.headPosition())).values()];
    expect(totals).toEqual([
      expect.objectContaining({ sku: 'A', location: 'L1', onHand: 11, reserved: 0, events: 3, chainBreaks: 1 }),
    ]);
  });

  it('never deadlocks when concurrent batches create and lock interleaved level rows', async () => {
    // SQLite has one writer per database: its writers share the store (and so its queue).
    const others = dialect === 'sqlite' ? [] : [reopen(), reopen()];
    const writers = dialect === 'sqlite' ? [store, store, store] : [store, ...others];
    const locations = ['L0', 'L1', 'L2', 'L3', 'L4', 'L5'];
    const roundsPerWriter = 40;
    const conflicts: string[] = [];
    await Promise.all(
      writers.map(async (writer, w) => {
        const random = prng(w + 1);
        for (let round = 0; round < roundsPerWriter; round += 1) {
          // Rows of item N<round> are new to whichever writer gets there first; rows of E soon exist.
          const keys = [`E`, `N${round}`]
            .flatMap((sku) => locations.map((location) => ({ sku, location })))
            .filter(() => random() < 0.4);
          const holdMs = Math.floor(random() * 3);
          // As the engine does: a writer that finds a row it meant to create already there runs again.
          for (let attempt = 0; ; attempt += 1) {
            const failure = await writer
              .writeTransaction(async (session) => {
                const locked = await session.lockLevels(keys);
                // Hold the locks a little, as a batch deciding would.
                await new Promise((resolve) => setTimeout(resolve, holdMs));
                if (keys.length === 0) return;
                const found = new Map(locked.map((l) => [`${l.sku}@${l.location}`, l]));
                const first = await session.claimPositions(keys.length);
                const after = keys.map(({ sku, location }) => {
                  const current = found.get(`${sku}@${location}`) ?? level(sku, location, 0, 0, 0);
                  return { current, next: { ...current, onHand: current.onHand + 1, version: current.version + 1 } };
                });
                await session.write({
                  ...emptySet,
                  levels: after.map(({ current, next }) =>
                    changed(next, found.has(`${current.sku}@${current.location}`) ? current.version : null),
                  ),
                  events: after.map(({ next }, k) => event(first + k, next.sku, next.location, 1, next.onHand)),
                });
              })
              .then(
                () => undefined,
                (error: unknown) => error,
              );
            if (failure === undefined) break;
            expect(failure).toMatchObject({ kind: 'conflict' });
            conflicts.push(String((failure as StoreError).code));
            expect(attempt).toBeLessThan(20);
          }
        }
      }),
    );
    await Promise.all(others.map((writer) => writer.close()));
    // Only creations that lost a race, and never a deadlock or a lock wait timeout.
    expect(conflicts.filter((code) => !['23505', '1062'].includes(code))).toEqual([]);
    const totals = [...(await ledgerTotals(store, await store.headPosition())).values()];
    expect(totals.every((total) => total.chainBreaks === 0)).toBe(true);
    const levels = await store.scanLevels(undefined, 10_000);
    const onHand = new Map(totals.map((total) => [`${total.sku}@${total.location}`, total.onHand]));
    expect(levels.length).toBe(onHand.size);
    for (const l of levels) expect(l.onHand).toBe(onHand.get(`${l.sku}@${l.location}`));
  });

  it('hands out gap-free positions that a tailing reader never skips, however commits interleave', async () => {
    // SQLite has one writer per database: its writers share the store (and so its queue).
    const others = dialect === 'sqlite' ? [] : [reopen(), reopen()];
    const writers = dialect === 'sqlite' ? [store, store, store] : [store, ...others];
    const writesPerWriter = 25;
    const seen: number[] = [];
    let writing = true;
    const tail = (async () => {
      let after = 0;
      while (writing || after < writers.length * writesPerWriter) {
        const page = await store.readLedger(after, 7);
        for (const e of page) {
          // Each page continues exactly where the last one ended: no skipped position.
          expect(e.position).toBe(after + 1);
          seen.push(e.position);
          after = e.position;
        }
        if (page.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < writesPerWriter; i += 1) {
          await writer.writeTransaction(async (session) => {
            const position = await session.claimPositions(1);
            // Hold the claimed position a little before commit, as a slow transaction would.
            await new Promise((resolve) => setTimeout(resolve, (i * 7 + w * 3) % 4));
            await session.write({ ...emptySet, events: [event(position, `S${w}`, 'L1', 1, i + 1)] });
          });
        }
      }),
    );
    writing = false;
    await tail;
    await Promise.all(others.map((writer) => writer.close()));
    expect(seen).toEqual(Array.from({ length: writers.length * writesPerWriter }, (_, i) => i + 1));
  });
});
