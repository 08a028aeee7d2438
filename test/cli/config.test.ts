import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig, resolveConfig, settings } from '../../src/config.js';
import { runSkuld } from '../support/server-process.js';

// The settings table in src/config.ts is the one list of settings: the README documents the same
// rows, and `skuld config` prints the values in force, wherever they came from.

/** The README's configuration table, one row of cells each. */
function readmeRows(): string[][] {
  const lines = readFileSync('README.md', 'utf8').split('\n');
  const header = lines.indexOf('| Variable | Flag | Default | Meaning |');
  expect(header, 'the README has a configuration table').toBeGreaterThan(0);
  const rows: string[][] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split(' | ').map((cell) => cell.replace(/^\| /, '').replace(/ \|$/, '')));
  }
  return rows;
}

/** A setting's README row, as it must read. */
function expectedRow(setting: (typeof settings)[keyof typeof settings]): string[] {
  const value = String(setting.default);
  return [`\`${setting.env}\``, `\`${setting.flag}\``, `\`${value === '' ? '(empty)' : value}\``, setting.description];
}

describe('configuration', () => {
  it('is documented in the README exactly as the settings table has it: names, flags, defaults, meanings', () => {
    const expected = Object.values(settings).map(expectedRow);
    const rows = readmeRows();
    expect(rows.map((row) => row[0])).toEqual(expected.map((row) => row[0]));
    expected.forEach((row, index) => {
      expect(rows[index], `README row ${row[0]} should read:\n| ${row.join(' | ')} |`).toEqual(row);
    });
  });

  it('takes a flag over an environment variable over the default, and says which it took', () => {
    const { config, sources } = resolveConfig({ SKULD_PORT: '3001', SKULD_LOG_LEVEL: 'warn' }, ['--log-level=debug']);
    expect(config.port).toBe(3001);
    expect(sources.port).toBe('env');
    expect(config.logLevel).toBe('debug');
    expect(sources.logLevel).toBe('flag');
    expect(config.host).toBe(settings.host.default);
    expect(sources.host).toBe('default');
  });

  it('reads through Redis when a Redis is given, through L1 alone when not, unless SKULD_CACHE says', () => {
    expect(loadConfig({}).cache).toBe('local');
    expect(loadConfig({ SKULD_REDIS_URL: 'redis://10.0.0.5:6379' }).cache).toBe('redis');
    expect(loadConfig({}, ['--redis-url=redis://10.0.0.5:6379']).cache).toBe('redis');
    expect(loadConfig({ SKULD_REDIS_URL: 'redis://10.0.0.5:6379', SKULD_CACHE: 'local' }).cache).toBe('local');
    expect(loadConfig({ SKULD_REDIS_URL: 'redis://10.0.0.5:6379', SKULD_CACHE: 'off' }).cache).toBe('off');
  });

  it('refuses a bad value, an unknown option and an unusable store with CONFIG_INVALID', () => {
    for (const [env, argv] of [
      [{ SKULD_PORT: '70000' }, []],
      [{}, ['--no-such-option', '1']],
      [{}, ['--port']],
      [{ SKULD_DATABASE_URL: 'oracle://x' }, []],
      [{ SKULD_RESERVATION_TTL_MS: '10', SKULD_RESERVATION_TTL_MS_MAX: '5' }, []],
    ] as const) {
      expect(() => loadConfig(env, argv)).toThrowError(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });

  it('prints every setting in force, a password in a URL masked', () => {
    const text = describeConfig(resolveConfig({}, ['--database-url', 'postgres://skuld:s3cret@db:5432/skuld']));
    expect(text.split('\n')).toHaveLength(Object.keys(settings).length + 1);
    expect(text).toMatch(/^SKULD_DATABASE_URL +--database-url +postgres:\/\/skuld:\*\*\*@db:5432\/skuld +flag$/m);
    expect(text).not.toContain('s3cret');
  });

  it('prints whether a credential is set, never its value', () => {
    const secret = 'a-shared-secret-of-at-least-32-characters';
    const text = describeConfig(
      resolveConfig({
        SKULD_AUTH_JWT_SECRET: secret,
        SKULD_AUTH_JWT_ISSUER: 'https://id.example',
        SKULD_AUTH_JWT_AUDIENCE: 'skuld',
        SKULD_INVENTORY_KEY: 'skuld_inventory_key_value',
      }),
    );
    expect(text).toMatch(/^SKULD_AUTH_JWT_SECRET +--auth-jwt-secret +\*\*\* +env$/m);
    expect(text).toMatch(/^SKULD_INVENTORY_KEY +--inventory-key +\*\*\* +env$/m);
    expect(text).not.toContain(secret);
    expect(text).not.toContain('skuld_inventory_key_value');
  });

  it('`skuld config` shows an environment override and a flag as the values in force', async () => {
    const { code, stdout } = await runSkuld(['config', '--batch-size-max', '64'], { SKULD_PORT: '3001' });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^SKULD_PORT +--port +3001 +env$/m);
    expect(stdout).toMatch(/^SKULD_BATCH_SIZE_MAX +--batch-size-max +64 +flag$/m);
    expect(stdout).toMatch(/^SKULD_HOST +--host +127\.0\.0\.1 +default$/m);
  });
});
