import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type Access,
  describeAccess,
  operations,
  roleDescriptions,
  roleNames,
  roleScopes,
  scopes,
} from '../../src/auth/scopes.js';

// The table of operations is the one declaration of who may do what; docs/api.md prints it, and
// must print exactly it.

const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');

function holders(access: Access): string {
  if (access.kind === 'scope') return roleNames.filter((role) => roleScopes[role].includes(access.scope)).join(', ');
  if (access.kind === 'each-command') return 'per command';
  if (access.kind === 'probe') return 'admin, auditor (when not open)';
  return 'everyone';
}

describe('the table of operations', () => {
  it('is printed in docs/api.md, row for row', () => {
    const rows = Object.entries(operations).map(
      ([name, { http, access }]) => `| \`${http}\` | ${name} | ${describeAccess(access)} | ${holders(access)} |`,
    );
    expect(doc).toContain(rows.join('\n'));
    const roles = roleNames.map(
      (role) => `| \`${role}\` | ${roleDescriptions[role]} | ${roleScopes[role].map((s) => `\`${s}\``).join(', ')} |`,
    );
    expect(doc).toContain(roles.join('\n'));
  });

  it('gives admin every scope, the auditor every read and no write', () => {
    expect([...roleScopes.admin].sort()).toEqual([...scopes].sort());
    expect(roleScopes.auditor.every((scope) => scope.endsWith(':read'))).toBe(true);
    expect(roleScopes.auditor).toHaveLength(scopes.filter((scope) => scope.endsWith(':read')).length);
  });

  it('guards every route that changes stock with a write scope', () => {
    for (const { http, access } of Object.values(operations)) {
      if (!http.startsWith('POST')) continue;
      const guarded = access.kind === 'each-command' || (access.kind === 'scope' && access.scope.endsWith(':write'));
      expect(guarded, http).toBe(true);
    }
  });
});
