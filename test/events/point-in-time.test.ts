import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../../src/domain/index.js';
import { clocks } from '../../src/events/read-side/ledger-events.js';
import { stockAtPosition, stockAtTime } from '../../src/events/read-side/point-in-time.js';
import { Projector } from '../../src/events/read-side/projector.js';
import type { ReadDb } from '../../src/events/read-side/read-db.js';
import { readModelNames } from '../../src/events/read-side/read-models.js';
import { silentLog } from '../../src/log.js';
import { histories, levels, memoryLedger, replayAtPosition, replayAtTime } from '../support/histories.js';
import { createTestReadDatabase, type TestReadDatabase, testReadDialects } from '../support/read-dbs.js';

// Stock at a past time or position, from the read side's snapshots and movements, equals a naive
// replay of the whole ledger, on random histories with back-dated events, random page sizes and
// snapshot intervals (every interval from one event up, so snapshots are taken, back-dated and
// read often).

const skus = [...new Set(levels.map((l) => l.sku))];

/** The times worth asking about: each event's on either clock, a millisecond either side, and beyond both ends. */
function sampleTimes(ledger: readonly LedgerEvent[]): number[] {
  const times = new Set<number>();
  for (const e of ledger) {
    for (const t of [e.occurredAt, e.recordedAt]) for (const d of [-1, 0, 1]) times.add(t + d);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return [(sorted[0] as number) - 100_000, ...sorted, (sorted.at(-1) as number) + 100_000];
}

describe.each(testReadDialects())('point in time (%s read database)', (dialect) => {
  let database: TestReadDatabase;
  let db: ReadDb;

  beforeAll(async () => {
    database = createTestReadDatabase(dialect);
    db = database.open();
    await db.migrate();
  });

  afterAll(async () => {
    await db.close();
    await database.drop();
  });

  it('equals a full replay at every position and at sampled times on both clocks', async () => {
    await fc.assert(
      fc.asyncProperty(
        histories,
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 5 }),
        fc.infiniteStream(fc.nat()),
        async (ledger, pageEventsMax, snapshotIntervalEvents, picks) => {
          const projector = new Projector({
            ledger: memoryLedger(ledger),
            readDb: db,
            pageEventsMax,
            snapshotIntervalEvents,
            lowStockThresholdDefault: 0,
            log: silentLog,
          });
          await projector.reset(readModelNames);
          await projector.catchUp();
          const times = sampleTimes(ledger);
          const pick = picks[Symbol.iterator]();
          for (const sku of skus) {
            for (let n = 0; n < 12; n += 1) {
              const at = times[(pick.next().value as number) % times.length] as number;
              const clock = clocks[n % 2] as (typeof clocks)[number];
              const answer = await stockAtTime(db, sku, at, clock);
              expect({ sku, at, clock, levels: answer.levels }).toEqual({
                sku,
                at,
                clock,
                levels: replayAtTime(ledger, sku, at, clock),
              });
              expect(answer.position).toBe(ledger.length);
            }
            for (let n = 0; n < 6; n += 1) {
              const position = (pick.next().value as number) % (ledger.length + 1);
              const answer = await stockAtPosition(db, sku, position);
              expect({ sku, position, levels: answer.levels }).toEqual({
                sku,
                position,
                levels: replayAtPosition(ledger, sku, position),
              });
            }
          }
        },
      ),
      { numRuns: dialect === 'sqlite' ? 60 : 25 },
    );
  });
});
