import type { CommandType } from '../domain/index.js';

// Who may do what: scopes per resource and verb, roles that bundle them, and the one table that
// declares every operation's scope. The HTTP API maps its routes onto these operations; an RPC
// layer maps its methods onto the same names, so both ask one table.

export const scopes = [
  'items:read',
  'items:write',
  'stock:read',
  'reservations:read',
  'reservations:write',
  'receipts:write',
  'returns:write',
  'adjustments:write',
  'counts:write',
  'transfers:write',
  'ledger:read',
  'ops:read',
  'keys:admin',
] as const;

export type Scope = (typeof scopes)[number];

export const roleNames = ['scanner', 'orders', 'purchasing', 'auditor', 'admin'] as const;

export type Role = (typeof roleNames)[number];

const reads: readonly Scope[] = scopes.filter((scope) => scope.endsWith(':read'));

/** What each role may do. A principal's scopes are the union of its roles'. */
export const roleScopes: Readonly<Record<Role, readonly Scope[]>> = {
  scanner: ['items:read', 'stock:read', 'counts:write', 'transfers:write'],
  // The ledger too: an order service learns from its events that a reservation expired.
  orders: ['items:read', 'stock:read', 'reservations:read', 'reservations:write', 'returns:write', 'ledger:read'],
  purchasing: ['items:read', 'items:write', 'stock:read', 'receipts:write'],
  auditor: reads,
  admin: scopes,
};

export const roleDescriptions: Readonly<Record<Role, string>> = {
  scanner: 'warehouse floor: reads items and stock, counts, transfers between locations',
  orders: 'the order service: reserves, commits and releases stock, takes returns, follows the ledger (expiries)',
  purchasing: 'purchasing: registers items, receives stock',
  auditor: 'reads everything, changes nothing',
  admin: 'everything, including API keys',
};

export function isRole(name: string): name is Role {
  return (roleNames as readonly string[]).includes(name);
}

export function isScope(name: string): name is Scope {
  return (scopes as readonly string[]).includes(name);
}

export function scopesOfRoles(roles: readonly Role[]): ReadonlySet<Scope> {
  return new Set(roles.flatMap((role) => roleScopes[role]));
}

/** The scope of each client command, whatever carries it (its route, a batch, an RPC). */
export const commandScopes: Readonly<Record<Exclude<CommandType, 'ExpireReservation'>, Scope>> = {
  RegisterItem: 'items:write',
  ReceiveStock: 'receipts:write',
  ReserveStock: 'reservations:write',
  CommitReservation: 'reservations:write',
  ReleaseReservation: 'reservations:write',
  ReturnStock: 'returns:write',
  AdjustStock: 'adjustments:write',
  CountStock: 'counts:write',
  TransferStock: 'transfers:write',
  // What purchasing expects to receive: the holders of receipts settle it.
  ExpectStock: 'receipts:write',
};

/**
 * How an operation is guarded: a scope; `open` (no credential: it reveals nothing and changes
 * nothing); `each-command` (a batch: the scope of every command in it); `probe` (readiness and
 * metrics: open, or `ops:read`, as configured).
 */
export type Access =
  | { readonly kind: 'scope'; readonly scope: Scope }
  | { readonly kind: 'open' }
  | { readonly kind: 'each-command' }
  | { readonly kind: 'probe'; readonly probe: 'readyz' | 'metrics' };

export interface Operation {
  readonly access: Access;
  /** The HTTP route that serves it ("METHOD /path", Fastify's path syntax). */
  readonly http: string;
}

const scope = (name: Scope): Access => ({ kind: 'scope', scope: name });
const command = (type: keyof typeof commandScopes, http: string): Operation => ({
  access: scope(commandScopes[type]),
  http,
});

