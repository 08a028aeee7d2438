import { quantityMax, reservationLinesMax } from '../../domain/limits.js';
import type { Log } from '../../log.js';
import { noTransitions, type OrderTransitions } from '../../metrics/service-metrics.js';
import type { FailpointHook } from '../failpoints.js';
import type { InventoryClient, InventoryPool } from '../inventory-client.js';
import { type CallResult, type OwedCall, OwedCalls } from '../owed-calls.js';
import type { ServiceDb, ServiceSql } from '../service-db.js';
import { errorsOf } from '../service-http.js';

// Purchase orders: a supplier's lines (SKU, location, quantity, expected date), drafted, then
// confirmed; receipts against their lines, in part, in full or beyond what was ordered, each line
// received becoming the inventory's ReceiveStock (the PO line as its reference) through the
// outbox, with a command id derived from the PO, the receipt and the line: a receipt sent twice,
// or made again after a crash, is received once. A PO still short can be closed.
//
// The inventory knows what is on its way: confirming a PO raises each line's level `incoming` by
// what was ordered (ExpectStock), a receipt settles what it brings of it in the same transaction
// that puts the units on hand (ReceiveStock's `fromIncoming`), and closing a PO short withdraws
// what will not come. A line's calls are made in the order owed, one at a time, so how much a
// receipt settles (and a close withdraws) is computed when its call is made, from the answers to
// the calls before it: the same on every repeat of the call, and never more than the inventory
// was told to expect for the line (an expectation it refused settles nothing).

export const purchaseErrorStatus = {
  VALIDATION_FAILED: 400,
  INVALID_LINES: 400,
  PURCHASE_ORDER_NOT_FOUND: 404,
  PURCHASE_ORDER_STATE_CONFLICT: 409,
  IDEMPOTENCY_CONFLICT: 422,
} as const;

const purchaseError = errorsOf(purchaseErrorStatus);

export type PurchaseOrderStatus = 'draft' | 'confirmed' | 'receiving' | 'received' | 'closed' | 'cancelled';

export const purchaseOrderStatuses: readonly PurchaseOrderStatus[] = [
  'draft',
  'confirmed',
  'receiving',
  'received',
  'closed',
  'cancelled',
];

/** Purchase order and receipt ids: short enough for the command ids derived from both. */
export const purchaseIdPattern = '^[A-Za-z0-9][A-Za-z0-9._-]{0,23}$';

export interface PurchaseLineInput {
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
  readonly expectedAt?: number | undefined;
}

export interface PurchaseLine {
  /** The line's number in its PO, from 1. */
  readonly line: number;
  readonly sku: string;
  readonly location: string;
  readonly ordered: number;
  /** Units the inventory has taken in against the line (more than ordered on an over-delivery). */
  readonly received: number;
  /** Units of receipts the inventory refused (an unknown item, a level past its limit). */
  readonly refused: number;
  /** Ordered units not received yet (none once the PO is closed). */
  readonly outstanding: number;
  /** Units of the line the inventory counts as incoming now: expected on confirm, less what receipts settled or a close withdrew. */
  readonly incoming: number;
  readonly expectedAt: number | null;
}

export interface PurchaseOrder {
  readonly id: string;
  readonly supplier: string;
  readonly status: PurchaseOrderStatus;
  /** The stable code of the last refusal of a receipt line, if any. */
  readonly reason: string | null;
  readonly lines: readonly PurchaseLine[];
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ReceiptLineInput {
  readonly line: number;
  readonly quantity: number;
}

interface OrderRow {
  id: string;
  supplier: string;
  status: PurchaseOrderStatus;
  reason: string | null;
  created_at: number;
  updated_at: number;
}

interface LineRow {
  line: number;
  sku: string;
  location: string;
  ordered: number;
  received: number;
  refused: number;
  expected_at: number | null;
  /** Units the inventory accepted as incoming for the line (its ExpectStock answered). */
  incoming: number;
  /** Of them, units receipts settled. */
  settled: number;
  /** Of them, units a close withdrew. */
  withdrawn: number;
}

export interface PurchaseServiceOptions {
  readonly db: ServiceDb;
  readonly inventory: InventoryPool;
  readonly log: Log;
  readonly retryMs: number;
  readonly now?: () => number;
  readonly failpoint?: FailpointHook;
  /** Told each status a purchase order reaches (the service's metrics). */
  readonly transitions?: OrderTransitions;
}

export class PurchaseService {
  private readonly db: ServiceDb;
  private readonly now: () => number;
  private readonly calls: OwedCalls;
  private readonly transitions: OrderTransitions;

