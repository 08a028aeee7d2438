import { Code, ConnectError } from '@connectrpc/connect';
import type { Log } from '../log.js';
import { type InventoryClient, type InventoryPool, refusalCode } from './inventory-client.js';
import type { ServiceDb, ServiceSql } from './service-db.js';

// The calls a service owes the inventory: its outbox. A change of the service's own state that
// owes a call writes the call (a row of `outbox`) in the same transaction. The call is made
// after that commit, and again after any failure or restart until the inventory has answered
// it; its command id is derived from what it is for, so the inventory answers a repeat from its
// record and a call made twice takes effect once. Only the first answer recorded for a row is
// handed on. One owner's calls (an order's, a purchase order's) are made one at a time, in the
// order they were owed.

/** The outbox's table and index, for a service's migrations; `ownerColumn` names the owner. */
export function outboxSchema(ownerColumn: string): string[] {
  return [
    `CREATE TABLE outbox (
      command_id TEXT PRIMARY KEY,
      ${ownerColumn} TEXT NOT NULL,
      kind TEXT NOT NULL,
      payload TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      attempts INTEGER NOT NULL,
      done_at BIGINT
    )`,
    'CREATE INDEX outbox_pending ON outbox (done_at, created_at)',
  ];
}

export interface OwedCall {
  readonly commandId: string;
  readonly ownerId: string;
  readonly kind: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** How a call ended: answered, refused with a stable code (final), or neither (made again later). */
export type CallResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly refusal: string | undefined };

export interface OwedCallsOptions {
  readonly db: ServiceDb;
  /** The outbox's column that names the owner (`order_id`, `owner_id`). */
  readonly ownerColumn: string;
  readonly inventory: InventoryPool;
  /** Makes one call; what it returns is the answer's value. */
  readonly call: (client: InventoryClient, options: { timeoutMs: number }, row: OwedCall) => Promise<unknown>;
  /** The inventory answered (or refused) a call: the owner's state follows, in this transaction. */
  readonly answered: (sql: ServiceSql, row: OwedCall, result: CallResult) => Promise<void>;
  readonly log: Log;
  /** How often calls that failed are made again. */
  readonly retryMs: number;
  readonly now: () => number;
  /** Crash tests: called when an answer came, before it is recorded. */
  readonly afterAnswer?: () => void;
}

interface OutboxRow {
  command_id: string;
  owner: string;
  kind: string;
  payload: string;
}

export class OwedCalls {
  /** Calls in progress per owner. */
  private readonly busy = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: OwedCallsOptions) {}

  /**
   * Records a call owed, inside the transaction that changes the owner. Its `created_at` is later
   * than every call the owner still owes, even within one millisecond, so "in the order owed" is
   * the order of `created_at` (a receipt's call must never overtake the call that announced it).
   */
  async owe(sql: ServiceSql, ownerId: string, commandId: string, kind: string, payload: unknown): Promise<void> {
    const owner = this.options.ownerColumn;
    const [last] = await sql.all<{ last: number | string | null }>(
      `SELECT MAX(created_at) AS last FROM outbox WHERE done_at IS NULL AND ${owner} = ?`,
      [ownerId],
    );
    const createdAt = Math.max(this.options.now(), Number(last?.last ?? 0) + 1);
    await sql.run(
      `INSERT INTO outbox (command_id, ${owner}, kind, payload, created_at, attempts, done_at)
       VALUES (?, ?, ?, ?, ?, 0, NULL)`,
      [commandId, ownerId, kind, JSON.stringify(payload), createdAt],
    );
  }

  /** Starts making the calls owed: at once (a restart's leftovers), then every retry period. */
  start(): void {
    const tick = async () => {
      if (this.closed) return;
      try {
        await this.flush();
      } catch (error) {
        this.options.log.warn({ err: error }, 'owed inventory calls: a pass failed; it is tried again');
      }
      if (!this.closed) this.timer = setTimeout(tick, this.options.retryMs);
    };
    void tick();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.all(this.busy.values());
  }

  /** Calls owed and not yet answered, counted up to `countMax` (a bounded read of the outbox's index). */
  async pending(countMax: number): Promise<number> {
    const [row] = await this.options.db.all<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM outbox WHERE done_at IS NULL LIMIT ?) owed',
      [countMax],
    );
    return Number(row?.n ?? 0);
  }

  /** Makes every call owed, each owner's in turn. */
  async flush(): Promise<void> {
    const owner = this.options.ownerColumn;
    const rows = await this.options.db.all<{ owner: string }>(
      `SELECT DISTINCT ${owner} AS owner FROM outbox WHERE done_at IS NULL ORDER BY ${owner} LIMIT 500`,
    );
    await Promise.all(rows.map((row) => this.settle(row.owner)));
  }

  /** Makes the calls an owner owes, in the order owed; returns when none is left or one failed. */
  settle(ownerId: string): Promise<void> {
    const before = this.busy.get(ownerId) ?? Promise.resolve();
    const tracked: Promise<void> = before
      .then(() => this.callsOf(ownerId))
      .finally(() => {
        if (this.busy.get(ownerId) === tracked) this.busy.delete(ownerId);
      });
    this.busy.set(ownerId, tracked);
    return tracked;
  }

  private async callsOf(ownerId: string): Promise<void> {
    const { db, ownerColumn } = this.options;
    for (;;) {
      const [row] = await db.all<OutboxRow>(
        `SELECT command_id, ${ownerColumn} AS owner, kind, payload FROM outbox
         WHERE ${ownerColumn} = ? AND done_at IS NULL ORDER BY created_at, command_id LIMIT 1`,
        [ownerId],
      );
      if (row === undefined) return;
      const call: OwedCall = {
        commandId: row.command_id,
        ownerId: row.owner,
        kind: row.kind,
        payload: JSON.parse(row.payload) as Record<string, unknown>,
      };
      const result = await this.send(call);
      this.options.afterAnswer?.();
      if (!result.ok && result.refusal === undefined) {
        await db.run('UPDATE outbox SET attempts = attempts + 1 WHERE command_id = ?', [call.commandId]);
        return;
      }
      await db.transaction(async (sql) => {
        const done = await sql.run('UPDATE outbox SET done_at = ? WHERE command_id = ? AND done_at IS NULL', [
          this.options.now(),
          call.commandId,
        ]);
        if (done > 0) await this.options.answered(sql, call, result);
      });
    }
  }

  private async send(call: OwedCall): Promise<CallResult> {
    try {
      const value = await this.options.inventory.call((client, options) => this.options.call(client, options, call));
      return { ok: true, value };
    } catch (error) {
      const refusal = refusalCode(error);
      if (refusal === undefined) {
        const failure = error instanceof ConnectError ? { code: Code[error.code], err: error.message } : { err: error };
        this.options.log.warn(
          { owner: call.ownerId, command: call.commandId, ...failure },
          'an inventory call failed; it is tried again',
        );
      }
      return { ok: false, refusal };
    }
  }
}
