import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { StockReads } from '../cache/stock-reads.js';
import type { Config } from '../config.js';
import { type Command, type CommandType, type CommandValue, onHandMax, quantityMax } from '../domain/index.js';
import type { Answer, CommandExecutor } from '../engine/executor.js';
import type { LedgerFeed } from '../events/ledger-tail.js';
import type { ReadSide } from '../events/read-side/read-side.js';
import type { InstanceRecord, Store, StoreReads } from '../store/port.js';
import { type ApiAuth, actorOf } from './auth.js';
import { sendProblem } from './problem.js';
import {
  codeSchema,
  commandIdSchema,
  idSchema,
  linesSchema,
  objectSchema,
  occurredAtSchema,
  problemResponses,
  quantitySchema,
  type Schema,
  textSchema,
} from './schemas.js';
import type { Validation } from './validation.js';

// Commands over HTTP: the body of each command route, the status it answers, and the one
// function that turns an engine answer into a response.

/** Expiry is the system's own command: no client route or batch accepts it. */
export type ClientCommandType = Exclude<CommandType, 'ExpireReservation'>;

export interface CommandSpec {
  readonly body: Schema;
  /** 201 when the command records something new under the client's id; 200 when it resolves a reservation. */
  readonly status: 200 | 201;
  /** The $id of the success body's schema. */
  readonly result: 'ItemResult' | 'LevelsResult' | 'ReservationResult';
  /** Taken from the path (`:id`) by the command's route; a batch command carries it in its body. */
  readonly pathMember?: 'reservationId';
}

export type CommandSpecs = Readonly<Record<ClientCommandType, CommandSpec>>;

/** The settings the API reads. */
export type ApiSettings = Pick<
  Config,
  | 'logLevel'
  | 'logFormat'
  | 'bodyLimitBytes'
  | 'httpBatchCommandsMax'
  | 'reservationTtlMsDefault'
  | 'reservationTtlMsMax'
  | 'authJwtSecret'
  | 'authJwtPublicKeyFile'
  | 'authJwtJwksUrl'
  | 'authJwtIssuer'
  | 'authJwtAudience'
  | 'authJwtAlgorithms'
  | 'authKeyCacheMs'
  | 'authReadyz'
  | 'authMetrics'
  | 'devOpenReads'
  | 'rateLimitPerSecond'
  | 'rateLimitBurst'
  | 'rateLimitRedisUrl'
  | 'rateLimitRedisPrefix'
  | 'authFailuresPerMinute'
  | 'corsOrigins'
  | 'relay'
  | 'relayPageMax'
  | 'relayPollMs'
  | 'eventStreamClientsMax'
  | 'eventStreamHeartbeatMs'
  | 'eventStreamBufferBytesMax'
>;

/**
 * What the API uses of a runtime: the write path, the read port and its settings, never the
 * store's transactions or migrations (a runtime has all three, under these names).
 */
export interface ApiRuntime {
  readonly engine: CommandExecutor;
  /** Stock reads, through the read cache when there is one. */
  readonly stock: StockReads;
  /**
   * The process's Prometheus registry: the API observes its requests into it, and /metrics
   * serves it (with the engine thread's metrics merged in, see src/metrics/process-registry.ts).
   */
  readonly metrics: Registry;
  /** The reads, the API keys that authenticate requests, and the reconciliation reports. */
  readonly store: StoreReads & Pick<Store, 'keys' | 'reports'>;
  /** The read models (CQRS): their queries, positions and lag. */
  readonly readSide: ReadSide;
  /** The inventory instances on this store (GET /v1/instances). */
  readonly instances: InstanceDirectory;
  /** The pages of committed events this process's in-process relay hands out (the event stream follows them). */
  readonly relays: { readonly inProcess: LedgerFeed };
  readonly config: ApiSettings;
}

/** An inventory instance sharing the store, as GET /v1/instances lists it. */
export interface InstanceStatus extends InstanceRecord {
  /** Seen within the last few heartbeats. */
  readonly healthy: boolean;
}