  constructor(options: PurchaseServiceOptions) {
    this.db = options.db;
    this.transitions = options.transitions ?? noTransitions;
    this.now = options.now ?? Date.now;
    const failpoint = options.failpoint ?? (() => undefined);
    this.calls = new OwedCalls({
      db: options.db,
      ownerColumn: 'owner_id',
      inventory: options.inventory,
      call: (client, callOptions, row) => this.call(client, callOptions, row),
      answered: (sql, row, result) => this.answered(sql, row, result),
      log: options.log,
      retryMs: options.retryMs,
      now: this.now,
      afterAnswer: () => failpoint('purchases:answered'),
    });
  }

  start(): void {
    this.calls.start();
  }

  close(): Promise<void> {
    return this.calls.close();
  }

  /** Calls owed to the inventory and not yet answered, counted up to `countMax`. */
  owedCalls(countMax: number): Promise<number> {
    return this.calls.pending(countMax);
  }

  async get(id: string): Promise<PurchaseOrder | undefined> {
    const [row] = await this.db.all<OrderRow>('SELECT * FROM purchase_orders WHERE id = ?', [id]);
    return row === undefined ? undefined : this.withLines(this.db, row);
  }

  async list(filter: { status?: PurchaseOrderStatus; after?: string; limit: number }): Promise<PurchaseOrder[]> {
    const params: (string | number)[] = [filter.after ?? ''];
    let where = 'id > ?';
    if (filter.status !== undefined) {
      where += ' AND status = ?';
      params.push(filter.status);
    }
    const rows = await this.db.all<OrderRow>(`SELECT * FROM purchase_orders WHERE ${where} ORDER BY id LIMIT ?`, [
      ...params,
      filter.limit,
    ]);
    return Promise.all(rows.map((row) => this.withLines(this.db, row)));
  }

  /** Drafts a PO. The same id again answers the same PO; with other contents it is refused. */
  async create(input: { id: string; supplier: string; lines: readonly PurchaseLineInput[] }): Promise<PurchaseOrder> {
    const refused = checkLines(input.lines);
    if (refused !== undefined) throw refused;
    await this.db.transaction(async (sql) => {
      const [existing] = await sql.all<OrderRow>('SELECT * FROM purchase_orders WHERE id = ?', [input.id]);
      if (existing !== undefined) {
        const order = await this.withLines(sql, existing);
        const same =
          order.supplier === input.supplier &&
          order.lines.length === input.lines.length &&
          input.lines.every((line, index) => {
            const stored = order.lines[index] as PurchaseLine;
            return (
              stored.sku === line.sku &&
              stored.location === line.location &&
              stored.ordered === line.quantity &&
              stored.expectedAt === (line.expectedAt ?? null)
            );
          });
        if (!same) throw purchaseError('IDEMPOTENCY_CONFLICT', `purchase order ${input.id} exists with other contents`);
        return;
      }
      const now = this.now();
      await sql.run(
        "INSERT INTO purchase_orders (id, supplier, status, reason, created_at, updated_at) VALUES (?, ?, 'draft', NULL, ?, ?)",
        [input.id, input.supplier, now, now],
      );
      for (const [index, line] of input.lines.entries()) {
        await sql.run(
          `INSERT INTO po_lines (po_id, line, sku, location, ordered, received, refused, expected_at)
           VALUES (?, ?, ?, ?, ?, 0, 0, ?)`,
          [input.id, index + 1, line.sku, line.location, line.quantity, line.expectedAt ?? null],
        );
      }
      this.transitions.reached('draft');
    });
    return (await this.get(input.id)) as PurchaseOrder;
  }

