import type { JsonObject } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { type DomainError, domainError, type ErrorCode, errorCodes, errorStatus } from '../domain/index.js';
import { ErrorDetailSchema } from './gen/skuld/inventory/v1/types_pb.js';

// Refusals over gRPC: the status of each stable code is the gRPC column of the one table
// (domain/errors.ts) that also gives the HTTP status; the stable code travels in the status
// details (an ErrorDetail) and in the trailer `skuld-error-code`, for clients that read no details.

/** The trailer that carries the stable code of a refusal. */
export const errorCodeTrailer = 'skuld-error-code';

/** `FAILED_PRECONDITION` -> Code.FailedPrecondition. */
function codeOfName(name: string): Code {
  const camel = name
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
  const code = (Code as unknown as Record<string, Code | undefined>)[camel];
  if (code === undefined) throw new Error(`${name} is not a gRPC status code`);
  return code;
}

const statusOfCode: Readonly<Record<ErrorCode, Code>> = Object.fromEntries(
  errorCodes.map((code) => [code, codeOfName(errorStatus[code].grpc)]),
) as Record<ErrorCode, Code>;

/** The gRPC status of a stable code. */
export function grpcStatus(code: ErrorCode): Code {
  return statusOfCode[code];
}

/** The details of a domain error as JSON (a Struct): only what JSON can hold. */
export function detailsOf(error: DomainError): JsonObject | undefined {
  return error.details === undefined ? undefined : (JSON.parse(JSON.stringify(error.details)) as JsonObject);
}

/** A domain error as the error a call fails with. */
export function toConnectError(error: DomainError): ConnectError {
  const detail = { code: error.code, message: error.message, details: detailsOf(error) };
  return new ConnectError(error.message, grpcStatus(error.code), { [errorCodeTrailer]: error.code }, [
    { desc: ErrorDetailSchema, value: detail },
  ]);
}

/** An invalid request member: VALIDATION_FAILED naming it, as the HTTP API's schemas would. */
export function invalidField(field: string, message: string): DomainError {
  return domainError('VALIDATION_FAILED', `${field} ${message}`, { field, in: 'message' });
}

/** Ends the call with a domain error's status. */
export function refuse(error: DomainError): never {
  throw toConnectError(error);
}
