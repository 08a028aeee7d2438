import { type DestinationStream, type LoggerOptions, pino } from 'pino';
import pinoPretty from 'pino-pretty';
import type { Config } from './config.js';
import type { Log } from './log.js';

// Where and how every process logs: pino at the configured level, as JSON lines on stdout, or
// (SKULD_LOG_FORMAT=pretty) as pino-pretty's readable lines for a terminal. The engine thread,
// the HTTP app and the order and purchase services all take their logger from here, so that one
// setting changes all of them.

export type LogSettings = Pick<Config, 'logLevel' | 'logFormat'>;

/**
 * Fields that may hold a credential, censored wherever a caller puts them (the request log
 * never logs headers; these guard a log call that one day passes a whole request or config).
 */
const redact = {
  paths: ['authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', '*.inventoryKey'],
  censor: '[redacted]',
};

/**
 * pino-pretty in this thread, writing synchronously: its lines stay in order with the
 * terminal's other output (the banner), and a worker-thread transport would be a third thread
 * on a machine that gives the engine one of two cores.
 */
function prettyStream(): DestinationStream {
  return pinoPretty({
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: false,
  });
}

/** The options of a logger: pino's own, and Fastify's `logger` option (which takes `stream` too). */
export function loggerOptions(settings: LogSettings): LoggerOptions & { stream?: DestinationStream } {
  const options = { level: settings.logLevel, redact };
  return settings.logFormat === 'pretty' ? { ...options, stream: prettyStream() } : options;
}

/** The process's logger (or a thread's). */
export function createLog(settings: LogSettings): Log {
  const { stream, ...options } = loggerOptions(settings);
  return stream === undefined ? pino(options) : pino(options, stream);
}