  /**
   * Confirms a draft: it may now be received against, and the inventory is told what is on its
   * way. Confirming again answers the PO.
   */
  async confirm(id: string): Promise<PurchaseOrder> {
    await this.move(id, 'confirm', { draft: 'confirmed' }, ['confirmed', 'receiving', 'received'], (sql, order) =>
      this.oweForLines(sql, order, 'expect'),
    );
    await this.calls.settle(id);
    return (await this.get(id)) as PurchaseOrder;
  }

  /** Cancels a draft. */
  cancel(id: string): Promise<PurchaseOrder> {
    return this.move(id, 'cancel', { draft: 'cancelled' }, ['cancelled']);
  }

  /** Closes a PO that is still short: what is outstanding is no longer expected, nor incoming. */
  async closeShort(id: string): Promise<PurchaseOrder> {
    await this.move(id, 'close', { confirmed: 'closed', receiving: 'closed' }, ['closed', 'received'], (sql, order) =>
      this.oweForLines(sql, order, 'withdraw'),
    );
    await this.calls.settle(id);
    return (await this.get(id)) as PurchaseOrder;
  }

  /** A call per line: `expect` announces the line's units, `withdraw` takes back what did not come. */
  private async oweForLines(sql: ServiceSql, order: PurchaseOrder, kind: 'expect' | 'withdraw'): Promise<void> {
    for (const line of order.lines) {
      const payload = { sku: line.sku, location: line.location, quantity: line.ordered, line: line.line };
      await this.calls.owe(sql, order.id, `po:${order.id}:${kind}:${line.line}`, kind, payload);
    }
  }

  /**
   * Records a receipt (`id`, the dock's) against lines of a confirmed PO, then has the inventory
   * take each line in. The same receipt again answers the PO; with other contents it is refused.
   */
  async receive(poId: string, receipt: { id: string; lines: readonly ReceiptLineInput[] }): Promise<PurchaseOrder> {
    await this.db.transaction(async (sql) => {
      const order = await this.locked(sql, poId);
      const [existing] = await sql.all<{ lines: string }>('SELECT lines FROM receipts WHERE po_id = ? AND id = ?', [
        poId,
        receipt.id,
      ]);
      if (existing !== undefined) {
        if (existing.lines !== JSON.stringify(receipt.lines)) {
          throw purchaseError('IDEMPOTENCY_CONFLICT', `receipt ${receipt.id} exists with other contents`);
        }
        return;
      }
      if (order.status !== 'confirmed' && order.status !== 'receiving' && order.status !== 'received') {
        throw notNow(order, 'received against');
      }
      const seen = new Set<number>();
      for (const line of receipt.lines) {
        const ordered = order.lines.find((candidate) => candidate.line === line.line);
        if (ordered === undefined || seen.has(line.line)) {
          throw purchaseError('INVALID_LINES', `line ${line.line} is not a line of ${poId}, or appears twice`);
        }
        seen.add(line.line);
        const payload = { sku: ordered.sku, location: ordered.location, quantity: line.quantity, line: line.line };
        await this.calls.owe(sql, poId, `po:${poId}:${receipt.id}:${line.line}`, 'receive', payload);
      }
      await sql.run('INSERT INTO receipts (po_id, id, lines, created_at) VALUES (?, ?, ?, ?)', [
        poId,
        receipt.id,
        JSON.stringify(receipt.lines),
        this.now(),
      ]);
    });
    await this.calls.settle(poId);
    return (await this.get(poId)) as PurchaseOrder;
  }

