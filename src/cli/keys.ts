import { userInfo } from 'node:os';
import { keyNamePattern } from '../auth/api-keys.js';
import { createKey, describeKey, keyListHeader, revokeKey } from '../auth/key-admin.js';
import { isRole, type Role, roleDescriptions, roleNames } from '../auth/scopes.js';
import type { Runtime } from '../compose/runtime.js';
import { StartupError } from '../startup-error.js';

// `skuld keys create | list | revoke`: API keys, managed on the store directly (the server need
// not run). A key is printed once, at creation; only its hash is stored.

export const keysUsage = `Usage:
  skuld keys create --name <name> --role <role> [--role <role>…] [--expires-in-days <days>]
  skuld keys list
  skuld keys revoke <key id>

Roles: ${roleNames.map((role) => `\n  ${role.padEnd(11)}${roleDescriptions[role]}`).join('')}`;

export type KeysAction =
  | {
      readonly kind: 'create';
      readonly name: string;
      readonly roles: Role[];
      readonly expiresInDays: number | undefined;
    }
  | { readonly kind: 'list' }
  | { readonly kind: 'revoke'; readonly id: string };

const invalid = (message: string) => new StartupError('CONFIG_INVALID', `${message}\n\n${keysUsage}`);

/** Takes the action and its own flags from the arguments; the rest are settings' flags. */
export function parseKeysArgs(args: readonly string[]): { action: KeysAction; rest: string[] } {
  const [verb, ...tail] = args;
  const rest: string[] = [];
  const roles: Role[] = [];
  let name: string | undefined;
  let expiresInDays: number | undefined;
  const positional: string[] = [];
  for (let index = 0; index < tail.length; index += 1) {
    const arg = tail[index] as string;
    const value = () => tail[++index] ?? '';
    if (arg === '--name') name = value();
    else if (arg === '--role') {
      const role = value();
      if (!isRole(role)) throw invalid(`unknown role "${role}"`);
      roles.push(role);
    } else if (arg === '--expires-in-days') {
      expiresInDays = Number(value());
      if (!Number.isSafeInteger(expiresInDays) || expiresInDays < 1)
        throw invalid('--expires-in-days: a whole number of days, at least 1');
    } else if (arg.startsWith('--')) {
      rest.push(arg);
      if (!arg.includes('=')) rest.push(value());
    } else positional.push(arg);
  }
  if (verb === 'list') return { action: { kind: 'list' }, rest };
  if (verb === 'revoke') {
    if (positional.length !== 1) throw invalid('skuld keys revoke takes one key id');
    return { action: { kind: 'revoke', id: positional[0] as string }, rest };
  }
  if (verb === 'create') {
    if (name === undefined || !keyNamePattern.test(name)) {
      throw invalid('--name: 1-48 letters, digits and ._- (it becomes the actor key:<name> on every event)');
    }
    if (roles.length === 0) throw invalid('--role: at least one');
    return { action: { kind: 'create', name, roles, expiresInDays }, rest };
  }
  throw invalid(`unknown keys action "${verb ?? ''}"`);
}

/** Who runs the command line: recorded on the keys it creates and revokes. */
export function cliActor(): string {
  const user = userInfo()
    .username.replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 40);
  return `cli:${user === '' ? 'unknown' : user}`;
}

export async function runKeys(runtime: Runtime, action: KeysAction): Promise<number> {
  const { keys } = runtime.store;
  const now = Date.now();
  if (action.kind === 'list') {
    console.log(keyListHeader);
    for (const record of await keys.listKeys()) console.log(describeKey(record, now));
    return 0;
  }
  if (action.kind === 'revoke') {
    if (await revokeKey(keys, action.id, cliActor(), now)) {
      console.log(`revoked ${action.id}; servers refuse it within SKULD_AUTH_KEY_CACHE_MS`);
      return 0;
    }
    console.error(`skuld: no active key ${action.id} (skuld keys list)`);
    return 1;
  }
  const expiresAt = action.expiresInDays === undefined ? null : now + action.expiresInDays * 86_400_000;
  const { key, record } = await createKey(keys, {
    name: action.name,
    roles: action.roles,
    createdBy: cliActor(),
    now,
    expiresAt,
  });
  console.log(`created key ${record.id} (${record.name}: ${record.roles.join(', ')}). It is shown this once:\n${key}`);
  return 0;
}
