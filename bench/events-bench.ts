import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as connectNats } from '@nats-io/transport-node';
import Database from 'better-sqlite3';
import { Connection } from 'rabbitmq-client';
import { createRuntime, openStore } from '../src/compose/runtime.js';
import { loadConfig } from '../src/config.js';
import type { EventEnvelope } from '../src/events/envelope.js';
import { stockAtPosition, stockAtTime } from '../src/events/read-side/point-in-time.js';
import { Projector } from '../src/events/read-side/projector.js';
import { SqliteReadDb } from '../src/events/read-side/sqlite/sqlite-read-db.js';
import { silentLog } from '../src/log.js';
import type { Store } from '../src/store/port.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { rebuild } from '../src/verify/rebuild.js';
import { verify } from '../src/verify/verify.js';
import { assertLoopback, postgresUrlDefault, withBenchDatabase } from './databases.js';
import { closedLoop } from './engine-bench.js';
import { percentile } from './measure.js';
import { flagsOf } from './options.js';
import { reserveOrder, seededRandom, setupWorkload, w1 } from './workload.js';

// `npm run bench -- --events`: the event side at scale, in one run.
// 1. On PostgreSQL, the engine at its W1 write rate (1,024 orders in flight) while relays publish
//    to RabbitMQ and NATS JetStream and a consumer of each measures the lag from commit (the
//    event's recordedAt) to its arrival; then how long each relay takes to drain what is left,
//    and the projector's catch-up over the same ledger.
// 2. On SQLite, a ledger of `--events-scale` events (10 million by default) written straight to
//    the tables: verify and rebuild over it (events/s), and stock at a past position and time
//    from the read models at a tenth of it and at all of it (latency percentiles).

export interface EventsBenchOptions {
  readonly durationMs: number;
  readonly scale: number;
  readonly postgresUrl: string;
  readonly amqpUrl: string;
  readonly natsUrl: string;
  readonly seed: number;
}

function parseEventsOptions(argv: readonly string[]): EventsBenchOptions {
  const { value, number } = flagsOf(argv);
  return {
    durationMs: number('--duration-ms', 10_000),
    scale: number('--events-scale', 10_000_000),
    seed: number('--seed', 1),
    postgresUrl: value('--postgres-url') ?? postgresUrlDefault,
    amqpUrl: value('--amqp-url') ?? 'amqp://guest:guest@127.0.0.1:5672',
    natsUrl: value('--nats-url') ?? 'nats://127.0.0.1:4222',
  };
}

/** What a consumer saw: arrivals by position (first copy only) and each one's lag from commit. */
class Arrivals {
  readonly lagsMs: number[] = [];
  private readonly seen = new Set<number>();
  measuring = false;

  arrived(event: EventEnvelope): void {
    if (this.seen.has(event.position)) return;
    this.seen.add(event.position);
    if (this.measuring) this.lagsMs.push(Date.now() - event.recordedAt);
  }

  get count(): number {
    return this.seen.size;
  }

  summary() {
    const sorted = Float64Array.from(this.lagsMs).sort();
    return { samples: sorted.length, lagMsP50: percentile(sorted, 0.5), lagMsP99: percentile(sorted, 0.99) };
  }
}

interface RelayRun {
  readonly destination: string;
  readonly eventsPerSecond: number;
  readonly lagMsP50: number;
  readonly lagMsP99: number;
  readonly samples: number;
  /** After the load stopped: until the relay's checkpoint reached the head. */
  readonly drainMs: number;
}

export interface EventsBenchResult {
  readonly writeEventsPerSecond: number;
  readonly ordersPerSecond: number;
  readonly relays: readonly RelayRun[];
  /** The running projector's lag while the load ran (its slowest model), sampled every 100 ms. */
  readonly projectorLagMsP50: number;
  readonly projectorLagMsP99: number;
  readonly projectorDrainMs: number;
  /** A projector from zero over the same ledger, alone. */
  readonly projectorEventsPerSecond: number;
  readonly projectedEvents: number;
  readonly scale: ScaleResult;
}

async function consumeRabbitmq(url: string, exchange: string, arrivals: Arrivals) {
  const connection = new Connection({ url, connectionName: 'skuld-bench-consumer' });
  connection.on('error', () => undefined);
  const queue = `${exchange}.bench`;
  const consumer = connection.createConsumer(
    {
      queue,
      queueOptions: { durable: false, exclusive: true },
      exchanges: [{ exchange, type: 'topic', durable: true }],
      queueBindings: [{ exchange, queue, routingKey: '#' }],
      qos: { prefetchCount: 2000 },
      concurrency: 1,
      requeue: false,
    },
    async (message) => {
      const body = message.body as unknown;
      arrivals.arrived((Buffer.isBuffer(body) ? JSON.parse(body.toString('utf8')) : body) as EventEnvelope);
    },
  );
  await new Promise<void>((resolve) => consumer.once('ready', () => resolve()));
  return async () => {
    await consumer.close();
    await connection.exchangeDelete({ exchange });
    await connection.close();
  };
}

