import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { Config } from '../config.js';
import type { LedgerEvent } from '../domain/index.js';
import type { OrderLine as Line, Order } from '../services/orders/orders.js';
import { StartupError } from '../startup-error.js';
import { sharedFlags } from './system.js';

// `skuld simulate`: a storefront and a receiving dock against a running system (`skuld
// system`): orders placed at a given rate through the order service, most paid (some in part),
// some cancelled, the rest abandoned; purchase orders drafted, confirmed and received (some in
// two receipts) through the purchase service beside them. A
// progress line a second; at the end a report, the inventory's verify, and every order of the
// run checked against its reservation in the inventory. Exit 1 if anything does not match.

const run = promisify(execFile);

export const simulateUsage = `Usage: skuld simulate [--rate N] [--duration S] [--pay F] [--partial F] [--cancel F]
                      [--receipts-per-second N] [--orders-url URL] [--inventory-url URL] [settings…]

  --rate N                 orders placed per second (default 20)
  --duration S             seconds of load (default 30)
  --pay F                  share of reserved orders paid in full (default 0.7)
  --partial F              share paid in part: one unit less of the first line (default 0.1)
  --cancel F               share cancelled (default 0.1); the rest is abandoned unpaid
  --receipts-per-second N  purchase orders received per second through the purchase service (default 1)
  --orders-url URL         the order service (default http://127.0.0.1:<SKULD_ORDERS_PORT>)
  --purchases-url URL      the purchase service (default http://127.0.0.1:<SKULD_PURCHASES_PORT>)
  --inventory-url URL      an inventory instance (default http://127.0.0.1:<SKULD_PORT>)

It makes itself a key (roles purchasing and auditor) on the inventory's store (the same settings
as skuld system) and revokes it at the end.`;

export interface SimulateOptions {
  readonly rate: number;
  readonly durationS: number;
  readonly pay: number;
  readonly partial: number;
  readonly cancel: number;
  readonly receiptsPerSecond: number;
  readonly ordersUrl: string | undefined;
  readonly purchasesUrl: string | undefined;
  readonly inventoryUrl: string | undefined;
}

const optionNames = [
  '--rate',
  '--duration',
  '--pay',
  '--partial',
  '--cancel',
  '--receipts-per-second',
  '--orders-url',
  '--purchases-url',
  '--inventory-url',
] as const;

export function parseSimulateArgs(args: readonly string[]): { options: SimulateOptions; rest: string[] } {
  const values = new Map<string, string>();
  const rest: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    const [name, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    if (!(optionNames as readonly string[]).includes(name)) {
      rest.push(arg);
      continue;
    }
    const value = inline ?? args[++index];
    if (value === undefined) throw invalid(`${name} needs a value`);
    values.set(name, value);
  }
  const number = (name: string, fallback: number, min: number, max: number) => {
    const raw = values.get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) throw invalid(`${name}: ${min} to ${max}, got "${raw}"`);
    return value;
  };
  const options = {
    rate: number('--rate', 20, 0.1, 10_000),
    durationS: number('--duration', 30, 1, 86_400),
    pay: number('--pay', 0.7, 0, 1),
    partial: number('--partial', 0.1, 0, 1),
    cancel: number('--cancel', 0.1, 0, 1),
    receiptsPerSecond: number('--receipts-per-second', 1, 0, 1000),
    ordersUrl: values.get('--orders-url'),
    purchasesUrl: values.get('--purchases-url'),
    inventoryUrl: values.get('--inventory-url'),
  };
  if (options.pay + options.partial + options.cancel > 1)
    throw invalid('--pay, --partial and --cancel add up to more than 1');
  return { options, rest };
}

const invalid = (message: string) => new StartupError('CONFIG_INVALID', `${message}\n\n${simulateUsage}`);

/** Latencies of one kind of request, in ms. */
class Latencies {
  private readonly samples: number[] = [];
  add(ms: number): void {
    this.samples.push(ms);
  }
  percentile(p: number): number {
    if (this.samples.length === 0) return 0;
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
  }
}

