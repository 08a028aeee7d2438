import type { Command } from '../domain/index.js';
import type { Answer, CommandExecutor, EngineStats } from '../engine/executor.js';

// The write path as the API and the sweeper see it when reads are cached: each answer that
// reaches this thread tells the cache what its command changed, before the caller sees it.
//
// Why answers, not the ledger: every successful answer carries the levels it changed (or the
// reservation, whose lines name them) and its position, on the thread that serves reads, at no
// cost; tailing the ledger would add a store query per batch on every instance. Each instance
// publishes its own writes to the others (Redis pub/sub), so several instances on one database
// all hear of every write made through any of them.

export interface CommitListener {
  /** A command's effect committed; called once per successful, first-time answer. */
  committed(answer: Answer): void;
}

export class InvalidatingExecutor implements CommandExecutor {
  constructor(
    private readonly inner: CommandExecutor,
    private readonly listener: CommitListener,
  ) {}

  execute(command: Command): Promise<Answer> {
    return this.inner.execute(command).then(this.heard);
  }

  /** Runs for every write answer: one reaction, no async frame of its own. */
  private readonly heard = (answer: Answer): Answer => {
    if (answer.outcome.ok && !answer.replayed) this.listener.committed(answer);
    return answer;
  };

  get stats(): EngineStats {
    return this.inner.stats;
  }

  get stopped(): string | undefined {
    return this.inner.stopped;
  }

  drain(): Promise<void> {
    return this.inner.drain();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
