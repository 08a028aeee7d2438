import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';

// Security settings that only make sense together are refused at start, with CONFIG_INVALID.

const secret = 'x'.repeat(32);
const jwt = { SKULD_AUTH_JWT_ISSUER: 'https://id.example.test/', SKULD_AUTH_JWT_AUDIENCE: 'skuld' };

describe('security settings', () => {
  it.each([
    ['a short JWT secret', { SKULD_AUTH_JWT_SECRET: 'short', ...jwt }, /at least 32/],
    [
      'two sources of JWT keys',
      { SKULD_AUTH_JWT_SECRET: secret, SKULD_AUTH_JWT_JWKS_URL: 'https://id/', ...jwt },
      /at most one/,
    ],
    ['JWTs without an issuer and audience', { SKULD_AUTH_JWT_SECRET: secret }, /ISSUER and SKULD_AUTH_JWT_AUDIENCE/],
    [
      'HS256 with a public key',
      { SKULD_AUTH_JWT_PUBLIC_KEY_FILE: '/k.pem', SKULD_AUTH_JWT_ALGORITHMS: 'RS256,HS256', ...jwt },
      /asymmetric/,
    ],
    [
      'RS256 with a secret',
      { SKULD_AUTH_JWT_SECRET: secret, SKULD_AUTH_JWT_ALGORITHMS: 'RS256', ...jwt },
      /only HS256/,
    ],
    ['alg none', { SKULD_AUTH_JWT_SECRET: secret, SKULD_AUTH_JWT_ALGORITHMS: 'none', ...jwt }, /never/],
    ['a certificate without its key', { SKULD_TLS_CERT_FILE: '/c.pem' }, /set both/],
    ['an origin that is not one', { SKULD_CORS_ORIGINS: 'ops.example.com' }, /not an origin/],
  ])('refuses %s', (_name, env, message) => {
    expect(() => resolveConfig(env)).toThrow(message);
    expect(() => resolveConfig(env)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('has no setting that turns authentication off', () => {
    const { config } = resolveConfig({});
    expect(Object.keys(config).filter((key) => /^auth(Enabled|Off|Disabled)?$/i.test(key))).toEqual([]);
    expect(config.devOpenReads).toBe('off');
    expect(config.corsOrigins).toBe('');
  });
});
