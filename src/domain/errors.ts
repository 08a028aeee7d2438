// Domain errors are values with stable codes. They are decided, stored as a command's first
// result and replayed on a repeat; exceptions are reserved for bugs.

export const errorCodes = [
  'VALIDATION_FAILED',
  'INVALID_ID',
  'INVALID_CODE',
  'INVALID_QUANTITY',
  'INVALID_TTL',
  'INVALID_LINES',
  'INVALID_TEXT',
  'UNKNOWN_ITEM',
  'ITEM_ALREADY_EXISTS',
  'INSUFFICIENT_STOCK',
  'LEVEL_LIMIT_EXCEEDED',
  'LEVEL_RESERVED_LIMIT_EXCEEDED',
  'COUNT_BELOW_RESERVED',
  'INCOMING_SHORT',
  'SAME_LOCATION',
  'RESERVATION_NOT_FOUND',
  'RESERVATION_ALREADY_COMMITTED',
  'RESERVATION_ALREADY_RELEASED',
  'RESERVATION_EXPIRED',
  'RESERVATION_NOT_EXPIRED',
  'COMMIT_EXCEEDS_RESERVATION',
  'IDEMPOTENCY_CONFLICT',
  'CONCURRENCY_CONFLICT',
  'OVERLOADED',
  'UNAVAILABLE',
  'READ_MODEL_BEHIND',
  'EVENT_STREAM_FULL',
  'STORE_REJECTED',
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'BATCH_TOO_LARGE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export interface DomainError {
  readonly code: ErrorCode;
  readonly message: string;
  /** Machine-readable context: the offending field, the short line, the current status. */
  readonly details?: Readonly<Record<string, unknown>>;
}

export function domainError(code: ErrorCode, message: string, details?: Record<string, unknown>): DomainError {
  return details === undefined ? { code, message } : { code, message, details };
}

/** One table maps every code to its HTTP status (RFC 9457) and gRPC status name. */
export const errorStatus: Readonly<Record<ErrorCode, { http: number; grpc: string; title: string }>> = {
  VALIDATION_FAILED: { http: 400, grpc: 'INVALID_ARGUMENT', title: 'The request is not valid' },
  INVALID_ID: { http: 400, grpc: 'INVALID_ARGUMENT', title: 'An id is not valid' },
  INVALID_CODE: { http: 400, grpc: 'INVALID_ARGUMENT', title: 'A SKU or location code is not valid' },
  INVALID_QUANTITY: { http: 400, grpc: 'INVALID_ARGUMENT', title: 'A quantity is out of range' },
  INVALID_TTL: { http: 400, grpc: 'INVALID_ARGUMENT', title: 'The reservation TTL is out of range' },
  INVALID_LINES: { http: 400, grpc: 'INVALID_ARGUMENT', title: 'The lines are not valid' },
  INVALID_TEXT: { http: 400, grpc: 'INVALID_ARGUMENT', title: 'A text field is too long or not well-formed' },
  UNKNOWN_ITEM: { http: 404, grpc: 'NOT_FOUND', title: 'The item is not registered' },
  ITEM_ALREADY_EXISTS: { http: 409, grpc: 'ALREADY_EXISTS', title: 'The item is already registered' },
  INSUFFICIENT_STOCK: { http: 409, grpc: 'FAILED_PRECONDITION', title: 'Not enough stock is available' },
  LEVEL_LIMIT_EXCEEDED: { http: 409, grpc: 'FAILED_PRECONDITION', title: 'On hand would exceed its maximum' },
  LEVEL_RESERVED_LIMIT_EXCEEDED: {
    http: 409,
    grpc: 'FAILED_PRECONDITION',
    title: 'Reserved would exceed its maximum',
  },
  COUNT_BELOW_RESERVED: { http: 409, grpc: 'FAILED_PRECONDITION', title: 'The count is below the reserved quantity' },
  INCOMING_SHORT: {
    http: 409,
    grpc: 'FAILED_PRECONDITION',
    title: 'The level expects fewer incoming units than the command settles or withdraws',
  },
  SAME_LOCATION: { http: 400, grpc: 'INVALID_ARGUMENT', title: 'A transfer needs two different locations' },
  RESERVATION_NOT_FOUND: { http: 404, grpc: 'NOT_FOUND', title: 'The reservation does not exist' },
  RESERVATION_ALREADY_COMMITTED: {
    http: 409,
    grpc: 'FAILED_PRECONDITION',
    title: 'The reservation is already committed',
  },
  RESERVATION_ALREADY_RELEASED: {
    http: 409,
    grpc: 'FAILED_PRECONDITION',
    title: 'The reservation is already released',
  },
  RESERVATION_EXPIRED: { http: 409, grpc: 'FAILED_PRECONDITION', title: 'The reservation has expired' },
  RESERVATION_NOT_EXPIRED: { http: 409, grpc: 'FAILED_PRECONDITION', title: 'The reservation has not expired yet' },
  COMMIT_EXCEEDS_RESERVATION: {
    http: 409,
    grpc: 'FAILED_PRECONDITION',
    title: 'The commit does not match the reservation',
  },
  IDEMPOTENCY_CONFLICT: { http: 422, grpc: 'ALREADY_EXISTS', title: 'The command id was used with another payload' },
  CONCURRENCY_CONFLICT: {
    http: 409,
    grpc: 'ABORTED',
    title: 'The command kept conflicting with concurrent writers; nothing was written',
  },
  OVERLOADED: { http: 503, grpc: 'RESOURCE_EXHAUSTED', title: 'The engine queue is full' },
  UNAVAILABLE: { http: 503, grpc: 'UNAVAILABLE', title: 'The store is unavailable' },
  READ_MODEL_BEHIND: {
    http: 503,
    grpc: 'UNAVAILABLE',
    title: 'The read models have not reached the position asked for yet; retry after the time given',
  },
  EVENT_STREAM_FULL: {
    http: 503,
    grpc: 'RESOURCE_EXHAUSTED',
    title: 'Every event stream slot of this instance is taken; retry after the time given',
  },
  STORE_REJECTED: {
    http: 422,
    grpc: 'INVALID_ARGUMENT',
    title: 'The store cannot hold this command; nothing was written, and a resend fails alike',
  },
  NOT_FOUND: { http: 404, grpc: 'NOT_FOUND', title: 'Not found' },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: 'INVALID_ARGUMENT', title: 'The request body is too large' },
  BATCH_TOO_LARGE: { http: 413, grpc: 'INVALID_ARGUMENT', title: 'The batch has too many commands' },
  UNAUTHENTICATED: { http: 401, grpc: 'UNAUTHENTICATED', title: 'No valid credential was presented' },
  FORBIDDEN: { http: 403, grpc: 'PERMISSION_DENIED', title: 'The credential does not grant this operation' },
  RATE_LIMITED: { http: 429, grpc: 'RESOURCE_EXHAUSTED', title: 'Too many requests; retry after the time given' },
  INTERNAL: { http: 500, grpc: 'INTERNAL', title: 'Internal error' },
};
