import { type Command, domainError, validateCommand } from '../src/domain/index.js';
import { type Answer, type CommandExecutor, type EngineStats, emptyStats } from '../src/engine/executor.js';

/**
 * The reservation route's ceiling, for the HTTP bench only: an executor that answers a valid
 * ReserveStock at once, as the engine would answer a new reservation (pending, nothing
 * committed), without deciding or writing anything. Served beside the real app, it shows what
 * the HTTP layer alone allows the route on this machine, next to the trivial route.
 */
export class AnswerAtOnce implements CommandExecutor {
  readonly stats: EngineStats = emptyStats();
  readonly stopped = undefined;
  /** The TTL of a reservation that names none, as the app's engine would give it. */
  private readonly ttlMsDefault: number;
  private readonly clock: () => number;
  private position = 0;

  constructor(ttlMsDefault: number, clock: () => number = Date.now) {
    this.ttlMsDefault = ttlMsDefault;
    this.clock = clock;
  }

  execute(command: Command): Promise<Answer> {
    const invalid = validateCommand(command);
    if (invalid !== null || command.type !== 'ReserveStock') {
      const error = invalid ?? domainError('VALIDATION_FAILED', 'the ceiling server answers reservations only');
      return Promise.resolve({ outcome: { ok: false, commandId: command.id, error }, replayed: false });
    }
    const now = this.clock();
    const reservation = {
      id: command.id,
      status: 'pending' as const,
      lines: command.lines.map((line) => ({ ...line, committed: null })),
      createdAt: now,
      expiresAt: now + (command.ttlMs ?? this.ttlMsDefault),
      resolvedAt: null,
    };
    this.position += command.lines.length;
    const value = { kind: 'reservation' as const, reservation };
    return Promise.resolve({
      outcome: { ok: true, commandId: command.id, value, position: this.position },
      replayed: false,
    });
  }

  async drain(): Promise<void> {}

  async close(): Promise<void> {}
}
