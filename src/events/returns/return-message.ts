import { idLengthMax, isValidId, type ReturnStock, validateCommand } from '../../domain/index.js';

// A return message as it arrives on the queue, turned into the ReturnStock command it stands for,
// or into the reason it never can be one. Pure: the consumer decides what to do with either.

/**
 * Command ids of returns that came by queue: the message id behind this prefix, so that a
 * message id can never name another kind of command sent over HTTP under the same id.
 */
export const returnIdPrefix = 'ret:';
/** Longest message id: with the prefix it must still be a command id. */
export const messageIdLengthMax = idLengthMax - returnIdPrefix.length;

/** The members a return message may carry; anything else is a mistake worth refusing, not ignoring. */
const members = new Set(['sku', 'location', 'quantity', 'reason', 'reference', 'occurredAt']);

export type ParsedReturn =
  | { readonly ok: true; readonly command: ReturnStock }
  | { readonly ok: false; readonly reason: string };

const malformed = (reason: string): ParsedReturn => ({ ok: false, reason });

export function returnCommandId(messageId: string): string {
  return `${returnIdPrefix}${messageId}`;
}

/** The body's JSON: the client has already parsed `application/json`; other types arrive as text or bytes. */
function decodeBody(body: unknown): { value: unknown } | undefined {
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    try {
      return { value: JSON.parse(body.toString()) };
    } catch {
      return undefined;
    }
  }
  return { value: body };
}

/** A message (its id, its body as the AMQP client delivered it) as a ReturnStock by `actor`. */
export function parseReturnMessage(messageId: string | undefined, body: unknown, actor: string): ParsedReturn {
  if (messageId === undefined || messageId === '') return malformed('the message has no messageId');
  if (messageId.length > messageIdLengthMax || !isValidId(messageId)) {
    return malformed(
      `messageId must be letters, digits and ._:- (starting with a letter or digit), at most ${messageIdLengthMax} characters`,
    );
  }
  const decoded = decodeBody(body);
  if (decoded === undefined) return malformed('the body is not JSON');
  const value = decoded.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return malformed('the body is not a JSON object');
  }
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !members.has(key));
  if (unknown.length > 0) return malformed(`unknown member ${unknown.join(', ')}`);
  const typeError = checkTypes(fields);
  if (typeError !== undefined) return malformed(typeError);
  const command = {
    type: 'ReturnStock',
    id: returnCommandId(messageId),
    actor,
    sku: fields.sku,
    location: fields.location,
    quantity: fields.quantity,
    ...(fields.reason !== undefined && { reason: fields.reason }),
    ...(fields.reference !== undefined && { reference: fields.reference }),
    ...(fields.occurredAt !== undefined && { occurredAt: fields.occurredAt }),
  } as ReturnStock;
  const invalid = validateCommand(command);
  if (invalid !== null) return malformed(`${invalid.code}: ${invalid.message}`);
  return { ok: true, command };
}

/** The domain validates values; it trusts their types, which a message does not guarantee. */
function checkTypes(fields: Record<string, unknown>): string | undefined {
  for (const name of ['sku', 'location'] as const) {
    if (typeof fields[name] !== 'string') return `${name} must be a string`;
  }
  if (typeof fields.quantity !== 'number') return 'quantity must be a number';
  for (const name of ['reason', 'reference'] as const) {
    if (fields[name] !== undefined && typeof fields[name] !== 'string') return `${name} must be a string`;
  }
  if (fields.occurredAt !== undefined && typeof fields.occurredAt !== 'number') {
    return 'occurredAt must be a number (epoch ms)';
  }
  return undefined;
}
