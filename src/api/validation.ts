import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { type DomainError, domainError, type ErrorCode } from '../domain/index.js';
import type { Schema } from './schemas.js';

// Request validation. Bodies are checked as sent: no coercion, no defaults, unknown members
// rejected rather than removed, so what the engine fingerprints is exactly what the client sent.
// Path and query strings arrive as text: an integer member is read from decimal digits only (see
// readIntegers), and nothing else is coerced, so `1e3`, `0x10`, `Infinity` or `-0` are refused
// rather than read as some number. Unknown members are refused there too.

export interface Validation {
  readonly compiler: FastifySchemaCompiler<Schema>;
  /** Compiles a body schema with the body rules, for commands validated one by one (batch). */
  compileBody(schema: Schema): ValidateFunction;
}

export function createValidation(): Validation {
  // allErrors stays off: the first failure decides the code, and a hostile body costs one check.
  const shared = { allErrors: false, removeAdditional: false, coerceTypes: false, strict: true } as const;
  const body = new Ajv({ ...shared, useDefaults: false });
  const text = new Ajv({ ...shared, useDefaults: true });
  return {
    compiler: ({ schema, httpPart }) => (httpPart === 'body' ? body.compile(schema) : compileText(text, schema)),
    compileBody: (schema) => body.compile(schema),
  };
}

/**
 * The digits of an integer in a path or query string. Sixteen digits reach past the largest safe
 * integer, so every value the schemas can accept parses exactly and the schema's maximum refuses
 * the rest; a longer string is never turned into a number at all.
 */
const decimalPattern = /^[0-9]{1,16}$/;

/**
 * A validator for a path or query string: its integer members are read from digits first. Text
 * holds nothing else that could become a value, so a member of another type (a `number`, an
 * array) is a schema this reader would refuse every value of: a programmer's error.
 */
function compileText(ajv: Ajv, schema: Schema): ValidateFunction {
  const validate = ajv.compile(schema);
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  for (const [name, property] of Object.entries(properties)) {
    if (property.type !== 'string' && property.type !== 'integer') {
      throw new Error(`path or query member ${name} must be a string or an integer`);
    }
  }
  const integers = Object.keys(properties).filter((name) => properties[name]?.type === 'integer');
  if (integers.length === 0) return validate;
  const strict = ((data: unknown) => {
    if (typeof data === 'object' && data !== null) readIntegers(data as Record<string, unknown>, integers);
    const valid = validate(data);
    strict.errors = validate.errors ?? null;
    return valid;
  }) as ValidateFunction;
  return strict;
}

/** Each named member that is decimal digits becomes its number; anything else stays text, for the schema to refuse. */
function readIntegers(data: Record<string, unknown>, names: readonly string[]): void {
  for (const name of names) {
    const value = data[name];
    if (typeof value === 'string' && decimalPattern.test(value)) data[name] = Number(value);
  }
}

/** A failed range, pattern or length check answers the code the domain answers for that field. */
const fieldCodes: Readonly<Record<string, ErrorCode>> = {
  quantity: 'INVALID_QUANTITY',
  delta: 'INVALID_QUANTITY',
  counted: 'INVALID_QUANTITY',
  id: 'INVALID_ID',
  reservationId: 'INVALID_ID',
  actor: 'INVALID_ID',
  sku: 'INVALID_CODE',
  location: 'INVALID_CODE',
  from: 'INVALID_CODE',
  to: 'INVALID_CODE',
  ttlMs: 'INVALID_TTL',
  lines: 'INVALID_LINES',
  name: 'INVALID_TEXT',
  reason: 'INVALID_TEXT',
  reference: 'INVALID_TEXT',
  commands: 'BATCH_TOO_LARGE',
};

/** Wrong types, missing and unknown members are shape failures, whatever the field. */
const shapeKeywords = new Set(['type', 'required', 'additionalProperties', 'const', 'enum']);

/** Maps the first validation failure of a request part to the domain's error. */
export function validationError(errors: readonly Partial<ErrorObject>[], part: string): DomainError {
  const error = errors[0];
  if (error === undefined) return domainError('VALIDATION_FAILED', `the ${part} is not valid`);
  const segments = (error.instancePath ?? '').split('/').slice(1);
  const member = error.params?.missingProperty ?? error.params?.additionalProperty;
  if (typeof member === 'string') segments.push(member);
  const name = segments.findLast((segment) => !/^\d+$/.test(segment)) ?? '';
  const shape = error.keyword === undefined || shapeKeywords.has(error.keyword);
  const code = shape ? 'VALIDATION_FAILED' : (fieldCodes[name] ?? 'VALIDATION_FAILED');
  const field = segments.reduce((path, s) => (/^\d+$/.test(s) ? `${path}[${s}]` : path ? `${path}.${s}` : s), '');
  const details = field === '' ? { in: part } : { field, in: part };
  return domainError(code, `${part}${field ? `.${field}` : ''} ${failure(error)}`, details);
}

function failure(error: Partial<ErrorObject>): string {
  if (error.keyword === 'required') return 'is required';
  if (error.keyword === 'additionalProperties') return 'is not a known member';
  if (error.keyword === 'not') return 'is not an allowed value';
  return error.message ?? 'is not valid';
}
