import type { FastifyInstance } from 'fastify';
import { commandScopes } from '../../auth/scopes.js';
import { type Command, type DomainError, domainError } from '../../domain/index.js';
import type { Answer } from '../../engine/executor.js';
import { actorOf, charge, forbidden } from '../auth.js';
import { type ApiContext, batchCommandSchema, type ClientCommandType, resultBody } from '../commands.js';
import { sendProblem, toProblem } from '../problem.js';
import { objectSchema, problemResponses } from '../schemas.js';
import { validationError } from '../validation.js';

export async function batchRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { runtime, validation, commands, auth } = context;
  const types = Object.keys(commands) as ClientCommandType[];
  const validators = new Map(
    types.map((type) => [type, validation.compileBody(batchCommandSchema(type, commands[type]))]),
  );

  /** Checks one command as its own route would: the problem that answers it, if any. */
  function rejection(raw: Record<string, unknown>): DomainError | undefined {
    const validate = validators.get(raw.type as ClientCommandType);
    if (validate === undefined) {
      const field = { field: 'type', in: 'body' };
      return domainError('VALIDATION_FAILED', `body.type must be one of ${types.join(', ')}`, field);
    }
    return validate(raw) ? undefined : validationError(validate.errors ?? [], 'body');
  }

  /** An invalid command is answered without the engine; the rest go to it together, as the principal's. */
  function run(raw: Record<string, unknown>, actor: string): Promise<Answer> | Answer {
    const error = rejection(raw);
    if (error === undefined) return runtime.engine.execute({ ...raw, actor } as unknown as Command);
    return { outcome: { ok: false, commandId: String(raw.id), error }, replayed: false };
  }

  app.post(
    '/v1/batch',
    {
      schema: {
        tags: ['batch'],
        summary: 'Many commands in one request, each answered separately',
        description:
          'Each command needs the scope of its type (a batch with one it does not grant is 403, whole) and costs ' +
          'one request of the rate limit. Each command is an object with `type` and the body members of its route; CommitReservation and ' +
          'ReleaseReservation also carry `reservationId` (schemas: the `*Command` components). ExpireReservation ' +
          "is the system's own and never accepted. The commands go to the engine together, so they share its " +
          'batches, but each succeeds or fails alone: `results[i]` answers `commands[i]` with the success body ' +
          'of its route or `{ problem }`. The response is 200 whatever the results; more than ' +
          `${runtime.config.httpBatchCommandsMax} commands is 413 BATCH_TOO_LARGE.`,
        body: objectSchema(
          {
            commands: {
              type: 'array',
              maxItems: runtime.config.httpBatchCommandsMax,
              items: { type: 'object', description: `One of: ${types.map((type) => `${type}Command`).join(', ')}` },
            },
          },
          ['commands'],
        ),
        response: {
          200: {
            type: 'object',
            required: ['results'],
            properties: { results: { type: 'array', items: { description: 'A success body or { problem }' } } },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { commands: raws } = request.body as { commands: Record<string, unknown>[] };
      // Every command's scope before any runs: a batch holding one command the credential does not
      // grant is refused whole (403) and changes nothing. Then it costs one token per command.
      for (const raw of raws) {
        const scope = commandScopes[raw.type as ClientCommandType];
        const refusal = scope === undefined ? undefined : forbidden(request, scope);
        if (refusal !== undefined) return sendProblem(request, reply, refusal);
      }
      const limited = await charge(request, reply, auth.requests, Math.max(1, raws.length));
      if (limited !== undefined) return sendProblem(request, reply, limited);
      const actor = actorOf(request);
      const answers = await Promise.all(raws.map((raw) => run(raw, actor)));
      const results = answers.map(({ outcome }, index) =>
        outcome.ok
          ? resultBody(outcome.value, outcome.position)
          : { problem: toProblem(request, outcome.error, `${request.url}#/commands/${index}`) },
      );
      return { results };
    },
  );
}
