import { expiryCommandId } from '../domain/index.js';
import type { Log } from '../log.js';
import type { Store } from '../store/port.js';
import type { CommandExecutor } from './executor.js';

export interface SweeperOptions {
  readonly intervalMs: number;
  /** Most reservations expired per sweep; the rest wait for the next one. */
  readonly sweepBatchMax: number;
  readonly clock: () => number;
  readonly log: Log;
}

/** Refusals of an expiry that are normal: not yet due on the engine's clock, or resolved meanwhile. */
const expectedRefusals: ReadonlySet<string> = new Set([
  'RESERVATION_NOT_EXPIRED',
  'RESERVATION_ALREADY_COMMITTED',
  'RESERVATION_ALREADY_RELEASED',
  'RESERVATION_EXPIRED',
]);

export interface SweeperStats {
  sweeps: number;
  expired: number;
  /** Sweeps that failed (the store out of reach); each is logged, and the next one tries again. */
  failures: number;
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
  readonly stats: SweeperStats = { sweeps: 0, expired: 0, failures: 0 };

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
          .catch((error: unknown) => {
            this.stats.failures += 1;
            this.options.log.error({ err: error, failures: this.stats.failures }, 'the expiry sweep failed');
            return 0;
          })
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
    const expired = answers.filter((answer) => answer.outcome.ok && !answer.replayed).length;
    this.stats.sweeps += 1;
    this.stats.expired += expired;
    const failed = answers.filter((answer) => !answer.outcome.ok);
    if (failed.length > 0) {
      const codes = countBy(failed.map((answer) => (answer.outcome.ok ? '' : answer.outcome.error.code)));
      if (Object.keys(codes).some((code) => !expectedRefusals.has(code))) {
        this.options.log.warn({ due: due.length, expired, refused: codes }, 'the expiry sweep had refusals');
      }
    }
    return expired;
  }
}

function countBy(keys: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}