  /** Makes one owed call. What it answers is what `answered` records of it. */
  private async call(client: InventoryClient, options: { timeoutMs: number }, row: OwedCall): Promise<unknown> {
    const payload = row.payload as unknown as LinePayload;
    const reference = `po:${row.ownerId}#${payload.line}`;
    const base = { id: row.commandId, sku: payload.sku, location: payload.location, reference };
    switch (row.kind) {
      case 'expect':
        await client.expectStock({ ...base, delta: BigInt(payload.quantity) }, options);
        return { incoming: payload.quantity };
      case 'withdraw': {
        const left = await this.incomingLeft(row.ownerId, payload.line);
        if (left === 0) return { withdrawn: 0 };
        await client.expectStock({ ...base, delta: BigInt(-left), reason: 'purchase order closed short' }, options);
        return { withdrawn: left };
      }
      case 'receive': {
        const fromIncoming = Math.min(payload.quantity, await this.incomingLeft(row.ownerId, payload.line));
        const request = { ...base, quantity: BigInt(payload.quantity), fromIncoming: BigInt(fromIncoming) };
        await client.receiveStock(request, options);
        return { settled: fromIncoming };
      }
      default:
        throw new Error(`unknown owed call kind ${row.kind}`);
    }
  }

  /** Units of a line the inventory still counts as incoming, by the answers recorded so far. */
  private async incomingLeft(poId: string, line: number): Promise<number> {
    const [row] = await this.db.all<Pick<LineRow, 'incoming' | 'settled' | 'withdrawn'>>(
      'SELECT incoming, settled, withdrawn FROM po_lines WHERE po_id = ? AND line = ?',
      [poId, line],
    );
    if (row === undefined) throw new Error(`purchase order ${poId} has no line ${line}`);
    return Math.max(0, Number(row.incoming) - Number(row.settled) - Number(row.withdrawn));
  }

  /** The inventory answered an owed call, or refused it: the PO follows. */
  private async answered(sql: ServiceSql, row: OwedCall, result: CallResult): Promise<void> {
    if (row.kind === 'receive') return this.received(sql, row, result);
    const { line } = row.payload as unknown as LinePayload;
    if (result.ok) {
      const value = result.value as { incoming?: number; withdrawn?: number };
      const column = row.kind === 'expect' ? 'incoming' : 'withdrawn';
      const units = (row.kind === 'expect' ? value.incoming : value.withdrawn) ?? 0;
      await sql.run(`UPDATE po_lines SET ${column} = ${column} + ? WHERE po_id = ? AND line = ?`, [
        units,
        row.ownerId,
        line,
      ]);
    } else {
      await sql.run('UPDATE purchase_orders SET reason = ? WHERE id = ?', [result.refusal ?? null, row.ownerId]);
    }
  }

  /** The inventory took a receipt line in, or refused it. */
  private async received(sql: ServiceSql, row: OwedCall, result: CallResult): Promise<void> {
    const { line, quantity } = row.payload as unknown as LinePayload;
    if (result.ok) {
      const { settled } = result.value as { settled: number };
      await sql.run('UPDATE po_lines SET received = received + ?, settled = settled + ? WHERE po_id = ? AND line = ?', [
        quantity,
        settled,
        row.ownerId,
        line,
      ]);
    } else {
      await sql.run('UPDATE po_lines SET refused = refused + ? WHERE po_id = ? AND line = ?', [
        quantity,
        row.ownerId,
        line,
      ]);
      await sql.run('UPDATE purchase_orders SET reason = ? WHERE id = ?', [result.refusal ?? null, row.ownerId]);
    }
    const order = await this.locked(sql, row.ownerId);
    const full = order.lines.every((candidate) => candidate.received >= candidate.ordered);
    const status: PurchaseOrderStatus | undefined =
      order.status === 'closed'
        ? undefined
        : full
          ? 'received'
          : order.status === 'confirmed'
            ? 'receiving'
            : undefined;
    if (status !== undefined && status !== order.status) {
      await sql.run('UPDATE purchase_orders SET status = ?, updated_at = ? WHERE id = ?', [
        status,
        this.now(),
        order.id,
      ]);
      this.transitions.reached(status);
    }
  }

