import {
  codeLengthMax,
  codePattern,
  eventTypes,
  idLengthMax,
  idPattern,
  quantityMax,
  reservationLinesMax,
  systemIdPrefix,
  textLengthMax,
} from '../domain/index.js';
import { problemCodes } from './http-errors.js';

// JSON schemas of the HTTP API. Every bound comes from the domain's named limits, so the
// OpenAPI document states the same limits the domain enforces. Request schemas are inline
// objects (the body validator compiles them as they are); response schemas are shared by $id
// and appear as named components in the OpenAPI document.

/** Largest page a list route returns. */
export const pageLimitMax = 1000;
/** Page size when a request names none. */
export const pageLimitDefault = 100;

export type Schema = Readonly<Record<string, unknown>>;

export function objectSchema(properties: Record<string, Schema>, required: readonly string[] = []): Schema {
  return { type: 'object', additionalProperties: false, required, properties };
}

/** Any valid id: a reservation id, an actor. */
export const idSchema: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: idLengthMax,
  pattern: idPattern,
  description: 'Letters, digits and `._:-`, starting with a letter or digit',
};

/** A command id chosen by a client: ids with the system prefix are reserved. */
export const commandIdSchema: Schema = {
  ...idSchema,
  pattern: `^(?!${systemIdPrefix})${idPattern.slice(1)}`,
  description: `The idempotency key: a repeat returns the first result. Letters, digits and \`._:-\`; ids starting with \`${systemIdPrefix}\` are reserved for the system`,
};

export const codeSchema: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: codeLengthMax,
  pattern: codePattern,
  description: 'A SKU or location code: letters, digits and `._-`, starting with a letter or digit',
};

export const quantitySchema: Schema = { type: 'integer', minimum: 1, maximum: quantityMax };

export const textSchema: Schema = { type: 'string', maxLength: textLengthMax, pattern: '^[^\\u0000]*$' };

/** Epoch milliseconds of when a change took effect, when it is recorded later. */
export const occurredAtSchema: Schema = {
  type: 'integer',
  minimum: 1,
  maximum: Number.MAX_SAFE_INTEGER,
  description: 'When the change took effect (epoch ms); default: when it is recorded',
};

export const linesSchema: Schema = {
  type: 'array',
  minItems: 1,
  maxItems: reservationLinesMax,
  description: 'Each (sku, location) at most once',
  items: objectSchema({ sku: codeSchema, location: codeSchema, quantity: quantitySchema }, [
    'sku',
    'location',
    'quantity',
  ]),
};

export const pagingQuery = {
  limit: { type: 'integer', minimum: 1, maximum: pageLimitMax, default: pageLimitDefault },
} as const;

export const codeAfterQuery = objectSchema({
  after: { ...codeSchema, description: 'Return keys after this one (the `next` of the previous page)' },
  ...pagingQuery,
});

export const positionAfterQuery = objectSchema({
  after: {
    type: 'integer',
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    default: 0,
    description: 'Return events after this ledger position (the `next` of the previous page)',
  },
  ...pagingQuery,
});

const integer = { type: 'integer' } as const;
const nullableInteger = { type: ['integer', 'null'] } as const;
const nullableString = { type: ['string', 'null'] } as const;
const position = {
  ...integer,
  description: "Ledger position of the command's last event (0 when it wrote none): read at least this fresh",
};

function responseSchema($id: string, description: string, properties: Record<string, Schema>): Schema {
  return { $id, description, type: 'object', required: Object.keys(properties), properties };
}

const itemProperties = {
  sku: { type: 'string' },
  name: { type: 'string' },
  allowBackorder: { type: 'boolean' },
  lowStockThreshold: {
    ...nullableInteger,
    description: 'Available stock below this is low; null: the configured default',
  },
  createdAt: integer,
};

const levelProperties = {
  sku: { type: 'string' },
  location: { type: 'string' },
  onHand: integer,
  reserved: integer,
  incoming: { ...integer, description: 'Units on confirmed purchase orders, not yet received' },
  available: { ...integer, description: 'onHand - reserved' },
  projected: {
    ...integer,
    description: 'onHand + incoming - reserved: what the level will hold once all incoming arrives',
  },
  version: integer,
};

