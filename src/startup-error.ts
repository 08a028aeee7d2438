// Why the service refused to start. Like every other error a client or an operator can meet, a
// startup refusal carries a stable code, printed before its message (`PORT_IN_USE: …`).

export const startupErrorCodes = [
  /** A setting's value, a flag or a combination of settings is not valid. */
  'CONFIG_INVALID',
  /** The write strategy does not apply to the store's dialect. */
  'STRATEGY_UNSUPPORTED',
  /** Another process listens on the HTTP address. */
  'PORT_IN_USE',
  /** The redlock strategy's Redis does not answer. */
  'REDIS_UNREACHABLE',
  /** RabbitMQ does not answer a command that needs it (skuld dlq). */
  'RABBITMQ_UNREACHABLE',
  /** A process `skuld system` starts exited or did not come up. */
  'PROCESS_FAILED',
] as const;

export type StartupErrorCode = (typeof startupErrorCodes)[number];

export class StartupError extends Error {
  readonly code: StartupErrorCode;

  constructor(code: StartupErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
    this.code = code;
  }
}
