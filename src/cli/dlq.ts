import { amqpConnection, returnsTopologyOf } from '../compose/events.js';
import { type Config, resolveConfig } from '../config.js';
import { type DeadLetter, DeadLetters, deadLettersListedMax } from '../events/returns/dead-letters.js';
import { silentLog } from '../log.js';
import { StartupError } from '../startup-error.js';

// `skuld dlq list | show <id> | replay <id> | replay --all`: the returns' dead-letter queue on
// RabbitMQ, read without losing a message and replayed into the returns queue.

export const dlqUsage = `Usage:
  skuld dlq list              the dead letters of the returns queue: message id, attempts, last error
  skuld dlq show <id>         every dead letter with this message id: its reason, headers and body
  skuld dlq replay <id>       moves them back to the returns queue, attempts reset
  skuld dlq replay --all      moves every dead letter back

A replayed return whose command took effect already changes nothing: its id is its message id.`;

export type DlqAction =
  | { readonly kind: 'list' }
  | { readonly kind: 'show'; readonly id: string }
  | { readonly kind: 'replay'; readonly id: string | undefined };

/** How long the command waits for RabbitMQ before it gives up. */
const connectTimeoutMs = 10_000;

const invalid = (message: string) => new StartupError('CONFIG_INVALID', `${message}\n\n${dlqUsage}`);

/** Takes the action and its argument; the rest are settings' flags. */
export function parseDlqArgs(args: readonly string[]): { action: DlqAction; rest: string[] } {
  const [verb, ...tail] = args;
  const all = tail.includes('--all');
  const positional: string[] = [];
  const rest: string[] = [];
  for (let index = 0; index < tail.length; index += 1) {
    const arg = tail[index] as string;
    if (arg === '--all') continue;
    if (arg.startsWith('--')) {
      rest.push(arg);
      if (!arg.includes('=')) rest.push(tail[++index] ?? '');
    } else positional.push(arg);
  }
  if (verb === 'list' && positional.length === 0 && !all) return { action: { kind: 'list' }, rest };
  if (verb === 'show' && positional.length === 1 && !all)
    return { action: { kind: 'show', id: positional[0] as string }, rest };
  if (verb === 'replay' && positional.length === 1 && !all) {
    return { action: { kind: 'replay', id: positional[0] as string }, rest };
  }
  if (verb === 'replay' && positional.length === 0 && all) return { action: { kind: 'replay', id: undefined }, rest };
  throw invalid(`unknown or incomplete dlq action "${args.join(' ')}"`);
}

function row(letter: DeadLetter): string {
  const failedAt = letter.failedAt === undefined ? '-' : new Date(letter.failedAt).toISOString();
  const id = letter.messageId ?? '(no id)';
  return `${id.padEnd(30)} ${String(letter.attempts).padStart(8)}  ${letter.code.padEnd(22)} ${failedAt.padEnd(24)} ${letter.reason}`;
}

function detail(letter: DeadLetter): string {
  return [
    `message id: ${letter.messageId ?? '(none)'}`,
    `attempts:   ${letter.attempts}`,
    `error:      ${letter.code}${letter.reason === '' ? '' : `: ${letter.reason}`}`,
    `failed at:  ${letter.failedAt === undefined ? '-' : new Date(letter.failedAt).toISOString()}`,
    `headers:    ${JSON.stringify(letter.headers)}`,
    `body:       ${letter.body}`,
  ].join('\n');
}

export async function runDlq(config: Config, action: DlqAction): Promise<number> {
  if (config.amqpUrl === '')
    throw new StartupError('CONFIG_INVALID', 'SKULD_AMQP_URL / --amqp-url: RabbitMQ is not configured');
  // The connection's own errors are the reason onConnect gives, printed once below.
  const connection = amqpConnection(config, silentLog);
  const letters = new DeadLetters(connection, returnsTopologyOf(config));
  try {
    await connection.onConnect(connectTimeoutMs, true).catch((error: unknown) => {
      throw new StartupError('RABBITMQ_UNREACHABLE', `${(error as Error).message} (SKULD_AMQP_URL / --amqp-url)`, {
        cause: error,
      });
    });
    return await act(letters, action, returnsTopologyOf(config).dead);
  } finally {
    await connection.close();
  }
}

async function act(letters: DeadLetters, action: DlqAction, queue: string): Promise<number> {
  if (action.kind === 'list') {
    const { letters: found, total } = await letters.list();
    console.log(
      `${queue}: ${total} dead letter${total === 1 ? '' : 's'}${total > deadLettersListedMax ? ` (the first ${deadLettersListedMax} below)` : ''}`,
    );
    if (found.length > 0)
      console.log(
        `${'message id'.padEnd(30)} ${'attempts'.padStart(8)}  ${'error'.padEnd(22)} ${'failed at'.padEnd(24)} reason`,
      );
    for (const letter of found) console.log(row(letter));
    return 0;
  }
  if (action.kind === 'show') {
    const found = await letters.show(action.id);
    if (found.length === 0) {
      console.error(`skuld: no dead letter with message id ${action.id} (skuld dlq list)`);
      return 1;
    }
    console.log(found.map(detail).join('\n\n'));
    return 0;
  }
  const replayed = await letters.replay(action.id);
  if (replayed === 0 && action.id !== undefined) {
    console.error(`skuld: no dead letter with message id ${action.id} (skuld dlq list)`);
    return 1;
  }
  console.log(`replayed ${replayed} dead letter${replayed === 1 ? '' : 's'} into the returns queue`);
  return 0;
}

/** The configuration for `skuld dlq`: settings' flags after the action's own arguments. */
export function dlqConfig(rest: readonly string[]): Config {
  return resolveConfig(process.env, rest).config;
}
