import { Code, ConnectError } from '@connectrpc/connect';
import type { Log } from '../../log.js';
import type { InventoryPool } from '../inventory-client.js';
import type { ServiceDb, ServiceSql } from '../service-db.js';
import type { OrderService } from './orders.js';

// An unpaid order learns that its reservation expired from the inventory's own events: the
// service tails the ledger (WatchEvents) from the position it last saw, kept in its database in
// the same transaction as the orders it expires, so a restart neither misses nor repeats one.

const checkpointName = 'inventory-events';

export class ExpiryWatch {
  private running = true;
  private readonly abort = new AbortController();
  private done: Promise<void> | undefined;
  /** The last event seen, and the last position saved. */
  private position = 0;
  private saved = 0;

  constructor(
    private readonly options: {
      readonly db: ServiceDb;
      readonly inventory: InventoryPool;
      readonly orders: OrderService;
      readonly log: Log;
      /** How often the position is saved when no expiry moved it. */
      readonly saveEveryMs: number;
      readonly retryMs: number;
    },
  ) {}

  start(): void {
    this.done = this.loop();
  }

  /** The ledger position this service has seen up to. */
  seen(): number {
    return this.position;
  }

  async close(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.done;
    await this.save();
  }

  private async loop(): Promise<void> {
    const [row] = await this.options.db.all<{ position: number }>('SELECT position FROM checkpoints WHERE name = ?', [
      checkpointName,
    ]);
    this.position = Number(row?.position ?? 0);
    this.saved = this.position;
    const timer = setInterval(() => void this.save().catch(() => undefined), this.options.saveEveryMs);
    try {
      while (this.running) {
        try {
          await this.options.inventory.call(async (client) => {
            for await (const message of client.watchEvents(
              { after: BigInt(this.position) },
              { signal: this.abort.signal },
            )) {
              const event = message.event;
              if (event === undefined) continue;
              const position = Number(event.position);
              if (event.type === 'ReservationExpired' && event.reservationId?.startsWith('ord:')) {
                await this.options.db.transaction(async (sql) => {
                  await this.options.orders.reservationExpired(sql, event.reservationId as string);
                  await saveAt(sql, position);
                });
                this.saved = position;
              }
              this.position = position;
            }
          });
        } catch (error) {
          if (!this.running) return;
          const code = error instanceof ConnectError ? Code[error.code] : (error as { code?: unknown }).code;
          this.options.log.warn({ code, err: (error as Error).message }, 'the inventory event stream broke; resuming');
          await new Promise((resolve) => setTimeout(resolve, this.options.retryMs));
        }
      }
    } finally {
      clearInterval(timer);
    }
  }

  private async save(): Promise<void> {
    const position = this.position;
    if (position === this.saved) return;
    await this.options.db.transaction((sql) => saveAt(sql, position));
    this.saved = Math.max(this.saved, position);
  }
}

async function saveAt(sql: ServiceSql, position: number): Promise<void> {
  // The position only moves forward: a late save of an older one changes nothing.
  const changed = await sql.run('UPDATE checkpoints SET position = ? WHERE name = ? AND position < ?', [
    position,
    checkpointName,
    position,
  ]);
  if (changed === 0) {
    const [row] = await sql.all('SELECT position FROM checkpoints WHERE name = ?', [checkpointName]);
    if (row === undefined)
      await sql.run('INSERT INTO checkpoints (name, position) VALUES (?, ?)', [checkpointName, position]);
  }
}
