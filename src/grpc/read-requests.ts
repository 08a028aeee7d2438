import type { ApiRuntime } from '../api/commands.js';
import { type DomainError, domainError, isValidCode, type Level } from '../domain/index.js';
import { invalidField, refuse } from './grpc-errors.js';
import { numberOf } from './messages.js';

// What the read RPCs share: the checks of their request members (as the HTTP API's query schemas
// check them), their pages, and read-your-writes on the read side.

/** Page sizes of the reads, as the HTTP API's `limit`. */
const pageLimitDefault = 100;
const pageLimitMax = 1000;

export function code(field: string, value: string): string {
  if (!isValidCode(value)) refuse(invalidField(field, 'is not a valid code'));
  return value;
}

export function limitOf(limit: number | undefined): number {
  if (limit === undefined) return pageLimitDefault;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > pageLimitMax) {
    refuse(invalidField('limit', `must be an integer from 1 to ${pageLimitMax}`));
  }
  return limit;
}

export function positionOf(field: string, value: bigint | undefined): number | undefined {
  const position = numberOf(value);
  if (position !== undefined && (!Number.isSafeInteger(position) || position < 0)) {
    refuse(invalidField(field, 'must be an integer from 0 to 2^53 - 1'));
  }
  return position;
}

export function unknownItem(sku: string): DomainError {
  return domainError('UNKNOWN_ITEM', `item ${sku} is not registered`, { sku });
}

export function totals(levels: readonly Level[]) {
  let onHand = 0n;
  let reserved = 0n;
  let incoming = 0n;
  for (const level of levels) {
    onHand += BigInt(level.onHand);
    reserved += BigInt(level.reserved);
    incoming += BigInt(level.incoming);
  }
  return { onHand, reserved, available: onHand - reserved, incoming, projected: onHand + incoming - reserved };
}

/** The read models the read-model reads wait for. */
export type ModelName = Parameters<ApiRuntime['readSide']['waitFor']>[1][number];

/**
 * Read your writes on the read side: waits, a bounded time, until the models reflect
 * `minPosition`; READ_MODEL_BEHIND when they do not.
 */
export async function readModelsAt(
  runtime: ApiRuntime,
  minPosition: bigint | undefined,
  models: ModelName[],
): Promise<void> {
  const position = positionOf('minPosition', minPosition);
  if (position === undefined || position === 0 || (await runtime.readSide.waitFor(position, models))) return;
  const message = `the read models have not reached position ${position} yet; retry after 1 s`;
  refuse(domainError('READ_MODEL_BEHIND', message, { minPosition: position, models, retryAfterS: 1 }));
}

/** A row of numbers as the contract's int64 members (strings stay strings). */
export function bigints<T extends object>(row: T): { [K in keyof T]: T[K] extends number ? bigint : T[K] } {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => [key, typeof value === 'number' ? BigInt(value) : value]),
  ) as { [K in keyof T]: T[K] extends number ? bigint : T[K] };
}
