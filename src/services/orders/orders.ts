import { codePattern, quantityMax, reservationLinesMax } from '../../domain/limits.js';
import type { Log } from '../../log.js';
import { noTransitions, type OrderTransitions } from '../../metrics/service-metrics.js';
import type { FailpointHook } from '../failpoints.js';
import type { InventoryClient, InventoryPool } from '../inventory-client.js';
import { type CallResult, type OwedCall, OwedCalls } from '../owed-calls.js';
import type { ServiceDb, ServiceSql } from '../service-db.js';
import { errorsOf, type ServiceError } from '../service-http.js';

// Orders: placed, paid, cancelled, or left to expire. Every call an order owes the inventory is
// written to the outbox in the same transaction as the order's change, and its command id is
// derived from the order (`ord:<id>` reserves, `ord:<id>:pay` commits, `ord:<id>:cancel`
// releases). A call is made after that commit, and again after any failure or restart until the
// inventory has answered it: the inventory answers a repeated id from its record, so a retry
// never reserves, ships or releases twice. Only the first answer to an outbox row moves the order.

/** The order service's refusals: a stable code and its HTTP status. */
export const orderErrorStatus = {
  VALIDATION_FAILED: 400,
  INVALID_QUANTITY: 400,
  INVALID_LINES: 400,
  ORDER_NOT_FOUND: 404,
  IDEMPOTENCY_CONFLICT: 422,
  ORDER_STATE_CONFLICT: 409,
  COMMIT_EXCEEDS_ORDER: 409,
} as const;

const orderError = errorsOf(orderErrorStatus);

export type OrderStatus =
  | 'placing'
  | 'awaiting_payment'
  | 'rejected'
  | 'paying'
  | 'paid'
  | 'cancelling'
  | 'cancelled'
  | 'expired';

export const orderStatuses: readonly OrderStatus[] = [
  'placing',
  'awaiting_payment',
  'rejected',
  'paying',
  'paid',
  'cancelling',
  'cancelled',
  'expired',
];

export interface OrderLine {
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
}