  private async move(
    id: string,
    verb: string,
    from: Partial<Record<PurchaseOrderStatus, PurchaseOrderStatus>>,
    already: readonly PurchaseOrderStatus[],
    owed: (sql: ServiceSql, order: PurchaseOrder) => Promise<void> = async () => undefined,
  ): Promise<PurchaseOrder> {
    await this.db.transaction(async (sql) => {
      const order = await this.locked(sql, id);
      if (already.includes(order.status)) return;
      const next = from[order.status];
      if (next === undefined) throw notNow(order, `${verb}ed`);
      await sql.run('UPDATE purchase_orders SET status = ?, updated_at = ? WHERE id = ?', [next, this.now(), id]);
      await owed(sql, order);
      this.transitions.reached(next);
    });
    return (await this.get(id)) as PurchaseOrder;
  }

  private async locked(sql: ServiceSql, id: string): Promise<PurchaseOrder> {
    const lock = this.db.dialect === 'postgres' ? ' FOR UPDATE' : '';
    const [row] = await sql.all<OrderRow>(`SELECT * FROM purchase_orders WHERE id = ?${lock}`, [id]);
    if (row === undefined) throw purchaseError('PURCHASE_ORDER_NOT_FOUND', `no purchase order ${id}`, { id });
    return this.withLines(sql, row);
  }

  private async withLines(sql: ServiceSql, row: OrderRow): Promise<PurchaseOrder> {
    const lines = await sql.all<LineRow>('SELECT * FROM po_lines WHERE po_id = ? ORDER BY line', [row.id]);
    const open = row.status !== 'closed' && row.status !== 'cancelled';
    return {
      id: row.id,
      supplier: row.supplier,
      status: row.status,
      reason: row.reason,
      createdAt: Number(row.created_at),
      updatedAt: Number(row.updated_at),
      lines: lines.map((line) => {
        const ordered = Number(line.ordered);
        const received = Number(line.received);
        return {
          line: Number(line.line),
          sku: line.sku,
          location: line.location,
          ordered,
          received,
          refused: Number(line.refused),
          outstanding: open ? Math.max(0, ordered - received) : 0,
          incoming: Math.max(0, Number(line.incoming) - Number(line.settled) - Number(line.withdrawn)),
          expectedAt: line.expected_at === null ? null : Number(line.expected_at),
        };
      }),
    };
  }
}

/** What an owed call of a PO line carries: the line, and the receipt's or the order's units. */
interface LinePayload {
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
  readonly line: number;
}

function checkLines(lines: readonly PurchaseLineInput[]) {
  if (lines.length === 0 || lines.length > reservationLinesMax) {
    return purchaseError('VALIDATION_FAILED', `a purchase order has 1 to ${reservationLinesMax} lines`);
  }
  const keys = new Set<string>();
  for (const line of lines) {
    if (!Number.isSafeInteger(line.quantity) || line.quantity < 1 || line.quantity > quantityMax) {
      return purchaseError('VALIDATION_FAILED', `a line's quantity is an integer from 1 to ${quantityMax}`);
    }
    const key = `${line.sku}@${line.location}`;
    if (keys.has(key)) return purchaseError('INVALID_LINES', `${key} appears twice`);
    keys.add(key);
  }
  return undefined;
}

function notNow(order: PurchaseOrder, wanted: string) {
  return purchaseError(
    'PURCHASE_ORDER_STATE_CONFLICT',
    `purchase order ${order.id} is ${order.status}: it cannot be ${wanted}`,
    { id: order.id, orderStatus: order.status },
  );
}
