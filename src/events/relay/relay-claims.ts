import type { LeaseStore, StoreReads } from '../../store/port.js';
import type { RelayClaim } from './relay.js';

/**
 * A destination shared by every instance (a broker, a stream): one relay publishes to it at a
 * time, by a lease in the store that carries the checkpoint. The lease is renewed every third of
 * its time; a holder that dies stops renewing, and once its lease has expired the next instance
 * takes over from the checkpoint. The checkpoint moves only while the lease is held (fenced), so
 * a relay that stalled past its lease cannot move it back or skip another's work.
 */
export class LeasedClaim implements RelayClaim {
  private readonly leases: LeaseStore;
  private readonly name: string;
  private readonly holder: string;
  private readonly ttlMs: number;
  /** While held: the checkpoint and when the lease was last renewed. */
  private held: { position: number; renewedAt: number } | undefined;

  constructor(leases: LeaseStore, name: string, holder: string, ttlMs: number) {
    this.leases = leases;
    this.name = name;
    this.holder = holder;
    this.ttlMs = ttlMs;
  }

  async hold(now: number): Promise<number | null> {
    if (this.held !== undefined && now - this.held.renewedAt < this.ttlMs / 3) return this.held.position;
    if (!(await this.leases.acquire(this.name, this.holder, now, now + this.ttlMs))) {
      this.held = undefined;
      return null;
    }
    // Taken (or renewed): the checkpoint is the lease's, whoever moved it last.
    const lease = await this.leases.get(this.name);
    this.held = { position: lease?.position ?? 0, renewedAt: now };
    return this.held.position;
  }

  async advance(position: number, now: number): Promise<boolean> {
    if (this.held === undefined) return false;
    if (!(await this.leases.advance(this.name, this.holder, now, position))) {
      this.held = undefined;
      return false;
    }
    this.held.position = position;
    return true;
  }

  async release(): Promise<void> {
    if (this.held === undefined) return;
    this.held = undefined;
    await this.leases.release(this.name, this.holder);
  }
}

/**
 * This process's own listeners: nothing to share, and nothing to resume after a restart (the
 * listeners start anew with the process), so the relay starts at the ledger's head and keeps its
 * checkpoint in memory.
 */
export class LocalClaim implements RelayClaim {
  private readonly source: Pick<StoreReads, 'headPosition'>;
  private position: number | undefined;

  constructor(source: Pick<StoreReads, 'headPosition'>, from?: number) {
    this.source = source;
    this.position = from;
  }

  async hold(): Promise<number> {
    this.position ??= await this.source.headPosition();
    return this.position;
  }

  async advance(position: number): Promise<boolean> {
    this.position = position;
    return true;
  }

  async release(): Promise<void> {}
}