/** Every operation of the API and the scope it needs: the one table docs, OpenAPI and checks read. */
export const operations = {
  Health: { access: { kind: 'open' }, http: 'GET /healthz' },
  Ready: { access: { kind: 'probe', probe: 'readyz' }, http: 'GET /readyz' },
  Metrics: { access: { kind: 'probe', probe: 'metrics' }, http: 'GET /metrics' },
  ApiIndex: { access: { kind: 'open' }, http: 'GET /v1' },
  Dashboard: { access: { kind: 'open' }, http: 'GET /dashboard' },
  RegisterItem: command('RegisterItem', 'POST /v1/items'),
  ListItems: { access: scope('items:read'), http: 'GET /v1/items' },
  GetItem: { access: scope('items:read'), http: 'GET /v1/items/:sku' },
  ReceiveStock: command('ReceiveStock', 'POST /v1/receipts'),
  ExpectStock: command('ExpectStock', 'POST /v1/incoming'),
  ReserveStock: command('ReserveStock', 'POST /v1/reservations'),
  GetReservation: { access: scope('reservations:read'), http: 'GET /v1/reservations/:id' },
  CommitReservation: command('CommitReservation', 'POST /v1/reservations/:id/commit'),
  ReleaseReservation: command('ReleaseReservation', 'POST /v1/reservations/:id/release'),
  ReturnStock: command('ReturnStock', 'POST /v1/returns'),
  AdjustStock: command('AdjustStock', 'POST /v1/adjustments'),
  CountStock: command('CountStock', 'POST /v1/counts'),
  TransferStock: command('TransferStock', 'POST /v1/transfers'),
  ItemStock: { access: scope('stock:read'), http: 'GET /v1/items/:sku/stock' },
  ItemLocationStock: { access: scope('stock:read'), http: 'GET /v1/items/:sku/stock/:location' },
  LocationStock: { access: scope('stock:read'), http: 'GET /v1/locations/:location/stock' },
  Ledger: { access: scope('ledger:read'), http: 'GET /v1/ledger' },
  ItemHistory: { access: scope('ledger:read'), http: 'GET /v1/items/:sku/history' },
  EventStream: { access: scope('ledger:read'), http: 'GET /v1/events/stream' },
  Batch: { access: { kind: 'each-command' }, http: 'POST /v1/batch' },
  ImportCountSheet: command('CountStock', 'POST /v1/counts/sheets'),
  // A report is read from the ledger's events (counts) and verify's comparison of it: the ledger's readers may read it.
  ListReconciliationReports: { access: scope('ledger:read'), http: 'GET /v1/reconciliation/reports' },
  GetReconciliationReport: { access: scope('ledger:read'), http: 'GET /v1/reconciliation/reports/:id' },
  ListReservations: { access: scope('reservations:read'), http: 'GET /v1/reservations' },
  ItemMovements: { access: scope('ledger:read'), http: 'GET /v1/items/:sku/movements' },
  StockSummary: { access: scope('stock:read'), http: 'GET /v1/stock/summary' },
  LowStock: { access: scope('stock:read'), http: 'GET /v1/low-stock' },
  LowStockCrossings: { access: scope('stock:read'), http: 'GET /v1/low-stock/crossings' },
  DailyMovements: { access: scope('stock:read'), http: 'GET /v1/reports/daily-movements' },
  Projections: { access: scope('ops:read'), http: 'GET /v1/projections' },
  Instances: { access: scope('ops:read'), http: 'GET /v1/instances' },
} as const satisfies Record<string, Operation>;

export type OperationName = keyof typeof operations;

const byRoute = new Map<string, Operation>(Object.values(operations).map((operation) => [operation.http, operation]));

/** The operation an HTTP route serves, or undefined when the table does not declare it. */
export function operationOfRoute(method: string, url: string): Operation | undefined {
  return byRoute.get(`${method === 'HEAD' ? 'GET' : method} ${url}`);
}

/** The access an operation needs, as one line for docs and the OpenAPI. */
export function describeAccess(access: Access): string {
  switch (access.kind) {
    case 'scope':
      return `\`${access.scope}\``;
    case 'open':
      return 'open';
    case 'each-command':
      return "each command's scope";
    case 'probe':
      return `open, or \`ops:read\` (\`SKULD_AUTH_${access.probe.toUpperCase()}\`)`;
  }
}

/**
 * Every RPC of the gRPC service and its access: an RPC that serves an operation of the table above
 * names it and has its access; the others declare their own. The gRPC server refuses to start with
 * an RPC this table does not declare. (The health and reflection services are open: they reveal
 * the contract and whether the server is up, nothing more.)
 */
export const rpcs = {
  RegisterItem: { operation: 'RegisterItem' },
  ReceiveStock: { operation: 'ReceiveStock' },
  ReserveStock: { operation: 'ReserveStock' },
  CommitReservation: { operation: 'CommitReservation' },
  ReleaseReservation: { operation: 'ReleaseReservation' },
  ReturnStock: { operation: 'ReturnStock' },
  AdjustStock: { operation: 'AdjustStock' },
  CountStock: { operation: 'CountStock' },
  TransferStock: { operation: 'TransferStock' },
  ExpectStock: { operation: 'ExpectStock' },
  ExecuteCommands: { operation: 'Batch' },
  GetItem: { operation: 'GetItem' },
  ListItems: { operation: 'ListItems' },
  GetReservation: { operation: 'GetReservation' },
  GetItemStock: { operation: 'ItemStock' },
  GetLevel: { operation: 'ItemLocationStock' },
  ListLocationStock: { operation: 'LocationStock' },
  ReadLedger: { operation: 'Ledger' },
  GetItemHistory: { operation: 'ItemHistory' },
  ListReservations: { operation: 'ListReservations' },
  ListStockSummary: { operation: 'StockSummary' },
  ListLowStock: { operation: 'LowStock' },
  ListLowStockCrossings: { operation: 'LowStockCrossings' },
  ListItemMovements: { operation: 'ItemMovements' },
  ListDailyMovements: { operation: 'DailyMovements' },
  GetProjections: { operation: 'Projections' },
  ListInstances: { operation: 'Instances' },
  GetPastItemStock: { operation: 'ItemStock' },
  ImportCountSheet: { operation: 'ImportCountSheet' },
  ListReconciliationReports: { operation: 'ListReconciliationReports' },
  GetReconciliationReport: { operation: 'GetReconciliationReport' },
  WatchEvents: { operation: 'Ledger' },
} as const satisfies Record<string, { readonly operation: OperationName }>;

export type RpcName = keyof typeof rpcs;

/** The access an RPC needs, from the operation it serves; undefined for an RPC the table does not declare. */
export function accessOfRpc(name: string): Access | undefined {
  const rpc = (rpcs as Record<string, { readonly operation: OperationName }>)[name];
  return rpc === undefined ? undefined : operations[rpc.operation].access;
}