/** The inventory instances sharing this store, from their heartbeats. */
export interface InstanceDirectory {
  list(): Promise<InstanceStatus[]>;
}

/** What every route plugin receives. */
export interface ApiContext {
  readonly runtime: ApiRuntime;
  readonly validation: Validation;
  readonly commands: CommandSpecs;
  /** Who may: the authenticator and the rate limits (a batch charges its commands itself). */
  readonly auth: ApiAuth;
}

export const statusRule =
  'Success is 201 Created when the command records something new under its id (an item, a receipt, a ' +
  'reservation, a return, an adjustment, a count, a transfer) and 200 OK when it resolves an existing ' +
  'reservation (commit, release). A repeat of the same id with the same payload answers the first result, ' +
  'status and body alike (a stored failure as the same problem), with the header `Idempotent-Replayed: true`; ' +
  'the same id with another payload is 422 IDEMPOTENCY_CONFLICT.';

const stockChange = { id: commandIdSchema, sku: codeSchema, location: codeSchema };
const signedDelta = {
  type: 'integer',
  minimum: -quantityMax,
  maximum: quantityMax,
  not: { const: 0 },
  description: 'Signed, non-zero',
};

function spec(
  properties: Record<string, Schema>,
  required: readonly string[],
  status: CommandSpec['status'],
  result: CommandSpec['result'],
): CommandSpec {
  return { body: objectSchema(properties, ['id', ...required]), status, result };
}

export function commandSpecs(
  config: Pick<ApiSettings, 'reservationTtlMsDefault' | 'reservationTtlMsMax'>,
): CommandSpecs {
  const ttlMs = {
    type: 'integer',
    minimum: 1,
    maximum: config.reservationTtlMsMax,
    description: `How long the hold lasts unpaid (ms); default ${config.reservationTtlMsDefault}`,
  };
  const commitLines = {
    ...linesSchema,
    description: 'Partial commit: units to deduct per reserved line; every other reserved unit is released',
  };
  return {
    RegisterItem: spec(
      {
        id: commandIdSchema,
        sku: codeSchema,
        name: textSchema,
        allowBackorder: { type: 'boolean' },
        lowStockThreshold: {
          type: 'integer',
          minimum: 0,
          maximum: onHandMax,
          description: 'Available stock below this is low (GET /v1/low-stock); default: the configured default',
        },
      },
      ['sku'],
      201,
      'ItemResult',
    ),
    ReceiveStock: spec(
      {
        ...stockChange,
        quantity: quantitySchema,
        reference: textSchema,
        occurredAt: occurredAtSchema,
        fromIncoming: {
          ...quantitySchema,
          minimum: 0,
          description:
            "Of the units received, how many arrive against the level's incoming (a purchase order line): " +
            'incoming is lowered by this many in the same transaction; at most `quantity`; default 0',
        },
      },
      ['sku', 'location', 'quantity'],
      201,
      'LevelsResult',
    ),
    ReserveStock: spec(
      {
        id: { ...commandIdSchema, description: 'The reservation id (and idempotency key)' },
        lines: linesSchema,
        ttlMs,
        reference: {
          ...textSchema,
          description: 'The order it holds stock for: GET /v1/reservations?reference= finds it',
        },
      },
      ['lines'],
      201,
      'ReservationResult',
    ),
    CommitReservation: {
      ...spec({ id: commandIdSchema, lines: commitLines }, [], 200, 'ReservationResult'),
      pathMember: 'reservationId',
    },
    ReleaseReservation: {
      ...spec({ id: commandIdSchema, reason: textSchema }, [], 200, 'ReservationResult'),
      pathMember: 'reservationId',
    },
    ReturnStock: spec(
      {
        ...stockChange,
        quantity: quantitySchema,
        reason: textSchema,
        reference: textSchema,
        occurredAt: occurredAtSchema,
      },
      ['sku', 'location', 'quantity'],
      201,
      'LevelsResult',
    ),
    AdjustStock: spec(
      {
        ...stockChange,
        delta: signedDelta,
        reason: { ...textSchema, minLength: 1 },
        occurredAt: occurredAtSchema,
      },
      ['sku', 'location', 'delta', 'reason'],
      201,
      'LevelsResult',
    ),
    CountStock: spec(
      { ...stockChange, counted: { ...quantitySchema, minimum: 0 }, reason: textSchema, occurredAt: occurredAtSchema },
      ['sku', 'location', 'counted'],
      201,
      'LevelsResult',
    ),
    ExpectStock: spec(
      {
        ...stockChange,
        delta: {
          ...signedDelta,
          description: 'Signed, non-zero: + units now on their way (a confirmed PO line), - units that will not come',
        },
        reason: textSchema,
        reference: { ...textSchema, description: 'The purchase order line it is about' },
      },
      ['sku', 'location', 'delta'],
      201,
      'LevelsResult',
    ),
    TransferStock: spec(
      {
        id: commandIdSchema,
        sku: codeSchema,
        from: codeSchema,
        to: codeSchema,
        quantity: quantitySchema,
        reference: textSchema,
      },
      ['sku', 'from', 'to', 'quantity'],
      201,
      'LevelsResult',
    ),
  };
}

