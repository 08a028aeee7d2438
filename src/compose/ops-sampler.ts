import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { InstanceDirectory, InstanceStatus } from '../api/commands.js';
import type { ReadSide } from '../events/read-side/read-side.js';
import type { Log } from '../log.js';
import type { OpsMetrics, OpsSample } from '../metrics/ops-metrics.js';
import type { Store } from '../store/port.js';
import { type Relays, relayLeaseName } from './relays.js';

// Each inventory instance, on a timer: records its heartbeat in the store, and samples the gauges
// that come from the store (reservations pending, the sweeper's lag, the relays' and projections'
// lag). Every read is bounded (one row, or a count that stops at a bound), and a scrape reads the
// last sample from memory: /metrics never waits for the store, however loaded it is.

/** Most pending reservations a sample counts: the count reads at most this many index entries. */
export const pendingCountMax = 100_000;
/** Most instances GET /v1/instances lists. */
export const instancesListMax = 100;
/** Heartbeats an instance may miss before it is listed unhealthy. */
const missedBeatsMax = 3;
/** An instance not seen for this long is deleted from the table (a crashed one is listed unhealthy until then). */
const instanceForgetMs = 60 * 60_000;

export interface InstanceAddresses {
  readonly httpUrl: string;
  readonly grpcUrl: string | null;
}

export interface OpsSamplerOptions {
  readonly store: Store;
  readonly relays: Relays;
  readonly readSide: ReadSide;
  readonly metrics: OpsMetrics;
  readonly intervalMs: number;
  readonly clock: () => number;
  readonly log: Log;
}

export class OpsSampler implements InstanceDirectory {
  /** This instance in the instances table: the host, the process and a random part (a restart is a new instance). */
  readonly instanceId = `${hostname().slice(0, 60)}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly options: OpsSamplerOptions;
  private readonly startedAt: number;
  private addresses: InstanceAddresses | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(options: OpsSamplerOptions) {
    this.options = options;
    this.startedAt = options.clock();
  }

  /** Samples now and every interval; with addresses (a server that listens), also beats. */
  start(addresses?: InstanceAddresses): void {
    this.addresses = addresses;
    if (this.timer !== undefined || this.ticking !== undefined) return;
    this.stopped = false;
    const next = () => {
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        if (this.stopped) return;
        this.timer = setTimeout(next, this.options.intervalMs);
        this.timer.unref();
      });
    };
    next();
  }

  /**
   * Stops sampling; an instance that beat takes its row out of the list, so that a restart or a
   * scale-down leaves no unhealthy instance behind (one that crashed is listed unhealthy instead).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
    if (this.addresses === undefined) return;
    this.addresses = undefined;
    await this.options.store.instances.remove(this.instanceId).catch((error: unknown) => {
      this.options.log.warn({ err: error }, 'this instance could not be taken out of the instances list');
    });
  }

  /** One heartbeat (when listening) and one sample; a failure is logged and counted, never thrown. */
  async tick(): Promise<void> {
    const { metrics, log } = this.options;
    try {
      await this.beat();
      metrics.record(await this.sample());
    } catch (error) {
      metrics.sampleFailures.inc();
      log.warn(
        { err: error, code: (error as { code?: unknown }).code },
        'ops sample failed; the gauges keep their last values',
      );
    }
  }

  async list(): Promise<InstanceStatus[]> {
    const now = this.options.clock();
    const healthyAfter = now - missedBeatsMax * this.options.intervalMs;
    const records = await this.options.store.instances.list(instancesListMax);
    return records.map((record) => ({ ...record, healthy: record.lastSeenAt >= healthyAfter }));
  }

  private async beat(): Promise<void> {
    if (this.addresses === undefined) return;
    const { store, clock } = this.options;
    const now = clock();
    await store.instances.beat({ id: this.instanceId, ...this.addresses, startedAt: this.startedAt, lastSeenAt: now });
    await store.instances.forget(now - instanceForgetMs);
  }

  /** The gauges' values now: a handful of one-row reads and one bounded count. */
  async sample(): Promise<OpsSample> {
    const { store, readSide, clock } = this.options;
    const now = clock();
    const pending = await store.pendingReservations(pendingCountMax);
    const overdueMs = pending.oldestExpiresAt === null ? 0 : Math.max(0, now - pending.oldestExpiresAt);
    const head = await store.headPosition();
    const ages = new Map<number, number>();
    const ageSeconds = async (position: number): Promise<number> => {
      if (position >= head) return 0;
      let age = ages.get(position);
      if (age === undefined) {
        const [next] = await store.readLedger(position, 1);
        age = next === undefined ? 0 : Math.max(0, now - next.recordedAt) / 1000;
        ages.set(position, age);
      }
      return age;
    };
    const relays = [];
    for (const relay of this.options.relays.relays) {
      const { destination, position: own } = relay.status();
      // A broker's checkpoint is the lease's, whichever instance publishes; this process's listeners' is its own.
      const position =
        destination === 'in-process' ? own : ((await store.leases.get(relayLeaseName(destination)))?.position ?? 0);
      relays.push({ destination, events: Math.max(0, head - position), seconds: await ageSeconds(position) });
    }
    const status = await readSide.status();
    const projections = status.models.map((model) => ({
      projection: model.model,
      events: model.lagEvents,
      seconds: model.lagMs / 1000,
    }));
    return { reservationsPending: pending.count, sweeperLagSeconds: overdueMs / 1000, relays, projections };
  }
}
