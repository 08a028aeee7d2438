import { parentPort, workerData } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { domainError } from '../domain/index.js';
import type { Engine } from '../engine/engine.js';
import type { Answer } from '../engine/executor.js';
import { PromEngineMetrics } from '../metrics/engine-metrics.js';
import { StartupError } from '../startup-error.js';
import type { Store } from '../store/port.js';
import type { FromWorker, ToWorker, WorkerStart } from '../thread/messages.js';
import { SharedClock } from '../thread/shared-clock.js';
import { buildEngine, createLog, openStore } from './runtime.js';

// The engine thread: composition for the write path, as runtime.ts composes it in-process. The
// thread that started it has migrated the store already.

if (parentPort === null) throw new Error('engine-worker.ts runs as a worker thread (see src/thread/engine-thread.ts)');
const port = parentPort;
const start = workerData as WorkerStart;

const send = (message: FromWorker) => port.postMessage(message);

interface Opened {
  readonly store: Store;
  readonly engine: Engine;
  /**
   * The thread's own metrics: the engine's counters and histograms are recorded here, where they
   * happen, and sent whole to the thread that serves /metrics when it asks (one message a scrape).
   */
  readonly registry: Registry;
}

async function open(): Promise<Opened> {
  const clock = start.clock === undefined ? Date.now : new SharedClock(start.clock).read;
  // The thread's own logger, at the process's level: the engine logs what it isolates and refuses.
  const log = createLog(start.config);
  const store = openStore(start.config, log);
  try {
    const registry = new Registry();
    let engine: Engine | undefined;
    const metrics = new PromEngineMetrics(registry, () => engine);
    engine = await buildEngine(start.config, store, clock, log, metrics);
    return { store, engine, registry };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * Answers resolved together go back in one message. A batch resolves its callers in one loop, so
 * their reactions run back to back as microtasks, and a flush queued behind the first of them
 * runs after the last: one message per batch, sent before the thread returns to its event loop.
 */
class Answers {
  private seqs: number[] = [];
  private answers: Answer[] = [];
  private readonly engine: Engine;

  constructor(engine: Engine) {
    this.engine = engine;
  }

  add(seq: number, answer: Answer): void {
    if (this.seqs.length === 0) queueMicrotask(() => this.flush());
    this.seqs.push(seq);
    this.answers.push(answer);
  }

  flush(): void {
    if (this.seqs.length === 0) return;
    send({ kind: 'answers', seqs: this.seqs, answers: this.answers, stats: this.engine.stats });
    this.seqs = [];
    this.answers = [];
  }
}

function serve({ store, engine, registry }: Opened): void {
  const answers = new Answers(engine);
  const done = (seq: number) => {
    answers.flush();
    send({ kind: 'done', seq, stats: engine.stats });
  };
  port.on('message', (message: ToWorker) => {
    switch (message.kind) {
      case 'execute':
        message.commands.forEach((command, index) => {
          const seq = message.seqs[index] as number;
          engine.execute(command).then(
            (answer) => answers.add(seq, answer),
            (error: unknown) => answers.add(seq, internal(command.id, error)),
          );
        });
        return;
      case 'drain':
        void engine.drain().then(() => done(message.seq));
        return;
      case 'metrics':
        void registry.getMetricsAsJSON().then((metrics) => send({ kind: 'metrics', seq: message.seq, metrics }));
        return;
      case 'close':
        void engine
          .close()
          .then(() => store.close())
          .finally(() => done(message.seq));
        return;
    }
  });
}

function internal(commandId: string, error: unknown): Answer {
  const message = error instanceof Error ? error.message : String(error);
  return { outcome: { ok: false, commandId, error: domainError('INTERNAL', message) }, replayed: false };
}

open().then(
  (opened) => {
    serve(opened);
    send({ kind: 'ready' });
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    send(error instanceof StartupError ? { kind: 'failed', message, code: error.code } : { kind: 'failed', message });
  },
);
