import type { MessageInitShape } from '@bufbuild/protobuf';
import { ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import type { ApiRuntime, ClientCommandType } from '../api/commands.js';
import { commandScopes } from '../auth/scopes.js';
import type { Command, DomainError } from '../domain/index.js';
import type { Answer } from '../engine/executor.js';
import type {
  ExecuteCommandsRequest,
  ExecuteCommandsResponseSchema,
  InventoryService,
} from './gen/skuld/inventory/v1/inventory_service_pb.js';
import { forbidden, type GrpcAuth, principalOf, rateLimited } from './grpc-access.js';
import { detailsOf, grpcStatus, invalidField, refuse } from './grpc-errors.js';
import { type CommandRequest, commandOf, toCommand, valueMembers } from './messages.js';

// The command RPCs: each command goes to the write path as its HTTP route would send it, the
// principal as actor. A command handed to the engine is decided whole whatever becomes of the
// call: a call cancelled or past its deadline after that point leaves the command done or
// refused, never in part, and its id tells which on a resend.

/** Most commands of one stream in the engine at once; the stream is read no further until one is answered. */
export const streamCommandsInFlightMax = 1024;

/** Sends a command unless the call is already over: a cancelled call's command is never started. */
function execute(runtime: ApiRuntime, context: HandlerContext, command: Command): Promise<Answer> {
  if (context.signal.aborted) throw ConnectError.from(context.signal.reason);
  return runtime.engine.execute(command);
}

/** A unary command's response: its value's members, its position and whether it was replayed. */
function answered(answer: Answer) {
  const { outcome } = answer;
  if (!outcome.ok) refuse(outcome.error);
  return { ...valueMembers(outcome.value), position: BigInt(outcome.position), replayed: answer.replayed };
}

type StreamAnswer = MessageInitShape<typeof ExecuteCommandsResponseSchema>;

/** One command of a stream: its scope, a token of the principal's budget, then the engine. */
async function streamAnswer(
  runtime: ApiRuntime,
  auth: GrpcAuth,
  context: HandlerContext,
  request: ExecuteCommandsRequest,
  sequence: number,
): Promise<StreamAnswer> {
  const principal = principalOf(context);
  const command = commandOf(request, principal.actor);
  const refused = (commandId: string, error: DomainError): StreamAnswer => ({
    sequence: BigInt(sequence),
    commandId,
    result: {
      case: 'error',
      value: { status: grpcStatus(error.code), detail: { ...error, details: detailsOf(error) } },
    },
  });
  if (command === undefined) return refused('', invalidField('command', 'is not set'));
  const scope = commandScopes[command.type as ClientCommandType];
  if (!principal.scopes.has(scope)) return refused(command.id, forbidden(scope));
  const limited = rateLimited(await auth.requests.take(principal.actor, 1));
  if (limited !== undefined) return refused(command.id, limited);
  const { outcome, replayed } = await execute(runtime, context, command);
  if (!outcome.ok) return { ...refused(command.id, outcome.error), replayed };
  const members = valueMembers(outcome.value);
  const value =
    'item' in members
      ? { case: 'item' as const, value: members.item }
      : 'reservation' in members
        ? { case: 'reservation' as const, value: members.reservation }
        : { case: 'levels' as const, value: members };
  return {
    sequence: BigInt(sequence),
    commandId: command.id,
    replayed,
    result: { case: 'ok', value: { value, position: BigInt(outcome.position) } },
  };
}

/**
 * Answers a stream's commands in the order they came, while reading on: up to
 * streamCommandsInFlightMax of them are in the engine at once, so they share its batches.
 */
async function* executeCommands(
  runtime: ApiRuntime,
  auth: GrpcAuth,
  requests: AsyncIterable<ExecuteCommandsRequest>,
  context: HandlerContext,
): AsyncGenerator<StreamAnswer> {
  const answers: Promise<StreamAnswer>[] = [];
  let wake: (() => void) | undefined;
  let room: (() => void) | undefined;
  let readDone = false;
  let readError: unknown;
  const reading = (async () => {
    let sequence = 0;
    for await (const request of requests) {
      while (answers.length >= streamCommandsInFlightMax) await new Promise<void>((resolve) => (room = resolve));
      const answer = streamAnswer(runtime, auth, context, request, sequence);
      // A call that ended leaves its answers unread: their failures are the call's, not the process's.
      answer.catch(() => undefined);
      answers.push(answer);
      sequence += 1;
      wake?.();
    }
  })();
  // The request side ended, or failed (the client went away): either way the answers go on to the end.
  reading.then(
    () => {
      readDone = true;
      wake?.();
    },
    (error: unknown) => {
      readError = error;
      readDone = true;
      wake?.();
    },
  );
  while (true) {
    const next = answers.shift();
    if (next === undefined) {
      if (readDone) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      continue;
    }
    room?.();
    room = undefined;
    yield await next;
  }
  if (readError !== undefined) throw readError;
}

type CommandRpc =
  | 'registerItem'
  | 'receiveStock'
  | 'reserveStock'
  | 'commitReservation'
  | 'releaseReservation'
  | 'returnStock'
  | 'adjustStock'
  | 'countStock'
  | 'transferStock'
  | 'expectStock'
  | 'executeCommands';

export function commandHandlers(
  runtime: ApiRuntime,
  auth: GrpcAuth,
): Pick<ServiceImpl<typeof InventoryService>, CommandRpc> {
  const unary =
    <T extends ClientCommandType>(type: T) =>
    async (request: CommandRequest<T>, context: HandlerContext) =>
      answered(await execute(runtime, context, toCommand(type, request, principalOf(context).actor)));
  return {
    registerItem: unary('RegisterItem'),
    receiveStock: unary('ReceiveStock'),
    reserveStock: unary('ReserveStock'),
    commitReservation: unary('CommitReservation'),
    releaseReservation: unary('ReleaseReservation'),
    returnStock: unary('ReturnStock'),
    adjustStock: unary('AdjustStock'),
    countStock: unary('CountStock'),
    transferStock: unary('TransferStock'),
    expectStock: unary('ExpectStock'),
    executeCommands: (requests, context) => executeCommands(runtime, auth, requests, context),
  };
}
