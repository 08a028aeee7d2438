import { expiryCommandId } from '../domain/index.js';
import type { Store } from '../store/port.js';
import type { CommandExecutor } from './engine.js';

export interface SweeperOptions {
  readonly intervalMs: number;
  /** Most reservations expired per sweep; the rest wait for the next one. */
  readonly sweepBatchMax: number;
  readonly clock: () => number;
}

/**
 * Expires unpaid reservations on the engine's clock. Each expiry is an ordinary command with a
 * deterministic id, so several instances sweeping the same store expire each reservation once.
 */
export class Sweeper {
  private readonly engine: CommandExecutor;
  private readonly store: Store;
  private readonly options: SweeperOptions;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(engine: CommandExecutor, store: Store, options: SweeperOptions) {
    this.engine = engine;
    this.store = store;
    this.options = options;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      if (this.sweeping === undefined) {
        this.sweeping = this.sweep()
          .catch(() => 0)
          .finally(() => {
            this.sweeping = undefined;
          });
      }
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  /** Expires what is due now; returns how many reservations this sweep expired. */
  async sweep(): Promise<number> {
    const due = await this.store.dueReservations(this.options.clock(), this.options.sweepBatchMax);
    const answers = await Promise.all(
      due.map((reservationId) =>
        this.engine.execute({
          type: 'ExpireReservation',
          id: expiryCommandId(reservationId),
          reservationId,
          actor: 'sweeper',
        }),
      ),
    );
    return answers.filter((answer) => answer.outcome.ok && !answer.replayed).length;
  }
}
