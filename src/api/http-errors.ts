import { type DomainError, type ErrorCode, errorCodes, errorStatus } from '../domain/index.js';

// Refusals only the HTTP layer makes: the request never became a command or a read, so the domain
// has no code for them (and no gRPC status: a gRPC call cannot be malformed this way). They are
// answered in the same problem format as the domain's errors, with the same kind of stable code.

export const httpErrorCodes = [
  'MALFORMED_REQUEST',
  'METHOD_NOT_ALLOWED',
  'REQUEST_TIMEOUT',
  'URI_TOO_LONG',
  'HEADERS_TOO_LARGE',
] as const;

export type HttpErrorCode = (typeof httpErrorCodes)[number];

/** Every code a problem can carry: the domain's, then the HTTP layer's. */
export type ProblemCode = ErrorCode | HttpErrorCode;

export const problemCodes: readonly ProblemCode[] = [...errorCodes, ...httpErrorCodes];

export const httpErrorStatus: Readonly<Record<HttpErrorCode, { http: number; title: string }>> = {
  MALFORMED_REQUEST: { http: 400, title: 'The request is not well-formed HTTP' },
  METHOD_NOT_ALLOWED: { http: 405, title: 'The path does not answer this method' },
  REQUEST_TIMEOUT: { http: 408, title: 'The request was not received in time' },
  URI_TOO_LONG: { http: 414, title: 'A path segment is too long' },
  HEADERS_TOO_LARGE: { http: 431, title: 'The request headers are too large' },
};

/** The HTTP status and title of any problem code, from the domain's table or the one above. */
export const problemStatus: Readonly<Record<ProblemCode, { http: number; title: string }>> = {
  ...errorStatus,
  ...httpErrorStatus,
};

export interface HttpError {
  readonly code: HttpErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** What a problem can be made of. */
export type ApiError = DomainError | HttpError;

export function httpError(code: HttpErrorCode, message: string, details?: Record<string, unknown>): HttpError {
  return details === undefined ? { code, message } : { code, message, details };
}
