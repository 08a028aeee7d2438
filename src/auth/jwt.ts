import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { isRole, isScope, type Scope, scopesOfRoles } from './scopes.js';

// JWT bearer tokens from an identity provider, for services. The algorithms are pinned (a secret
// verifies only HS*, a public key or JWKS only asymmetric ones: no `none`, no HS/RS confusion);
// issuer and audience are required; `exp` is checked. A verified token is cached until it expires
// (bounded), so a client that sends the same token on every request pays for one signature check.

export interface JwtSettings {
  readonly secret: string;
  readonly publicKeyFile: string;
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
  /** Comma-separated; empty: the defaults for the kind of key. */
  readonly algorithms: string;
}

export interface TokenPrincipal {
  /** `jwt:<sub>`. */
  readonly actor: string;
  readonly scopes: ReadonlySet<Scope>;
}

export type TokenResult = { ok: true; principal: TokenPrincipal } | { ok: false; reason: string };

const symmetric = ['HS256', 'HS384', 'HS512'];
const asymmetricDefault = ['RS256', 'ES256', 'EdDSA'];
/** Verified tokens kept; beyond, the oldest is forgotten. */
const cacheEntriesMax = 10_000;
/** Clock skew tolerated on `exp` and `nbf`. */
const clockToleranceS = 5;
/** A subject becomes the actor `jwt:<sub>`, which must be a valid id. */
const subjectPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,59}$/;

export class JwtVerifier {
  private readonly key: Uint8Array | KeyObject | JWTVerifyGetKey;
  private readonly options: { issuer: string; audience: string; algorithms: string[]; clockTolerance: number };
  private readonly cache = new Map<string, { principal: TokenPrincipal; expiresAtMs: number }>();
  private readonly now: () => number;

  /** undefined when no JWT key is configured: bearer tokens that are not API keys are then refused. */
  static create(settings: JwtSettings, now: () => number = Date.now): JwtVerifier | undefined {
    const { secret, publicKeyFile, jwksUrl } = settings;
    if (secret === '' && publicKeyFile === '' && jwksUrl === '') return undefined;
    const pinned = settings.algorithms === '' ? [] : settings.algorithms.split(',').map((a) => a.trim());
    let key: Uint8Array | KeyObject | JWTVerifyGetKey;
    let algorithms: string[];
    if (secret !== '') {
      key = new TextEncoder().encode(secret);
      algorithms = pinned.length === 0 ? ['HS256'] : pinned;
      if (algorithms.some((a) => !symmetric.includes(a))) throw new Error('a JWT secret verifies only HS256/384/512');
    } else {
      key = jwksUrl !== '' ? createRemoteJWKSet(new URL(jwksUrl)) : readPublicKey(publicKeyFile);
      algorithms = pinned.length === 0 ? asymmetricDefault : pinned;
      if (algorithms.some((a) => symmetric.includes(a) || a === 'none')) {
        throw new Error('a public key or JWKS verifies only asymmetric algorithms');
      }
    }
    return new JwtVerifier(key, { issuer: settings.issuer, audience: settings.audience, algorithms }, now);
  }

  private constructor(
    key: Uint8Array | KeyObject | JWTVerifyGetKey,
    options: { issuer: string; audience: string; algorithms: string[] },
    now: () => number,
  ) {
    this.key = key;
    this.options = { ...options, clockTolerance: clockToleranceS };
    this.now = now;
  }

  /** The principal of a token verified before and not expired since, or undefined. */
  cached(token: string): TokenPrincipal | undefined {
    const cached = this.cache.get(token);
    if (cached === undefined) return undefined;
    if (cached.expiresAtMs > this.now()) return cached.principal;
    this.cache.delete(token);
    return undefined;
  }

  async verify(token: string): Promise<TokenResult> {
    const now = this.now();
    const cached = this.cached(token);
    if (cached !== undefined) return { ok: true, principal: cached };
    let payload: JWTPayload;
    try {
      const options = { ...this.options, currentDate: new Date(now) };
      // jose's overloads split a key function from a key; both are verified alike.
      payload = (await jwtVerify(token, this.key as Uint8Array, options)).payload;
    } catch (error) {
      // jose's messages name the claim or algorithm that failed, never the token.
      return { ok: false, reason: `the token is not valid: ${(error as { code?: string }).code ?? 'ERR_JWT_INVALID'}` };
    }
    const principal = principalOf(payload);
    if (typeof principal === 'string') return { ok: false, reason: principal };
    if (payload.exp === undefined) return { ok: false, reason: 'the token has no exp' };
    if (this.cache.size >= cacheEntriesMax) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(token, { principal, expiresAtMs: payload.exp * 1000 });
    return { ok: true, principal };
  }
}

function readPublicKey(file: string): KeyObject {
  try {
    return createPublicKey(readFileSync(file));
  } catch (error) {
    throw new Error(
      `SKULD_AUTH_JWT_PUBLIC_KEY_FILE: not a readable PEM public key: ${file}: ${(error as Error).message}`,
    );
  }
}

/** The principal a token names, or why it names none. */
function principalOf(payload: JWTPayload): TokenPrincipal | string {
  const subject = payload.sub;
  if (subject === undefined || !subjectPattern.test(subject)) {
    return 'the token has no sub of 1-60 letters, digits and ._:-';
  }
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
  const named = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  const scopes = new Set<Scope>([...scopesOfRoles(roles.filter(isRole)), ...named.filter(isScope)]);
  return { actor: `jwt:${subject}`, scopes };
}