export const reservationProperties = {
  id: { type: 'string' },
  status: { type: 'string', enum: ['pending', 'committed', 'released', 'expired'] },
  lines: {
    type: 'array',
    items: {
      type: 'object',
      required: ['sku', 'location', 'quantity', 'committed'],
      properties: {
        sku: { type: 'string' },
        location: { type: 'string' },
        quantity: integer,
        committed: { ...nullableInteger, description: 'Units deducted by the commit; null until committed' },
      },
    },
  },
  createdAt: integer,
  expiresAt: integer,
  resolvedAt: nullableInteger,
};

const levelsRef = { type: 'array', items: { $ref: 'Level#' } };

/** Shared response schemas, added to the app by $id. */
export const sharedSchemas: readonly Schema[] = [
  responseSchema('Item', 'A registered SKU', itemProperties),
  responseSchema('Level', 'The stock of one item at one location', levelProperties),
  responseSchema(
    'Reservation',
    'A two-phase hold: pending, then committed, released or expired',
    reservationProperties,
  ),
  responseSchema('LedgerEvent', 'An immutable record of one change to one level, or of an item registered', {
    id: { type: 'string', description: 'Stable id: `<sku>@<location>#<streamVersion>`' },
    position: { ...integer, description: 'Global, gap-free, in commit order' },
    type: { type: 'string', enum: eventTypes },
    sku: { type: 'string' },
    location: { type: 'string', description: "The level's location; '' on ItemRegistered (the item's own stream)" },
    streamVersion: {
      ...integer,
      description: "Number of the event in its stream (the level's version after it), from 1",
    },
    onHandDelta: integer,
    reservedDelta: integer,
    incomingDelta: integer,
    onHandAfter: integer,
    reservedAfter: integer,
    incomingAfter: integer,
    quantity: integer,
    commandId: { type: 'string' },
    reservationId: nullableString,
    expiresAt: nullableInteger,
    peerLocation: nullableString,
    reason: nullableString,
    reference: nullableString,
    actor: { type: 'string' },
    occurredAt: { ...integer, description: 'When it happened (may be back-dated)' },
    recordedAt: { ...integer, description: 'When the engine recorded it' },
    attributes: {
      type: ['object', 'null'],
      description: 'On ItemRegistered: the item as registered; null otherwise',
      required: ['name', 'allowBackorder', 'lowStockThreshold'],
      properties: { name: { type: 'string' }, allowBackorder: { type: 'boolean' }, lowStockThreshold: nullableInteger },
    },
  }),
  responseSchema('ItemResult', 'The registered item', { ...itemProperties, position }),
  responseSchema('ReservationResult', 'The reservation after the command', { ...reservationProperties, position }),
  {
    ...responseSchema('LevelsResult', 'The levels the command changed, after it', { levels: levelsRef, position }),
    properties: { levels: levelsRef, delta: integer, position },
  },
  {
    $id: 'Problem',
    description:
      'RFC 9457 problem details. Members of the error details are added beside the standard ones; a detail ' +
      'whose name is a standard member is kept under `details`. For 5xx the detail is generic: the log holds the ' +
      'cause under the request id.',
    type: 'object',
    additionalProperties: true,
    required: ['type', 'title', 'status', 'detail', 'code', 'instance', 'requestId'],
    properties: {
      type: { type: 'string', examples: ['urn:skuld:problem:insufficient-stock'] },
      title: { type: 'string' },
      status: integer,
      detail: { type: 'string' },
      code: { type: 'string', enum: problemCodes },
      instance: { type: 'string' },
      requestId: { type: 'string' },
    },
  },
];

/** A page of a list: its members, and the cursor to pass as `after` for the next page. */
export function pageSchema(member: string, ref: string, next: Schema): Schema {
  return {
    type: 'object',
    required: [member, 'next'],
    properties: { [member]: { type: 'array', items: { $ref: `${ref}#` } }, next },
  };
}

/** Keyset paging by code: the last key of a full page, null when the page is the last. */
export function nextKey<T>(rows: readonly T[], limit: number, key: (row: T) => string): string | null {
  const last = rows.at(-1);
  return rows.length < limit || last === undefined ? null : key(last);
}

export const nextKeySchema: Schema = {
  type: ['string', 'null'],
  description: 'Pass as `after` for the next page; null when this page is the last',
};

export interface CodePage {
  readonly after?: string;
  readonly limit: number;
}

export interface PositionPage {
  readonly after: number;
  readonly limit: number;
}

/** The problem responses every route may answer. */
const problemResponse = {
  description: 'A problem (RFC 9457); `code` is stable, its status fixed per code',
  content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
};

export const problemResponses = { '4xx': problemResponse, '5xx': problemResponse } as const;
