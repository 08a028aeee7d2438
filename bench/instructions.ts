import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRuntime } from '../src/compose/runtime.js';
import { loadConfig } from '../src/config.js';
import {
  assertLoopback,
  mysqlUrlDefault,
  postgresUrlDefault,
  type ServerUrls,
  type StoreKind,
  storeKinds,
  withBenchDatabase,
} from './databases.js';
import { writeJson } from './report.js';
import { reserveOrder, seededRandom, setupWorkload, w1 } from './workload.js';

// `npm run bench:instructions`: machine instructions per W1 reservation through the engine, as
// valgrind's callgrind counts them. A shared virtual machine's speed drifts by a third within
// minutes, which hides a change of a few percent in orders/s; an instruction count of the same
// program on the same input repeats, whatever else the machine does. It counts
// this process only: on PostgreSQL or MariaDB, Skuld's side of the work, not the server's.
//
// Two runs under callgrind, side by side (one per core): both set up the W1 items, one then
// sends `batches` batches of 1,024 orders. The difference, over the orders, is the cost of an
// order: start-up, compilation of the setup's code and the setup itself cancel out.

const ordersPerBatch = 1024;
const batchesDefault = 10;
const batchesMax = 200;
/** The sweeper's longest interval: it never runs within a counted run. */
const sweepIntervalMsOff = 3_600_000;

interface RunSpec {
  readonly store: StoreKind;
  readonly batches: number;
  readonly seed: number;
  readonly urls: ServerUrls;
}

/** The counted program: setup, then `batches` batches of W1 reservations, each all at once. */
async function countedRun(spec: RunSpec): Promise<void> {
  await withBenchDatabase(spec.store, spec.urls, async (database) => {
    // What runs on a wall-clock timer would count differently with the machine's speed, and
    // valgrind's: SQLite's checkpoint thread (the writer checkpoints by WAL size instead), its
    // item history thread (readers scan the ledger instead; it works on the other core) and the
    // sweeper (nothing falls due in the run anyway) are off; so are the read side's projector and
    // the relays, which read the ledger beside the write path (`--events` measures them).
    const config = loadConfig({
      ...process.env,
      ...database.env,
      SKULD_ENGINE_THREAD: 'off',
      SKULD_PROJECTOR: 'off',
      SKULD_RELAY: 'none',
      SKULD_SEED: 'off',
      SKULD_SQLITE_CHECKPOINT_INTERVAL_MS: '0',
      SKULD_SQLITE_HISTORY_INTERVAL_MS: '0',
      SKULD_SWEEP_INTERVAL_MS: String(sweepIntervalMsOff),
    });
    const runtime = await createRuntime(config);
    try {
      await setupWorkload(runtime.store, w1);
      const random = seededRandom(spec.seed);
      for (let batch = 0; batch < spec.batches; batch += 1) {
        const orders = Array.from({ length: ordersPerBatch }, (_, index) =>
          runtime.engine.execute(reserveOrder(w1, random, `i${batch}-${index}`)),
        );
        for (const { outcome } of await Promise.all(orders)) {
          if (!outcome.ok) throw new Error(`order ${outcome.commandId} refused: ${outcome.error.code}`);
        }
      }
    } finally {
      await runtime.close();
    }
  });
}

/** Runs this file's counted program under callgrind; resolves with the instructions it counted. */
function underCallgrind(spec: RunSpec): Promise<number> {
  const args = [
    '--tool=callgrind',
    '--callgrind-out-file=/dev/null',
    process.execPath,
    // V8's helper threads off (compiling, marking, sweeping): their work then runs, and is
    // counted, in order on the one thread. The same heap flags as this process: the collector's
    // work is part of the count.
    '--single-threaded',
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--counted',
    `--store=${spec.store}`,
    `--batches=${spec.batches}`,
    `--seed=${spec.seed}`,
    `--postgres-url=${spec.urls.postgres}`,
    `--mysql-url=${spec.urls.mysql}`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', args, { stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT' ? new Error('valgrind is not installed (Debian: apt-get install valgrind)') : error,
      ),
    );
    child.once('close', (code) => {
      const collected = /Collected : (\d+)/.exec(stderr);
      if (code === 0 && collected !== null) resolve(Number(collected[1]));
      else reject(new Error(`the run under callgrind failed (exit ${code}):\n${stderr.slice(-2000)}`));
    });
  });
}

interface InstructionsResult {
  readonly store: StoreKind;
  readonly batches: number;
  readonly orders: number;
  readonly instructionsSetup: number;
  readonly instructionsWithOrders: number;
  readonly instructionsPerOrder: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      counted: { type: 'boolean', default: false },
      store: { type: 'string', default: 'sqlite' },
      batches: { type: 'string', default: String(batchesDefault) },
      seed: { type: 'string', default: '1' },
      'postgres-url': { type: 'string', default: postgresUrlDefault },
      'mysql-url': { type: 'string', default: mysqlUrlDefault },
      json: { type: 'string' },
    },
  });
  const store = values.store as StoreKind;
  if (!storeKinds.includes(store)) throw new Error(`--store: one of ${storeKinds.join(', ')}`);
  const batches = Number(values.batches);
  // The counted program also runs with 0: the setup alone.
  const batchesMin = values.counted ? 0 : 1;
  if (!Number.isSafeInteger(batches) || batches < batchesMin || batches > batchesMax) {
    throw new Error(`--batches: an integer from ${batchesMin} to ${batchesMax}`);
  }
  const seed = Number(values.seed);
  const urls = { postgres: values['postgres-url'], mysql: values['mysql-url'] };
  if (store !== 'sqlite') assertLoopback(urls[store]);
  if (values.counted) return countedRun({ store, batches, seed, urls });

  console.log(`counting instructions: ${store}, W1 reserve, ${batches} batches of ${ordersPerBatch} (two runs)`);
  const [setup, withOrders] = await Promise.all([
    underCallgrind({ store, batches: 0, seed, urls }),
    underCallgrind({ store, batches, seed, urls }),
  ]);
  const orders = batches * ordersPerBatch;
  const result: InstructionsResult = {
    store,
    batches,
    orders,
    instructionsSetup: setup,
    instructionsWithOrders: withOrders,
    instructionsPerOrder: (withOrders - setup) / orders,
  };
  const millions = (count: number) => `${(count / 1e6).toLocaleString('en-US', { maximumFractionDigits: 0 })} M`;
  console.log(`setup only: ${millions(setup)}; with ${orders.toLocaleString('en-US')} orders: ${millions(withOrders)}`);
  console.log(`instructions per order: ${Math.round(result.instructionsPerOrder).toLocaleString('en-US')}`);
  if (values.json !== undefined) writeJson(values.json, result);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
