import { quantityMax, type ReserveStock, type StockLine } from '../src/domain/index.js';
import type { Answer } from '../src/engine/batch.js';
import { Engine } from '../src/engine/engine.js';
import type { Store } from '../src/store/port.js';

// Workload W1, a flash sale: every order holds a few distinct lines, and most lines land on a
// handful of hot items, so the same level rows are written by almost every batch.

export const w1 = {
  itemCount: 10_000,
  hotItemCount: 10,
  hotProbability: 0.8,
  linesPerOrder: 3,
  lineQuantityMax: 3,
  location: 'WH1',
  /** Received once per item: the largest quantity one command may move. */
  stockPerItem: quantityMax,
} as const;

/** The most orders one run (a warm-up or a measurement) may send. */
export const ordersPerRunMax = 5_000_000;
/** Each database serves a warm-up run, then a measured run. */
const runsPerDatabase = 2;

// Even if every line of every order landed on one item with the largest quantity, that item
// would not sell out: an INSUFFICIENT_STOCK answer is therefore a workload or engine bug.
if (runsPerDatabase * ordersPerRunMax * w1.linesPerOrder * w1.lineQuantityMax > w1.stockPerItem) {
  throw new Error('W1 stock must outlast every run on one database');
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

function drawItem(random: () => number): number {
  if (random() < w1.hotProbability) return Math.floor(random() * w1.hotItemCount);
  return w1.hotItemCount + Math.floor(random() * (w1.itemCount - w1.hotItemCount));
}

/** The lines of one W1 order: distinct items, each of quantity 1 to lineQuantityMax. */
export function w1Lines(random: () => number): StockLine[] {
  const items = new Set<number>();
  for (let draw = 0; items.size < w1.linesPerOrder; draw += 1) {
    if (draw >= lineDrawsMax) throw new Error('W1: could not draw distinct items');
    items.add(drawItem(random));
  }
  return [...items].map((item) => ({
    sku: skuOf(item),
    location: w1.location,
    quantity: 1 + Math.floor(random() * w1.lineQuantityMax),
  }));
}

export function w1Order(random: () => number, id: string): ReserveStock {
  return { type: 'ReserveStock', id, lines: w1Lines(random) };
}

/**
 * Registers every W1 item and receives its stock, through an engine of its own so that the
 * measured engine's statistics start from zero.
 */
export async function setupW1(store: Store): Promise<void> {
  const engine = new Engine(store);
  const indexes = Array.from({ length: w1.itemCount }, (_, index) => index);
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
        location: w1.location,
        quantity: w1.stockPerItem,
      }),
    ),
  );
  await engine.drain();
}

async function expectAllOk(step: string, answers: Promise<Answer>[]): Promise<void> {
  for (const { outcome } of await Promise.all(answers)) {
    if (!outcome.ok) throw new Error(`W1 setup (${step}) failed: ${outcome.error.code} ${outcome.error.message}`);
  }
}
