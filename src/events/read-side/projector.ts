import type { LedgerEvent } from '../../domain/index.js';
import type { Log } from '../../log.js';
import { StoreError, type StoreReads } from '../../store/port.js';
import { isKnownEvent } from './ledger-events.js';
import { projectDailyMovements, projectStockSummary } from './project-levels.js';
import { projectLowStock } from './project-low-stock.js';
import { projectMovements } from './project-movements.js';
import { projectReservations } from './project-reservations.js';
import type { Crossing, ModelProjections } from './projection.js';
import type { ReadDb, ReadTx } from './read-db.js';
import { type ModelCheckpoint, type ReadModelName, readModelNames, readModelTables } from './read-models.js';

// The projector tails the store's ledger by position and applies each page to the read models,
// moving each model's checkpoint in the same transaction as its rows. Positions are gap-free and
// become visible in commit order, so a checkpoint is all a model needs: after a crash (a kill
// mid-page) the page's transaction is rolled back whole, and the next page starts where the
// checkpoint says. Each checkpoint moves by compare-and-set on the value read before the page,
// so two projectors (two instances, or a rebuild beside a server) never apply a page twice: the
// second's transaction finds the checkpoint moved and rolls back, and it reads again.

export const projections: ModelProjections = {
  'stock-summary': projectStockSummary,
  movements: projectMovements,
  reservations: projectReservations,
  'low-stock': projectLowStock,
  'daily-movements': projectDailyMovements,
};

export interface ProjectorOptions {
  /** The store's ledger: only its reads. */
  readonly ledger: Pick<StoreReads, 'readLedger'>;
  readonly readDb: ReadDb;
  /** Most ledger events one page (one transaction of the read database) applies. */
  readonly pageEventsMax: number;
  readonly snapshotIntervalEvents: number;
  readonly lowStockThresholdDefault: number;
  /** Asked before each page: false skips it (another instance holds the projector's lease). */
  readonly shouldRun?: () => boolean | Promise<boolean>;
  /** Told each page's low-stock crossings once the page has committed. */
  readonly onCrossings?: (crossings: readonly Crossing[]) => void;
  readonly clock?: () => number;
  readonly log: Log;
}

/** Code of the conflict a page meets when another projector moved a checkpoint first. */
export const checkpointMovedCode = 'CHECKPOINT_MOVED';

interface CheckpointRow {
  model: ReadModelName;
  position: number;
  skipped: number;
  updated_at: number;
}

/** Every model's checkpoint, in the order of readModelNames. */
export async function readCheckpoints(tx: ReadTx): Promise<ModelCheckpoint[]> {
  const rows = await tx.rows<CheckpointRow>('SELECT * FROM read_checkpoints', []);
  const byModel = new Map(rows.map((row) => [row.model, row]));
  return readModelNames.map((model) => {
    const row = byModel.get(model);
    if (row === undefined) throw new StoreError('internal', `the read database has no checkpoint for ${model}`);
    return { model, position: Number(row.position), skipped: Number(row.skipped), updatedAt: Number(row.updated_at) };
  });
}

export class Projector {
  private readonly options: ProjectorOptions;
  private readonly clock: () => number;
  private running: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  /** Pages that failed (and were retried), for the status and the log. */
  failures = 0;

  constructor(options: ProjectorOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Applies one page: the events past the lowest checkpoint, each model those past its own.
   * Returns the events read (0: every model has caught up with the ledger, or the projector may
   * not run now). A page that lost a checkpoint to another projector throws a StoreError conflict.
   */
  async step(): Promise<number> {
    if (this.options.shouldRun !== undefined && !(await this.options.shouldRun())) return 0;
    const { readDb } = this.options;
    const checkpoints = await readDb.read(readCheckpoints);
    const from = Math.min(...checkpoints.map((c) => c.position));
    const events = await this.options.ledger.readLedger(from, this.options.pageEventsMax);
    const last = events.at(-1);
    if (last === undefined) return 0;
    checkContiguous(events, from);
    const crossings: Crossing[] = [];
    const context = { ...this.options, crossings };
    const now = this.clock();
    await readDb.transaction(async (tx) => {
      for (const checkpoint of checkpoints) {
        if (checkpoint.position >= last.position) continue;
        const mine = events.filter((e) => e.position > checkpoint.position);
        const skipped = mine.filter((e) => !isKnownEvent(e)).length;
        const moved = await tx.run(
          'UPDATE read_checkpoints SET position = ?, skipped = skipped + ?, updated_at = ? WHERE model = ? AND position = ?',
          [last.position, skipped, now, checkpoint.model, checkpoint.position],
        );
        if (moved !== 1) {
          throw new StoreError('conflict', `the ${checkpoint.model} checkpoint moved`, { code: checkpointMovedCode });
        }
        await projections[checkpoint.model](tx, mine, context);
      }
    });
    if (crossings.length > 0) this.options.onCrossings?.(crossings);
    return events.length;
  }

  /** Applies pages until every model has caught up with the ledger as it is when each page is read. */
  async catchUp(): Promise<void> {
    while ((await this.step()) > 0) {
      // Each page is its own transaction; the loop ends on an empty page.
    }
  }

  /** Runs pages until stopped, pausing `idleMs` whenever caught up; a failed page is logged and retried. */
  start(idleMs: number): void {
    if (this.running !== undefined) return;
    this.stopping = false;
    this.running = this.loop(idleMs);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = undefined;
  }

  private async loop(idleMs: number): Promise<void> {
    while (!this.stopping) {
      let pauseMs = 0;
      try {
        if ((await this.step()) === 0) pauseMs = idleMs;
      } catch (error) {
        if (!(error instanceof StoreError && error.code === checkpointMovedCode)) {
          this.failures += 1;
          this.options.log.error({ err: error, failures: this.failures }, 'a projector page failed; it is retried');
          pauseMs = Math.max(idleMs, 100);
        }
      }
      if (pauseMs > 0 && !this.stopping) await this.pause(pauseMs);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Empties the models' tables and puts their checkpoints to 0, in one transaction: a rebuild
   * starts from it, and a projector killed at any point after it goes on from the last page it
   * committed.
   */
  async reset(models: readonly ReadModelName[]): Promise<void> {
    const now = this.clock();
    await this.options.readDb.transaction((tx) => resetModels(tx, models, now));
  }
}

/** Empties the models' tables and puts their checkpoints to 0, in the caller's transaction. */
export async function resetModels(tx: ReadTx, models: readonly ReadModelName[], now: number): Promise<void> {
  for (const model of models) {
    for (const table of readModelTables[model]) await tx.run(`DELETE FROM ${table}`, []);
    await tx.run('UPDATE read_checkpoints SET position = 0, skipped = 0, updated_at = ? WHERE model = ?', [now, model]);
  }
}

/** The ledger is gap-free: a page that does not follow its checkpoint means the store is not the one projected. */
function checkContiguous(events: readonly LedgerEvent[], from: number): void {
  const first = events[0] as LedgerEvent;
  const last = events.at(-1) as LedgerEvent;
  if (first.position !== from + 1 || last.position !== from + events.length) {
    throw new StoreError(
      'internal',
      `the ledger after position ${from} starts at ${first.position} and ends at ${last.position} for ${events.length} events: not gap-free`,
    );
  }
}
