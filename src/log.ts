/**
 * What every part below the HTTP layer logs through (the engine, the sweeper, the stores'
 * threads): the subset of pino's API they use, so that the service's pino logger, or a child of
 * it, is passed as it is, and a test can pass a recorder. An interface only, so every layer may
 * import it.
 */
export interface Log {
  error(context: object, message: string): void;
  warn(context: object, message: string): void;
  info(context: object, message: string): void;
  /** What an operator follows only while looking into something (each engine batch). */
  debug(context: object, message: string): void;
}

/** For callers that log elsewhere (a benchmark's table, a test that asserts on answers). */
export const silentLog: Log = { error() {}, warn() {}, info() {}, debug() {} };