export async function simulate(config: Config, options: SimulateOptions, argv: readonly string[]): Promise<number> {
  const flags = sharedFlags(argv);
  const ordersUrl = options.ordersUrl ?? `http://127.0.0.1:${config.ordersPort}`;
  const purchasesUrl = options.purchasesUrl ?? `http://127.0.0.1:${config.purchasesPort}`;
  const inventoryUrl = options.inventoryUrl ?? `http://127.0.0.1:${config.port}`;
  const skuld = (args: string[]) =>
    run(process.execPath, [...process.execArgv, process.argv[1] as string, ...args, ...flags], { env: process.env });
  const created = await skuld([
    'keys',
    'create',
    '--name',
    `simulate-${process.pid}`,
    '--role',
    'purchasing',
    '--role',
    'auditor',
  ]);
  const key = /^(skuld_\S+)$/m.exec(created.stdout)?.[1];
  const keyId = /created key (\S+)/.exec(created.stdout)?.[1];
  if (key === undefined || keyId === undefined)
    throw new StartupError('PROCESS_FAILED', 'no key could be made for the simulation');
  try {
    return await load(options, { ordersUrl, purchasesUrl, inventoryUrl }, key, () => skuld(['verify']));
  } finally {
    await skuld(['keys', 'revoke', keyId]).catch(() => undefined);
  }
}

