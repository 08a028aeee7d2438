import { quantityMax, type ReserveStock, type StockLine } from '../src/domain/index.js';
import { Engine } from '../src/engine/engine.js';
import type { Answer } from '../src/engine/executor.js';
import type { Store } from '../src/store/port.js';

// The workloads. Each order holds distinct lines of 1 to lineQuantityMax units; a line falls on
// one of the hot items with hotProbability, otherwise uniformly on the other items.

export type WorkloadName = 'W1' | 'W2' | 'W3' | 'W4';

export interface Workload {
  readonly name: WorkloadName;
  readonly title: string;
  readonly itemCount: number;
  /** 0: every line falls uniformly on all items. */
  readonly hotItemCount: number;
  readonly hotProbability: number;
  readonly linesPerOrder: number;
  readonly lineQuantityMax: number;
  readonly location: string;
  /** Received once per item: the largest quantity one command may move. */
  readonly stockPerItem: number;
}

const common = { lineQuantityMax: 3, location: 'WH1', stockPerItem: quantityMax } as const;

/** W1, a flash sale: most lines land on a handful of hot items, written by almost every batch. */
export const w1: Workload = {
  ...common,
  name: 'W1',
  title: 'flash sale',
  itemCount: 10_000,
  hotItemCount: 10,
  hotProbability: 0.8,
  linesPerOrder: 3,
};

export const workloads: Readonly<Record<WorkloadName, Workload>> = {
  W1: w1,
  W2: { ...w1, name: 'W2', title: 'uniform', itemCount: 100_000, hotItemCount: 0, hotProbability: 0 },
  W3: { ...w1, name: 'W3', title: 'one item', itemCount: 1, hotItemCount: 0, hotProbability: 0, linesPerOrder: 1 },
  W4: { ...w1, name: 'W4', title: 'large orders', linesPerOrder: 10 },
};

export const workloadNames = Object.keys(workloads) as WorkloadName[];

/** A one-line description for headers and docs. */
export function describeWorkload(workload: Workload): string {
  const items = `${workload.itemCount.toLocaleString('en-US')} item${workload.itemCount === 1 ? '' : 's'}`;
  const lines = `${workload.linesPerOrder} line${workload.linesPerOrder === 1 ? '' : 's'} of 1-${workload.lineQuantityMax} units`;
  const spread =
    workload.hotItemCount === 0 ? 'uniform' : `${workload.hotProbability * 100}% on ${workload.hotItemCount} hot items`;
  return `${workload.name} ${workload.title}: ${items} at ${workload.location}, ${lines}, ${spread}`;
}

/** The most orders one run (a warm-up or a measurement) may send. */
export const ordersPerRunMax = 5_000_000;
/** Each database serves a warm-up run, then a measured run. */
const runsPerDatabase = 2;

// Even if every line of every order landed on one item with the largest quantity, that item
// would not sell out: an INSUFFICIENT_STOCK answer is therefore a workload or engine bug.
for (const workload of Object.values(workloads)) {
  const unitsMax = runsPerDatabase * ordersPerRunMax * workload.linesPerOrder * workload.lineQuantityMax;
  if (unitsMax > workload.stockPerItem)
    throw new Error(`${workload.name} stock must outlast every run on one database`);
  if (workload.linesPerOrder > workload.itemCount) throw new Error(`${workload.name}: more lines than items`);
}

const lineDrawsMax = 1000;

export function skuOf(index: number): string {
  return `SKU-${String(index).padStart(5, '0')}`;
}

/** A seeded PRNG (mulberry32): the same seed gives the same orders, in the order they are sent. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function drawItem(workload: Workload, random: () => number): number {
  const { hotItemCount, itemCount } = workload;
  if (hotItemCount > 0 && random() < workload.hotProbability) return Math.floor(random() * hotItemCount);
  return hotItemCount + Math.floor(random() * (itemCount - hotItemCount));
}

/** The lines of one order, in the order they were drawn: distinct items, 1 to lineQuantityMax units. */
export function orderLines(workload: Workload, random: () => number): StockLine[] {
  const items = new Set<number>();
  for (let draw = 0; items.size < workload.linesPerOrder; draw += 1) {
    if (draw >= lineDrawsMax) throw new Error(`${workload.name}: could not draw distinct items`);
    items.add(drawItem(workload, random));
  }
  return [...items].map((item) => ({
    sku: skuOf(item),
    location: workload.location,
    quantity: 1 + Math.floor(random() * workload.lineQuantityMax),
  }));
}

export function reserveOrder(workload: Workload, random: () => number, id: string): ReserveStock {
  return { type: 'ReserveStock', id, lines: orderLines(workload, random) };
}

/**
 * Setup sends this many commands at once, in batches of setupBatchSizeMax with two batches in
 * flight, so that the database writes one batch while the engine decides the next. Measured on
 * 100,000 items: about 3.5 s on PostgreSQL, against 5 s for one batch of 16,384 at a time.
 */
const setupChunkSize = 50_000;
const setupBatchSizeMax = 4096;
const setupPipelineDepthMax = 2;

/**
 * Registers every item of the workload and receives its stock, through a batched engine of its
 * own, so that the measured engine's statistics start from zero.
 */
export async function setupWorkload(store: Store, workload: Workload): Promise<void> {
  const engine = Engine.on(store, {
    batchSizeMax: setupBatchSizeMax,
    pipelineDepthMax: setupPipelineDepthMax,
    queueDepthMax: setupChunkSize,
  });
  for (let first = 0; first < workload.itemCount; first += setupChunkSize) {
    const indexes = Array.from({ length: Math.min(setupChunkSize, workload.itemCount - first) }, (_, i) => first + i);
    await expectAllOk(
      'register',
      indexes.map((index) => engine.execute({ type: 'RegisterItem', id: `reg-${index}`, sku: skuOf(index) })),
    );
    await expectAllOk(
      'receive',
      indexes.map((index) =>
        engine.execute({
          type: 'ReceiveStock',
          id: `rcv-${index}`,
          sku: skuOf(index),
          location: workload.location,
          quantity: workload.stockPerItem,
        }),
      ),
    );
  }
  await engine.close();
}

async function expectAllOk(step: string, answers: Promise<Answer>[]): Promise<void> {
  for (const { outcome } of await Promise.all(answers)) {
    if (!outcome.ok) throw new Error(`setup (${step}) failed: ${outcome.error.code} ${outcome.error.message}`);
  }
}