export interface Order {
  readonly id: string;
  readonly customer: string;
  readonly lines: readonly OrderLine[];
  readonly status: OrderStatus;
  /** Why it was rejected, or why the last call failed (a stable code of the inventory). */
  readonly reason: string | null;
  /** What the payment shipped, per line (a partial shipment ships less than ordered). */
  readonly shipped: readonly OrderLine[] | null;
  /** When the stock held for it is released if it is not paid. */
  readonly expiresAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** The order an inventory command id belongs to. */
export function orderOfCommand(commandId: string): string | undefined {
  return /^ord:([^:]+)/.exec(commandId)?.[1];
}

export const reservationIdOf = (orderId: string) => `ord:${orderId}`;
const payIdOf = (orderId: string) => `ord:${orderId}:pay`;
const cancelIdOf = (orderId: string) => `ord:${orderId}:cancel`;

/** Order ids: as command ids, short enough for the ids derived from them. */
export const orderIdPattern = '^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$';

interface OrderRow {
  id: string;
  customer: string;
  lines: string;
  status: OrderStatus;
  reason: string | null;
  shipped: string | null;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
}

function orderOf(row: OrderRow): Order {
  return {
    id: row.id,
    customer: row.customer,
    lines: JSON.parse(row.lines) as OrderLine[],
    status: row.status,
    reason: row.reason,
    shipped: row.shipped === null ? null : (JSON.parse(row.shipped) as OrderLine[]),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export interface OrderServiceOptions {
  readonly db: ServiceDb;
  readonly inventory: InventoryPool;
  readonly log: Log;
  /** How long an order may stay unpaid: its reservation's TTL. */
  readonly paymentWindowMs: number;
  /** How often owed calls that failed are tried again. */
  readonly retryMs: number;
  readonly now?: () => number;
  /** Crash tests: called at each step of an owed call (failpoints.ts). */
  readonly failpoint?: FailpointHook;
  /** Told each status an order reaches (the service's metrics). */
  readonly transitions?: OrderTransitions;
}

export class OrderService {
  private readonly db: ServiceDb;
  private readonly now: () => number;
  private readonly failpoint: FailpointHook;
  private readonly calls: OwedCalls;
  private readonly transitions: OrderTransitions;

  constructor(private readonly options: OrderServiceOptions) {
    this.db = options.db;
    this.transitions = options.transitions ?? noTransitions;
    this.now = options.now ?? Date.now;
    this.failpoint = options.failpoint ?? (() => undefined);
    this.calls = new OwedCalls({
      db: options.db,
      ownerColumn: 'order_id',
      inventory: options.inventory,
      call: (client, callOptions, row) => this.call(client, callOptions, row),
      answered: (sql, row, result) => this.answered(sql, row, result),
      log: options.log,
      retryMs: options.retryMs,
      now: this.now,
      afterAnswer: () => this.failpoint('orders:answered'),
    });
  }

  /** Starts making the calls owed: at once (a restart's leftovers), then every retry period. */
  start(): void {
    this.calls.start();
  }

  async close(): Promise<void> {
    await this.calls.close();
  }

  /** Calls owed to the inventory and not yet answered, counted up to `countMax`. */
  owedCalls(countMax: number): Promise<number> {
    return this.calls.pending(countMax);
  }

  async get(id: string): Promise<Order | undefined> {
    const [row] = await this.db.all<OrderRow>('SELECT * FROM orders WHERE id = ?', [id]);
    return row === undefined ? undefined : orderOf(row);
  }

  async list(filter: { status?: OrderStatus; customer?: string; after?: string; limit: number }): Promise<Order[]> {
    const where = ['id > ?'];
    const params: (string | number)[] = [filter.after ?? ''];
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.customer !== undefined) {
      where.push('customer = ?');
      params.push(filter.customer);
    }
    const sql = `SELECT * FROM orders WHERE ${where.join(' AND ')} ORDER BY id LIMIT ?`;
    return (await this.db.all<OrderRow>(sql, [...params, filter.limit])).map(orderOf);
  }

  /** Counts of orders per status. */
  async counts(): Promise<Record<OrderStatus, number>> {
    const rows = await this.db.all<{ status: OrderStatus; n: number }>(
      'SELECT status, COUNT(*) AS n FROM orders GROUP BY status',
    );
    const counts = Object.fromEntries(orderStatuses.map((status) => [status, 0])) as Record<OrderStatus, number>;
    for (const row of rows) counts[row.status] = Number(row.n);
    return counts;
  }

  /**
   * Places an order: all its lines are reserved or none. Placing the same id again answers the
   * same order; the same id with other contents is refused.
   */
  async place(input: { id: string; customer: string; lines: readonly OrderLine[] }): Promise<Order> {
    const refused = checkLines(input.lines);
    if (refused !== undefined) throw refused;
    const now = this.now();
    const created = await this.db.transaction(async (sql) => {
      const [existing] = await sql.all<OrderRow>('SELECT * FROM orders WHERE id = ?', [input.id]);
      if (existing !== undefined) {
        const order = orderOf(existing);
        if (order.customer !== input.customer || !sameLines(order.lines, input.lines)) {
          throw orderError('IDEMPOTENCY_CONFLICT', `order ${input.id} exists with other contents`, { id: input.id });
        }
        return false;
      }
      await sql.run(
        `INSERT INTO orders (id, customer, lines, status, reason, shipped, expires_at, created_at, updated_at)
         VALUES (?, ?, ?, 'placing', NULL, NULL, NULL, ?, ?)`,
        [input.id, input.customer, JSON.stringify(input.lines), now, now],
      );
      const reserve = { lines: input.lines, ttlMs: this.options.paymentWindowMs };
      await this.calls.owe(sql, input.id, reservationIdOf(input.id), 'reserve', reserve);
      return true;
    });
    if (created) {
      this.transitions.reached('placing');
      this.options.log.info({ order: input.id }, 'order placed');
    }
    this.failpoint('orders:owed');
    await this.settle(input.id);
    return (await this.get(input.id)) as Order;
  }

  /**
   * Pays an order: its reservation is committed. `lines` ships part of it (each at most what was
   * ordered); the units not shipped are released. Paying again answers the paid order.
   */
  async pay(id: string, lines?: readonly OrderLine[]): Promise<Order> {
    await this.settle(id);
    await this.db.transaction(async (sql) => {
      const order = await this.locked(sql, id);
      if (order.status === 'paying' || order.status === 'paid') return;
      if (order.status !== 'awaiting_payment') throw notNow(order, 'paid');
      if (lines !== undefined) {
        const refused = checkLines(lines) ?? exceedsOrder(order, lines);
        if (refused !== undefined) throw refused;
      }
      await this.move(sql, id, 'paying', { reason: null });
      await this.calls.owe(sql, id, payIdOf(id), 'commit', { lines: lines ?? null });
    });
    this.failpoint('orders:owed');
    await this.settle(id);
    return (await this.get(id)) as Order;
  }

  /** Cancels an unpaid order: its reservation is released. Cancelling again answers the cancelled order. */
  async cancel(id: string): Promise<Order> {
    await this.db.transaction(async (sql) => {
      const order = await this.locked(sql, id);
      if (order.status === 'cancelling' || order.status === 'cancelled') return;
      if (order.status !== 'awaiting_payment' && order.status !== 'placing') throw notNow(order, 'cancelled');
      await this.move(sql, id, 'cancelling', {});
      await this.calls.owe(sql, id, cancelIdOf(id), 'release', { reason: 'order cancelled' });
    });
    this.failpoint('orders:owed');
    await this.settle(id);
    return (await this.get(id)) as Order;
  }

  /** The inventory expired an order's reservation: an order still unpaid is expired. */
  async reservationExpired(sql: ServiceSql, reservationId: string): Promise<void> {
    const id = orderOfCommand(reservationId);
    if (id === undefined || reservationIdOf(id) !== reservationId) return;
    const changed = await sql.run(
      "UPDATE orders SET status = 'expired', updated_at = ? WHERE id = ? AND status = 'awaiting_payment'",
      [this.now(), id],
    );
    if (changed > 0) {
      this.transitions.reached('expired');
      this.options.log.info({ order: id }, 'order expired unpaid');
    }
  }

  /** Makes every call owed (a restart's leftovers among them). */
  flush(): Promise<void> {
    return this.calls.flush();
  }

  private settle(orderId: string): Promise<void> {
    return this.calls.settle(orderId);
  }

  /** One owed call, by its kind. */
  private async call(client: InventoryClient, options: { timeoutMs: number }, row: OwedCall): Promise<unknown> {
    const { payload } = row;
    const grpcLines = (lines: readonly OrderLine[]) =>
      lines.map((line) => ({ ...line, quantity: BigInt(line.quantity) }));
    switch (row.kind) {
      case 'reserve': {
        const request = {
          id: row.commandId,
          lines: grpcLines(payload.lines as OrderLine[]),
          ttlMs: BigInt(payload.ttlMs as number),
          reference: row.ownerId,
        };
        const answer = await client.reserveStock(request, options);
        return { expiresAt: Number(answer.reservation?.expiresAt ?? 0) };
      }
      case 'commit': {
        const request = {
          id: row.commandId,
          reservationId: reservationIdOf(row.ownerId),
          lines: grpcLines((payload.lines as OrderLine[] | null) ?? []),
        };
        const answer = await client.commitReservation(request, options);
        const shipped = (answer.reservation?.lines ?? []).map((line) => ({
          sku: line.sku,
          location: line.location,
          quantity: Number(line.committed ?? 0n),
        }));
        return { shipped };
      }
      default: {
        const request = {
          id: row.commandId,
          reservationId: reservationIdOf(row.ownerId),
          reason: payload.reason as string,
        };
        await client.releaseReservation(request, options);
        return {};
      }
    }
  }

  /** The inventory answered a call: the order moves, once. */
  private async answered(sql: ServiceSql, row: OwedCall, result: CallResult): Promise<void> {
    const order = await this.locked(sql, row.ownerId);
    const value = (result.ok ? result.value : {}) as { expiresAt?: number; shipped?: OrderLine[] };
    const refusal = result.ok ? undefined : result.refusal;
    switch (row.kind) {
      case 'reserve':
        if (order.status !== 'placing') return;
        if (refusal === undefined) await this.move(sql, order.id, 'awaiting_payment', { expiresAt: value.expiresAt });
        else await this.move(sql, order.id, 'rejected', { reason: refusal });
        return;
      case 'commit':
        if (order.status !== 'paying') return;
        if (refusal === undefined) await this.move(sql, order.id, 'paid', { shipped: value.shipped ?? [] });
        else if (refusal === 'RESERVATION_EXPIRED') await this.move(sql, order.id, 'expired', { reason: refusal });
        else await this.move(sql, order.id, 'awaiting_payment', { reason: refusal });
        return;
      case 'release':
        if (order.status !== 'cancelling') return;
        if (refusal === 'RESERVATION_ALREADY_COMMITTED') await this.move(sql, order.id, 'paid', { reason: refusal });
        // Released, expired meanwhile, or never reserved: no stock is held for it either way.
        else await this.move(sql, order.id, 'cancelled', { reason: refusal ?? null });
        return;
    }
  }

  private async locked(sql: ServiceSql, id: string): Promise<Order> {
    const lock = this.db.dialect === 'postgres' ? ' FOR UPDATE' : '';
    const [row] = await sql.all<OrderRow>(`SELECT * FROM orders WHERE id = ?${lock}`, [id]);
    if (row === undefined) throw orderError('ORDER_NOT_FOUND', `no order ${id}`, { id });
    return orderOf(row);
  }

  private async move(
    sql: ServiceSql,
    id: string,
    status: OrderStatus,
    changes: { reason?: string | null; shipped?: readonly OrderLine[]; expiresAt?: number | undefined },
  ): Promise<void> {
    const sets = ['status = ?', 'updated_at = ?'];
    const params: (string | number | null)[] = [status, this.now()];
    if (changes.reason !== undefined) {
      sets.push('reason = ?');
      params.push(changes.reason);
    }
    if (changes.shipped !== undefined) {
      sets.push('shipped = ?');
      params.push(JSON.stringify(changes.shipped));
    }
    if (changes.expiresAt !== undefined) {
      sets.push('expires_at = ?');
      params.push(changes.expiresAt);
    }
    await sql.run(`UPDATE orders SET ${sets.join(', ')} WHERE id = ?`, [...params, id]);
    // Counted as written, in the transaction: one that then fails to commit is counted all the same (rare).
    this.transitions.reached(status);
  }
}

const codeRegExp = new RegExp(codePattern);

function checkLines(lines: readonly OrderLine[]): ServiceError | undefined {
  if (lines.length === 0 || lines.length > reservationLinesMax) {
    return orderError('VALIDATION_FAILED', `an order has 1 to ${reservationLinesMax} lines`, { field: 'lines' });
  }
  const keys = new Set<string>();
  for (const line of lines) {
    if (!codeRegExp.test(line.sku) || !codeRegExp.test(line.location)) {
      return orderError('VALIDATION_FAILED', 'a line has a malformed sku or location', { field: 'lines' });
    }
    if (!Number.isSafeInteger(line.quantity) || line.quantity < 1 || line.quantity > quantityMax) {
      return orderError('INVALID_QUANTITY', `a line's quantity is an integer from 1 to ${quantityMax}`, {
        field: 'lines',
      });
    }
    const key = `${line.sku}@${line.location}`;
    if (keys.has(key)) return orderError('INVALID_LINES', `${key} appears twice`, { field: 'lines' });
    keys.add(key);
  }
  return undefined;
}

function exceedsOrder(order: Order, lines: readonly OrderLine[]): ServiceError | undefined {
  for (const line of lines) {
    const ordered = order.lines.find((o) => o.sku === line.sku && o.location === line.location);
    if (ordered === undefined || line.quantity > ordered.quantity) {
      return orderError('COMMIT_EXCEEDS_ORDER', `${line.sku}@${line.location}: more than ordered`, {
        field: 'lines',
      });
    }
  }
  return undefined;
}

function sameLines(a: readonly OrderLine[], b: readonly OrderLine[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b.map(({ sku, location, quantity }) => ({ sku, location, quantity })));
}

function notNow(order: Order, wanted: string): ServiceError {
  return orderError('ORDER_STATE_CONFLICT', `order ${order.id} is ${order.status}: it cannot be ${wanted}`, {
    id: order.id,
    orderStatus: order.status,
  });
}