async function load(
  options: SimulateOptions,
  { ordersUrl, purchasesUrl, inventoryUrl }: { ordersUrl: string; purchasesUrl: string; inventoryUrl: string },
  key: string,
  verify: () => Promise<{ stdout: string }>,
): Promise<number> {
  const inventory = async (path: string, body?: unknown) => {
    const response = await fetch(`${inventoryUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const orders = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
    const response = await fetch(`${ordersUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Order & { code?: string } };
  };

  // What there is to sell: every level with stock, from the inventory's own reads.
  const stock: { sku: string; location: string }[] = [];
  for (const item of ((await inventory('/v1/items?limit=200')).body.items ?? []) as { sku: string }[]) {
    const levels = (await inventory(`/v1/items/${item.sku}/stock`)).body.levels as { location: string }[];
    for (const level of levels ?? []) stock.push({ sku: item.sku, location: level.location });
  }
  if (stock.length === 0) {
    console.error('the inventory has no stock to sell: seed it (skuld seed) or receive some first');
    return 1;
  }

  const run = randomUUID().slice(0, 8);
  const counts = {
    placed: 0,
    reserved: 0,
    rejected: 0,
    paid: 0,
    partial: 0,
    cancelled: 0,
    abandoned: 0,
    failed: 0,
    receipts: 0,
    closed: 0,
    awaiting: 0,
  };
  // Where the ledger stood: the run's purchase orders are checked against the events after it.
  const startHead = Number((await inventory('/v1/projections')).body.head ?? 0);
  const placing = new Latencies();
  const paying = new Latencies();
  const random = Math.random;
  const pick = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)] as T;
  const inFlight = new Set<Promise<void>>();
  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  const oneOrder = async (index: number) => {
    const chosen = new Map<string, Line>();
    for (let n = 1 + Math.floor(random() * 3); n > 0; n -= 1) {
      const level = pick(stock);
      chosen.set(`${level.sku}@${level.location}`, { ...level, quantity: 1 + Math.floor(random() * 3) });
    }
    const lines = [...chosen.values()];
    const started = performance.now();
    const placed = await orders('POST', '/v1/orders', {
      id: `sim-${run}-${index}`,
      customer: `customer-${index % 500}`,
      lines,
    });
    placing.add(performance.now() - started);
    counts.placed += 1;
    if (placed.status >= 300 && placed.status !== 202) {
      counts.failed += 1;
      return;
    }
    if (placed.body.status === 'rejected') counts.rejected += 1;
    if (placed.body.status !== 'awaiting_payment') return;
    counts.reserved += 1;
    const choice = random();
    const id = placed.body.id;
    if (choice < options.pay + options.partial) {
      const partial = choice >= options.pay && (lines[0]?.quantity ?? 0) > 1;
      const body = partial ? { lines: [{ ...(lines[0] as Line), quantity: (lines[0] as Line).quantity - 1 }] } : {};
      const start = performance.now();
      const paid = await orders('POST', `/v1/orders/${id}/pay`, body);
      paying.add(performance.now() - start);
      if (paid.body.status === 'paid') counts[partial ? 'partial' : 'paid'] += 1;
      else counts.failed += 1;
    } else if (choice < options.pay + options.partial + options.cancel) {
      const cancelled = await orders('POST', `/v1/orders/${id}/cancel`);
      if (cancelled.body.status === 'cancelled') counts.cancelled += 1;
      else counts.failed += 1;
    } else counts.abandoned += 1;
  };

  const purchases = async (path: string, body?: unknown) => {
    const response = await fetch(`${purchasesUrl}${path}`, {
      method: 'POST',
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return (await response.json()) as { status?: string };
  };
  /**
   * A purchase order of one line, confirmed (its units incoming) and received: in one receipt, in
   * two, with more than ordered, or in part and then closed short; or left awaiting delivery.
   */
  const oneReceipt = async (index: number) => {
    const level = pick(stock);
    const quantity = 10 + Math.floor(random() * 40);
    const id = `s${run}-${index}`;
    await purchases('/v1/purchase-orders', { id, supplier: `supplier-${index % 7}`, lines: [{ ...level, quantity }] });
    let last = await purchases(`/v1/purchase-orders/${id}/confirm`);
    // Each shape in turn, so that even a short run has every one.
    const shapes: readonly (readonly number[])[] = [
      [quantity],
      [Math.ceil(quantity / 2), Math.floor(quantity / 2)],
      [quantity + 1 + Math.floor(random() * 5)],
      [Math.floor(quantity / 3)],
      [],
      [quantity],
      [Math.ceil(quantity / 2), Math.floor(quantity / 2)],
    ];
    const parts = shapes[index % shapes.length] as readonly number[];
    for (const [part, units] of parts.entries()) {
      last = await purchases(`/v1/purchase-orders/${id}/receipts`, {
        id: `r${part}`,
        lines: [{ line: 1, quantity: units }],
      });
    }
    if (last.status === 'receiving') last = await purchases(`/v1/purchase-orders/${id}/close`);
    if (last.status === 'received') counts.receipts += 1;
    else if (last.status === 'closed') counts.closed += 1;
    else if (parts.length === 0 && last.status === 'confirmed') counts.awaiting += 1;
    else counts.failed += 1;
  };

  const startedAt = Date.now();
  const endsAt = startedAt + options.durationS * 1000;
  const progress = setInterval(() => {
    const seconds = Math.round((Date.now() - startedAt) / 1000);
    console.error(
      `${seconds} s: ${counts.placed} placed (${counts.reserved} reserved, ${counts.rejected} rejected), ` +
        `${counts.paid + counts.partial} paid, ${counts.cancelled} cancelled, ${counts.abandoned} abandoned, ` +
        `${counts.receipts} receipts, ${counts.failed} failed; place p50 ${placing.percentile(50).toFixed(0)} ms p99 ${placing.percentile(99).toFixed(0)} ms`,
    );
  }, 1000);
  const orderEveryMs = 1000 / options.rate;
  const receiptEveryMs = options.receiptsPerSecond === 0 ? Number.POSITIVE_INFINITY : 1000 / options.receiptsPerSecond;
  let nextOrder = startedAt;
  let nextReceipt = startedAt;
  let orderIndex = 0;
  let receiptIndex = 0;
  const guard = (work: Promise<void>) =>
    work.catch((error: unknown) => {
      counts.failed += 1;
      console.error(`a request failed: ${(error as Error).message}`);
    });
  while (Date.now() < endsAt) {
    const now = Date.now();
    while (nextOrder <= now && inFlight.size < 512) {
      track(guard(oneOrder(orderIndex++)));
      nextOrder += orderEveryMs;
    }
    while (nextReceipt <= now) {
      track(guard(oneReceipt(receiptIndex++)));
      nextReceipt += receiptEveryMs;
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(1, Math.min(nextOrder, nextReceipt, endsAt) - Date.now())),
    );
  }
  await Promise.all(inFlight);
  clearInterval(progress);

  const elapsedS = (Date.now() - startedAt) / 1000;
  console.log(`\nSimulation ${run}: ${elapsedS.toFixed(1)} s`);
  console.log(`  orders placed   ${counts.placed} (${(counts.placed / elapsedS).toFixed(1)}/s)`);
  console.log(`    reserved      ${counts.reserved}`);
  console.log(`    rejected      ${counts.rejected} (not enough stock)`);
  console.log(`    paid          ${counts.paid} in full, ${counts.partial} in part`);
  console.log(`    cancelled     ${counts.cancelled}`);
  console.log(`    left unpaid   ${counts.abandoned} (they expire after the payment window)`);
  console.log(
    `  purchase orders ${counts.receipts} received, ${counts.closed} closed short, ${counts.awaiting} awaiting delivery`,
  );
  console.log(`  failed          ${counts.failed}`);
  console.log(
    `  place latency   p50 ${placing.percentile(50).toFixed(1)} ms, p99 ${placing.percentile(99).toFixed(1)} ms`,
  );
  console.log(
    `  pay latency     p50 ${paying.percentile(50).toFixed(1)} ms, p99 ${paying.percentile(99).toFixed(1)} ms`,
  );

  // Every order of the run against its reservation.
  const expected: Record<string, string | undefined> = {
    awaiting_payment: 'pending',
    paid: 'committed',
    cancelled: 'released',
    expired: 'expired',
  };
  let checked = 0;
  const mismatches: string[] = [];
  let after = '';
  for (;;) {
    const page = (await orders('GET', `/v1/orders?after=sim-${run}-${after}&limit=1000`)).body as unknown as {
      orders: Order[];
    };
    const mine = page.orders.filter((order) => order.id.startsWith(`sim-${run}-`));
    for (const order of mine) {
      const reservation = await inventory(`/v1/reservations/ord:${order.id}`);
      checked += 1;
      if (order.status === 'rejected') {
        if (reservation.status !== 404) mismatches.push(`${order.id} rejected, yet reserved`);
        continue;
      }
      const want = expected[order.status];
      if (want === undefined) mismatches.push(`${order.id} still ${order.status}`);
      else if (reservation.body.status !== want) {
        mismatches.push(`${order.id} ${order.status}, its reservation ${String(reservation.body.status)}`);
      }
    }
    if (mine.length < page.orders.length || page.orders.length < 1000) break;
    after = (mine.at(-1) as Order).id.slice(`sim-${run}-`.length);
  }
  console.log(`  orders checked against their reservations: ${checked}, ${mismatches.length} mismatched`);
  for (const mismatch of mismatches.slice(0, 20)) console.log(`    ${mismatch}`);
  const purchaseMismatches = await checkPurchaseOrders(
    (path) => inventory(path),
    async (path) => (await fetch(`${purchasesUrl}${path}`)).json() as Promise<Record<string, unknown>>,
    run,
    startHead,
  );
  const verified = await verify().then(
    ({ stdout }) => ({ ok: true, report: stdout }),
    (error: { stdout?: string }) => ({ ok: false, report: error.stdout ?? String(error) }),
  );
  console.log(`  inventory verify: ${verified.ok ? 'OK' : 'FAILED'}`);
  if (!verified.ok) console.log(verified.report);
  return mismatches.length === 0 && purchaseMismatches === 0 && verified.ok && counts.failed === 0 ? 0 : 1;
}