async function consumeNats(url: string, stream: string, subject: string, arrivals: Arrivals) {
  const nc = await connectNats({ servers: url, name: 'skuld-bench-consumer' });
  const manager = await jetstreamManager(nc);
  await manager.streams.add({ name: stream, subjects: [`${subject}.>`] });
  const messages = await (await jetstream(nc).consumers.get(stream)).consume({ max_messages: 2000 });
  const done = (async () => {
    for await (const message of messages) arrivals.arrived(message.json<EventEnvelope>());
  })();
  return async () => {
    messages.stop();
    await done;
    await manager.streams.delete(stream);
    await nc.close();
  };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Part 1: the relays and the projector beside the engine's W1 load on PostgreSQL, composed as `skuld serve` composes them. */
async function relaysAtW1(options: EventsBenchOptions): Promise<Omit<EventsBenchResult, 'scale'>> {
  return withBenchDatabase('postgres', { postgres: options.postgresUrl, mysql: '' }, async (database) => {
    const name = `skuld-bench-${process.pid}-${Date.now().toString(36)}`;
    const stream = name.replaceAll('-', '_').toUpperCase();
    const dir = mkdtempSync(join(tmpdir(), 'skuld-bench-read-'));
    const config = loadConfig({
      ...database.env,
      SKULD_ENGINE_THREAD: 'on',
      SKULD_PROJECTOR: 'on',
      SKULD_READ_DATABASE_URL: `sqlite:${join(dir, 'read.db')}`,
      SKULD_RELAY: 'rabbitmq,nats',
      SKULD_AMQP_URL: options.amqpUrl,
      SKULD_NATS_URL: options.natsUrl,
      SKULD_RELAY_AMQP_EXCHANGE: name,
      SKULD_RELAY_NATS_STREAM: stream,
      SKULD_RELAY_NATS_SUBJECT: `bench.${stream}`,
      SKULD_LOG_LEVEL: 'warn',
    });
    const stops: (() => Promise<void>)[] = [];
    try {
      const setup = openStore(config, silentLog);
      await setup.migrate();
      console.error('events: setting up W1 on PostgreSQL');
      await setupWorkload(setup, w1);
      await setup.close();
      const arrivals = { rabbitmq: new Arrivals(), nats: new Arrivals() };
      stops.push(await consumeRabbitmq(options.amqpUrl, name, arrivals.rabbitmq));
      stops.push(await consumeNats(options.natsUrl, stream, `bench.${stream}`, arrivals.nats));
      const runtime = await createRuntime(config, undefined, silentLog);
      stops.push(() => runtime.close());
      const { relays } = runtime.relays;
      runtime.relays.start();
      const setupHead = await runtime.store.headPosition();
      console.error(`events: relays and projector taking in the ${setupHead} setup events`);
      const projected = async () => Math.min(...(await runtime.readSide.status()).models.map((m) => m.position));
      await until(
        async () => relays.every((relay) => relay.status().position === setupHead) && (await projected()) === setupHead,
        600_000,
      );
      for (const each of Object.values(arrivals)) each.measuring = true;
      const random = seededRandom(options.seed);
      const published = relays.map((relay) => relay.status().published);
      const projectorLagsMs: number[] = [];
      const sampling = setInterval(() => {
        void runtime.readSide.status().then((status) => {
          projectorLagsMs.push(Math.max(...status.models.map((m) => m.lagMs)));
        });
      }, 100);
      console.error(`events: W1 load for ${options.durationMs} ms`);
      const loop = await closedLoop(1024, options.durationMs, async (index) => {
        const { outcome } = await runtime.engine.execute(reserveOrder(w1, random, `o${index}`));
        return outcome.ok ? undefined : outcome.error.code;
      });
      clearInterval(sampling);
      await runtime.engine.drain();
      const loadEnded = Date.now();
      const head = await runtime.store.headPosition();
      const runs: RelayRun[] = [];
      for (const [index, relay] of relays.entries()) {
        const publishedDuring = relay.status().published - (published[index] ?? 0);
        await until(() => relay.status().position === head, 600_000);
        const destination = relay.status().destination as 'rabbitmq' | 'nats';
        const drainMs = Date.now() - loadEnded;
        await until(() => arrivals[destination].count >= head, 600_000);
        runs.push({
          destination,
          eventsPerSecond: (publishedDuring * 1000) / loop.elapsedMs,
          drainMs,
          ...arrivals[destination].summary(),
        });
      }
      await until(async () => (await projected()) === head, 600_000);
      const projectorDrainMs = Date.now() - loadEnded;
      const lags = Float64Array.from(projectorLagsMs).sort();
      const catchUp = await projectorCatchUp(runtime.store);
      return {
        writeEventsPerSecond: ((head - setupHead) * 1000) / loop.elapsedMs,
        ordersPerSecond: (loop.latencies.length * 1000) / loop.elapsedMs,
        relays: runs,
        projectorLagMsP50: percentile(lags, 0.5),
        projectorLagMsP99: percentile(lags, 0.99),
        projectorDrainMs,
        ...catchUp,
      };
    } finally {
      for (const stop of stops.reverse()) await stop().catch((error: unknown) => console.error(error));
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** The projector from zero over the store's whole ledger, into a fresh SQLite read database. */
async function projectorCatchUp(store: Store): Promise<{ projectorEventsPerSecond: number; projectedEvents: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'skuld-bench-read-'));
  const readDb = SqliteReadDb.open(join(dir, 'read.db'));
  try {
    await readDb.migrate();
    const projector = newProjector(store, readDb);
    const head = await store.headPosition();
    console.error(`events: projecting ${head} events`);
    const startedAt = performance.now();
    await projector.catchUp();
    return { projectorEventsPerSecond: (head * 1000) / (performance.now() - startedAt), projectedEvents: head };
  } finally {
    await readDb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function newProjector(store: Pick<Store, 'readLedger'>, readDb: SqliteReadDb): Projector {
  const config = loadConfig({});
  return new Projector({
    ledger: store,
    readDb,
    pageEventsMax: config.projectorPageEventsMax,
    snapshotIntervalEvents: config.readSnapshotIntervalEvents,
    lowStockThresholdDefault: config.lowStockThresholdDefault,
    log: silentLog,
  });
}

interface PointInTime {
  readonly events: number;
  readonly queries: number;
  readonly positionMsP50: number;
  readonly positionMsP99: number;
  readonly timeMsP50: number;
  readonly timeMsP99: number;
}

interface ScaleResult {
  readonly events: number;
  readonly generateEventsPerSecond: number;
  readonly verifyEventsPerSecond: number;
  readonly rebuildEventsPerSecond: number;
  readonly projectEventsPerSecond: number;
  readonly pointInTime: readonly PointInTime[];
}

const scaleItems = 10_000;
const scaleLocations = ['WH1', 'WH2'];
/** The synthetic ledger's clock: one event a millisecond from here, every fifth back-dated a day. */
const scaleEpochMs = Date.UTC(2026, 0, 1);
const dayMs = 86_400_000;

/**
 * Appends events to a SQLite store's tables straight, as the engine would have written them:
 * receipts and adjustments over 20,000 levels, balances-after and stream versions chained, one
 * event in five back-dated by up to a day, the levels and the head kept equal to the ledger.
 */
function appendSynthetic(path: string, from: number, count: number, state: Map<string, number[]>): void {
  const db = new Database(path);
  db.pragma('synchronous = OFF');
  const insert = db.prepare(
    'INSERT INTO ledger (position, type, sku, location, on_hand_delta, reserved_delta, on_hand_after, reserved_after, quantity, ' +
      'command_id, reservation_id, expires_at, peer_location, reason, reference, actor, occurred_at, recorded_at, stream_version, attributes) ' +
      'VALUES (?, ?, ?, ?, ?, 0, ?, 0, ?, ?, NULL, NULL, NULL, ?, NULL, ?, ?, ?, ?, NULL)',
  );
  const chunk = db.transaction((start: number, end: number) => {
    for (let position = start; position < end; position += 1) {
      const level = position % (scaleItems * scaleLocations.length);
      const sku = `SKU-${String(level % scaleItems).padStart(5, '0')}`;
      const location = scaleLocations[Math.floor(level / scaleItems)] as string;
      const key = `${sku}@${location}`;
      const [onHand = 0, version = 0] = state.get(key) ?? [];
      const adjust = position % 7 === 0 && onHand > 0;
      const delta = adjust ? -1 : 1 + (position % 3);
      const recordedAt = scaleEpochMs + position;
      const occurredAt = position % 5 === 0 ? recordedAt - (position % dayMs) : recordedAt;
      insert.run(
        position,
        adjust ? 'StockAdjusted' : 'StockReceived',
        sku,
        location,
        delta,
        onHand + delta,
        Math.abs(delta),
        `c${position}`,
        adjust ? 'shrinkage' : null,
        'bench',
        occurredAt,
        recordedAt,
        version + 1,
      );
      state.set(key, [onHand + delta, version + 1]);
    }
  });
  const chunkEvents = 200_000;
  for (let start = from; start < from + count; start += chunkEvents) {
    chunk(start, Math.min(start + chunkEvents, from + count));
    process.stderr.write(`events: ledger ${Math.min(start + chunkEvents, from + count) - 1} of ${from + count - 1}\r`);
  }
  process.stderr.write('\n');
  const upsert = db.prepare(
    'INSERT INTO levels (sku, location, on_hand, reserved, version, fence) VALUES (?, ?, ?, 0, ?, 0) ' +
      'ON CONFLICT (sku, location) DO UPDATE SET on_hand = excluded.on_hand, version = excluded.version',
  );
  db.transaction(() => {
    for (const [key, [onHand, version]] of state) {
      const [sku, location] = key.split('@') as [string, string];
      upsert.run(sku, location, onHand, version);
    }
    db.prepare('UPDATE ledger_head SET position = ? WHERE id = 1').run(from + count - 1);
  })();
  db.close();
}

/** Items registered through the ledger first, so that every level's item exists. */
function registerScaleItems(path: string): number {
  const db = new Database(path);
  const item = db.prepare(
    'INSERT INTO items (sku, name, allow_backorder, created_at, low_stock_threshold) VALUES (?, ?, 0, ?, NULL)',
  );
  const event = db.prepare(
    'INSERT INTO ledger (position, type, sku, location, on_hand_delta, reserved_delta, on_hand_after, reserved_after, quantity, ' +
      "command_id, actor, occurred_at, recorded_at, stream_version, attributes) VALUES (?, 'ItemRegistered', ?, '', 0, 0, 0, 0, 0, ?, 'bench', ?, ?, 1, ?)",
  );
  db.transaction(() => {
    for (let index = 0; index < scaleItems; index += 1) {
      const sku = `SKU-${String(index).padStart(5, '0')}`;
      item.run(sku, sku, scaleEpochMs);
      event.run(
        index + 1,
        sku,
        `reg-${sku}`,
        scaleEpochMs,
        scaleEpochMs,
        JSON.stringify({ name: sku, allowBackorder: false, lowStockThreshold: null }),
      );
    }
    db.prepare('UPDATE ledger_head SET position = ? WHERE id = 1').run(scaleItems);
  })();
  db.close();
  return scaleItems;
}

/** Stock of random items at random past positions and times (occurred clock): latency percentiles. */
async function pointInTimeLatency(readDb: SqliteReadDb, head: number, random: () => number): Promise<PointInTime> {
  const queries = 2_000;
  const byPosition = new Float64Array(queries);
  const byTime = new Float64Array(queries);
  for (let index = 0; index < queries; index += 1) {
    const sku = `SKU-${String(Math.floor(random() * scaleItems)).padStart(5, '0')}`;
    const position = 1 + Math.floor(random() * head);
    let startedAt = performance.now();
    await stockAtPosition(readDb, sku, position);
    byPosition[index] = performance.now() - startedAt;
    startedAt = performance.now();
    await stockAtTime(readDb, sku, scaleEpochMs + position, 'occurred');
    byTime[index] = performance.now() - startedAt;
  }
  byPosition.sort();
  byTime.sort();
  return {
    events: head,
    queries,
    positionMsP50: percentile(byPosition, 0.5),
    positionMsP99: percentile(byPosition, 0.99),
    timeMsP50: percentile(byTime, 0.5),
    timeMsP99: percentile(byTime, 0.99),
  };
}

/** Part 2: verify, rebuild and point in time over a large ledger on SQLite. */
async function atScale(options: EventsBenchOptions): Promise<ScaleResult> {
  const dir = mkdtempSync(join(tmpdir(), 'skuld-bench-scale-'));
  const path = join(dir, 'skuld.db');
  const readDb = SqliteReadDb.open(join(dir, 'read.db'));
  try {
    const setup = SqliteStore.open({ path, historyIntervalMs: 0 });
    await setup.migrate();
    await setup.close();
    await readDb.migrate();
    const state = new Map<string, number[]>();
    const first = registerScaleItems(path) + 1;
    const tenth = Math.max(first, Math.floor(options.scale / 10));
    const random = seededRandom(options.seed);
    const store = SqliteStore.open({ path, historyIntervalMs: 0 });
    const projector = newProjector(store, readDb);
    const pointInTime: PointInTime[] = [];
    let generateMs = 0;
    let projectMs = 0;
    try {
      for (const [from, to] of [
        [first, tenth],
        [tenth + 1, options.scale],
      ] as const) {
        if (to < from) continue;
        let startedAt = performance.now();
        appendSynthetic(path, from, to - from + 1, state);
        generateMs += performance.now() - startedAt;
        console.error(`events: projecting to ${to}`);
        startedAt = performance.now();
        await projector.catchUp();
        projectMs += performance.now() - startedAt;
        pointInTime.push(await pointInTimeLatency(readDb, to, random));
      }
      console.error(`events: verify over ${options.scale}`);
      let startedAt = performance.now();
      const report = await verify(store);
      const verifyMs = performance.now() - startedAt;
      if (!report.ok) throw new Error(`verify found ${report.mismatchCount} mismatches in the synthetic ledger`);
      console.error(`events: rebuild over ${options.scale}`);
      startedAt = performance.now();
      await rebuild(store);
      const rebuildMs = performance.now() - startedAt;
      const perSecond = (ms: number) => (options.scale * 1000) / ms;
      return {
        events: options.scale,
        generateEventsPerSecond: perSecond(generateMs),
        verifyEventsPerSecond: perSecond(verifyMs),
        rebuildEventsPerSecond: perSecond(rebuildMs),
        projectEventsPerSecond: perSecond(projectMs),
        pointInTime,
      };
    } finally {
      await store.close();
    }
  } finally {
    await readDb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function eventsReport(result: EventsBenchResult): string {
  const int = (n: number) => Math.round(n).toLocaleString('en-US');
  const ms = (n: number) => n.toFixed(n < 10 ? 2 : 0);
  const lines = [
    `W1 on PostgreSQL, 1,024 orders in flight, relays and consumers running: ${int(result.ordersPerSecond)} orders/s, ${int(result.writeEventsPerSecond)} events/s committed`,
    '',
    '| relay | events/s published during the load | lag p50 (ms) | lag p99 (ms) | drained after the load (ms) |',
    '|---|---:|---:|---:|---:|',
    ...result.relays.map(
      (r) =>
        `| ${r.destination} | ${int(r.eventsPerSecond)} | ${ms(r.lagMsP50)} | ${ms(r.lagMsP99)} | ${int(r.drainMs)} |`,
    ),
    '',
    `projector beside the load (its own thread, SQLite read database): lag p50 ${int(result.projectorLagMsP50)} ms, p99 ${int(result.projectorLagMsP99)} ms, caught up ${int(result.projectorDrainMs)} ms after the load`,
    `projector alone from zero over the same ${int(result.projectedEvents)} events: ${int(result.projectorEventsPerSecond)} events/s`,
    '',
    `SQLite, ${int(result.scale.events)} events (written straight to the tables at ${int(result.scale.generateEventsPerSecond)} events/s):`,
    `verify ${int(result.scale.verifyEventsPerSecond)} events/s, rebuild ${int(result.scale.rebuildEventsPerSecond)} events/s, projector ${int(result.scale.projectEventsPerSecond)} events/s`,
    '',
    '| ledger events | stock at a position p50 (ms) | p99 (ms) | stock at a time p50 (ms) | p99 (ms) |',
    '|---:|---:|---:|---:|---:|',
    ...result.scale.pointInTime.map(
      (p) =>
        `| ${int(p.events)} | ${ms(p.positionMsP50)} | ${ms(p.positionMsP99)} | ${ms(p.timeMsP50)} | ${ms(p.timeMsP99)} |`,
    ),
  ];
  return lines.join('\n');
}

export async function eventsBenchCli(argv: readonly string[]): Promise<number> {
  const options = parseEventsOptions(argv);
  for (const url of [options.postgresUrl, options.amqpUrl, options.natsUrl]) assertLoopback(url);
  const startedAt = performance.now();
  const relays = argv.includes('--skip-relays') ? undefined : await relaysAtW1(options);
  const scale = await atScale(options);
  const result: EventsBenchResult =
    relays === undefined
      ? {
          writeEventsPerSecond: 0,
          ordersPerSecond: 0,
          relays: [],
          projectorLagMsP50: 0,
          projectorLagMsP99: 0,
          projectorDrainMs: 0,
          projectorEventsPerSecond: 0,
          projectedEvents: 0,
          scale,
        }
      : { ...relays, scale };
  console.log(eventsReport(result));
  console.log(`\ntotal: ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);
  return 0;
}
