import { EventEmitter } from 'node:events';
import type { StoreReads } from '../../store/port.js';
import type { Crossing } from './projection.js';
import { readCheckpoints } from './projector.js';
import type { ReadDb } from './read-db.js';
import type { ModelCheckpoint, ReadModelName } from './read-models.js';

// The read side as the routes see it: the read models' queries, their positions and lag, and a
// bounded wait for a position (read-your-writes: a client passes the position of its write).

/** How often a wait for a position looks at the checkpoints again. */
const waitPollMs = 10;

export interface ModelStatus extends ModelCheckpoint {
  /** Ledger events not yet applied to this model. */
  readonly lagEvents: number;
  /** How long ago the oldest event not yet applied was recorded (0 when caught up). */
  readonly lagMs: number;
}

export interface ReadSideStatus {
  readonly head: number;
  readonly models: readonly ModelStatus[];
  /** Whether this process runs a projector (it may run in another instance). */
  readonly projecting: boolean;
}

export interface ReadSideOptions {
  readonly readDb: ReadDb;
  readonly ledger: Pick<StoreReads, 'readLedger' | 'headPosition'>;
  /** Longest a read waits for the read side to reach its `minPosition`. */
  readonly waitMsMax: number;
  readonly projecting: boolean;
  /** The clock the engine records events by, for the lag in time; the system clock by default. */
  readonly clock?: () => number;
}

export class ReadSide {
  readonly db: ReadDb;
  /** Low-stock crossings as the projector of this process commits them ('crossings': Crossing[]). */
  readonly crossings = new EventEmitter<{ crossings: [readonly Crossing[]] }>();
  readonly waitMsMax: number;
  private readonly options: ReadSideOptions;
  private readonly clock: () => number;

  constructor(options: ReadSideOptions) {
    this.options = options;
    this.db = options.readDb;
    this.waitMsMax = options.waitMsMax;
    this.clock = options.clock ?? Date.now;
  }

  checkpoints(): Promise<ModelCheckpoint[]> {
    return this.db.read(readCheckpoints);
  }

  async position(model: ReadModelName): Promise<number> {
    const checkpoint = (await this.checkpoints()).find((c) => c.model === model) as ModelCheckpoint;
    return checkpoint.position;
  }

  /**
   * Waits until the models have applied the ledger up to `position`, at most waitMsMax; true
   * when they have.
   */
  async waitFor(position: number, models: readonly ReadModelName[]): Promise<boolean> {
    const deadline = Date.now() + this.waitMsMax;
    for (;;) {
      const checkpoints = await this.checkpoints();
      const behind = checkpoints.filter((c) => models.includes(c.model) && c.position < position);
      if (behind.length === 0) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, waitPollMs));
    }
  }

  /** Resolves once every model has applied the ledger up to its head as read now (tests, rebuilds). */
  async caughtUp(timeoutMs: number): Promise<void> {
    const head = await this.options.ledger.headPosition();
    const deadline = Date.now() + timeoutMs;
    while (Math.min(...(await this.checkpoints()).map((c) => c.position)) < head) {
      if (Date.now() > deadline) throw new Error(`the read side did not reach position ${head} in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, waitPollMs));
    }
  }

  async status(): Promise<ReadSideStatus> {
    const head = await this.options.ledger.headPosition();
    const checkpoints = await this.checkpoints();
    const now = this.clock();
    const oldest = new Map<number, number>();
    for (const { position } of checkpoints) {
      if (position >= head || oldest.has(position)) continue;
      const [next] = await this.options.ledger.readLedger(position, 1);
      oldest.set(position, next === undefined ? now : next.recordedAt);
    }
    const models = checkpoints.map((checkpoint) => {
      const recordedAt = oldest.get(checkpoint.position);
      const lagMs = recordedAt === undefined ? 0 : Math.max(0, now - recordedAt);
      return { ...checkpoint, lagEvents: Math.max(0, head - checkpoint.position), lagMs };
    });
    return { head, models, projecting: this.options.projecting };
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