interface PurchaseLineView {
  readonly line: number;
  readonly sku: string;
  readonly location: string;
  readonly received: number;
  readonly incoming: number;
}

/**
 * Every line of the run's purchase orders against the inventory's ledger since the run began:
 * the units its receipts put on hand, and what is incoming for it (expected on confirm, less what
 * receipts settled and a close withdrew), must be what the purchase service says of the line.
 * Prints the count and the first mismatches; returns how many lines mismatched.
 */
async function checkPurchaseOrders(
  inventory: (path: string) => Promise<{ body: Record<string, unknown> }>,
  purchases: (path: string) => Promise<Record<string, unknown>>,
  run: string,
  after: number,
): Promise<number> {
  const ledger = new Map<string, { received: number; incoming: number }>();
  for (let position = after; ; ) {
    const page = (await inventory(`/v1/ledger?after=${position}&limit=1000`)).body as {
      events: LedgerEvent[];
      next: number;
    };
    for (const event of page.events) {
      if (event.reference === null || !event.reference.startsWith(`po:s${run}-`)) continue;
      const totals = ledger.get(event.reference) ?? { received: 0, incoming: 0 };
      if (event.type === 'StockReceived') totals.received += event.quantity;
      totals.incoming += event.incomingDelta;
      ledger.set(event.reference, totals);
    }
    if (page.events.length === 0) break;
    position = page.next;
  }
  const mismatches: string[] = [];
  let lines = 0;
  for (let from = `s${run}-`; ; ) {
    const page = (await purchases(`/v1/purchase-orders?after=${from}&limit=500`)) as {
      purchaseOrders: { id: string; lines: PurchaseLineView[] }[];
    };
    const mine = page.purchaseOrders.filter((order) => order.id.startsWith(`s${run}-`));
    for (const order of mine) {
      for (const line of order.lines) {
        lines += 1;
        const reference = `po:${order.id}#${line.line}`;
        const seen = ledger.get(reference) ?? { received: 0, incoming: 0 };
        if (seen.received !== line.received || seen.incoming !== line.incoming) {
          mismatches.push(
            `${reference}: the purchase service says ${line.received} received, ${line.incoming} incoming; ` +
              `the ledger ${seen.received} received, ${seen.incoming} incoming`,
          );
        }
      }
    }
    if (mine.length < page.purchaseOrders.length || page.purchaseOrders.length < 500) break;
    from = (mine.at(-1) as { id: string }).id;
  }
  console.log(`  purchase order lines checked against the ledger: ${lines}, ${mismatches.length} mismatched`);
  for (const mismatch of mismatches.slice(0, 20)) console.log(`    ${mismatch}`);
  return mismatches.length;
}