/** A command inside a batch: its route's body plus `type` and any member its route takes from the path. */
export function batchCommandSchema(type: ClientCommandType, spec: CommandSpec): Schema {
  const body = spec.body as { required: readonly string[]; properties: Record<string, Schema> };
  const fromPath = spec.pathMember === undefined ? {} : { [spec.pathMember]: idSchema };
  return {
    ...objectSchema({ type: { const: type }, ...fromPath, ...body.properties }, [
      'type',
      ...Object.keys(fromPath),
      ...body.required,
    ]),
    $id: `${type}Command`,
  };
}

/** The success body: the command's value (item, reservation or levels) plus its ledger position. */
export function resultBody(value: CommandValue, position: number): Record<string, unknown> {
  switch (value.kind) {
    case 'item':
      return { ...value.item, position };
    case 'reservation':
      return { ...value.reservation, position };
    case 'levels':
      return { levels: value.levels, delta: value.delta, position };
  }
}

function locationOf(value: CommandValue): string | undefined {
  if (value.kind === 'item') return `/v1/items/${value.item.sku}`;
  if (value.kind === 'reservation') return `/v1/reservations/${value.reservation.id}`;
  return undefined;
}

export function sendAnswer(request: FastifyRequest, reply: FastifyReply, answer: Answer, status: number): FastifyReply {
  if (answer.replayed) reply.header('idempotent-replayed', 'true');
  const { outcome } = answer;
  if (!outcome.ok) return sendProblem(request, reply, outcome.error);
  const location = status === 201 ? locationOf(outcome.value) : undefined;
  if (location !== undefined) reply.header('location', location);
  return reply.code(status).send(resultBody(outcome.value, outcome.position));
}

export interface CommandRoute {
  readonly url: string;
  readonly type: ClientCommandType;
  readonly tag: string;
  readonly summary: string;
  readonly description: string;
}

/** Registers `POST url`: validates the body, hands the command to the engine, answers its outcome. */
export function commandRoute(app: FastifyInstance, context: ApiContext, route: CommandRoute): void {
  const { type } = route;
  const { body, status, result, pathMember } = context.commands[type];
  const { engine } = context.runtime;
  const response = { [status]: { $ref: `${result}#` }, ...problemResponses };
  const params = pathMember === undefined ? undefined : objectSchema({ id: idSchema }, ['id']);
  const schema = { tags: [route.tag], summary: route.summary, description: `${route.description}\n\n${statusRule}` };
  app.post(route.url, { schema: { ...schema, ...(params && { params }), body, response } }, async (request, reply) => {
    // The actor is the credential's principal: the body has no say in it.
    const command = { ...(request.body as object), type, actor: actorOf(request) } as Record<string, unknown>;
    if (pathMember !== undefined) command[pathMember] = (request.params as { id: string }).id;
    return sendAnswer(request, reply, await engine.execute(command as unknown as Command), status);
  });
}
