import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { type DomainError, domainError, type ErrorCode } from '../domain/index.js';
import type { Schema } from './schemas.js';

// Request validation. Bodies are checked as sent: no coercion, no defaults, unknown members
// rejected rather than removed, so what the engine fingerprints is exactly what the client sent.
// Path and query strings arrive as text, so their numbers are coerced.

export interface Validation {
  readonly compiler: FastifySchemaCompiler<Schema>;
  /** Compiles a body schema with the body rules, for commands validated one by one (batch). */
  compileBody(schema: Schema): ValidateFunction;
}

export function createValidation(): Validation {
  // allErrors stays off: the first failure decides the code, and a hostile body costs one check.
  const shared = { allErrors: false, removeAdditional: false, strict: true } as const;
  const body = new Ajv({ ...shared, coerceTypes: false, useDefaults: false });
  const text = new Ajv({ ...shared, coerceTypes: true, useDefaults: true });
  return {
    compiler: ({ schema, httpPart }) => (httpPart === 'body' ? body : text).compile(schema),
    compileBody: (schema) => body.compile(schema),
  };
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
