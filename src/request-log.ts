import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { routeOf } from './metrics/http-metrics.js';

/** Query parameters that may carry a credential (a browser's EventSource cannot send a header). */
const secretQuery = /([?&](?:access_token|token|api_key|key)=)[^&]*/gi;

/**
 * One log line per request, when it completes, at info: method, route template, URL, status,
 * duration, and who asked (the principal's actor: `key:<name>`, `jwt:<sub>`; absent before
 * authentication), under the request id. Fastify's default writes a second line as each request
 * arrives, which doubles the log for nothing the completed line does not say. A request that
 * errored is logged at error with its cause. The inventory's API and the order and purchase
 * services log their requests alike.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const principal = (request as { principal?: { actor: string } }).principal?.actor;
    const line = {
      method: request.method,
      route: routeOf(request),
      url: request.url.replace(secretQuery, '$1[redacted]'),
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
      ...(principal === undefined ? {} : { principal }),
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}
