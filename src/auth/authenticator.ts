import type { Log } from '../log.js';
import type { ApiKeyRecord, KeyStore } from '../store/port.js';
import { keyIdOf, keyMatches, keyPrefix, keyRefusal } from './api-keys.js';
import type { JwtVerifier } from './jwt.js';
import { isRole, type Scope, scopesOfRoles } from './scopes.js';

// Who sent a request: a bearer credential (an API key or a JWT) turned into a principal, or the
// reason it is refused. Transport-neutral: the HTTP API calls it with the Authorization header's
// token, an RPC layer with its metadata's.

export interface Principal {
  /** Recorded as the actor of every event the principal causes: `key:<name>` or `jwt:<sub>`. */
  readonly actor: string;
  readonly scopes: ReadonlySet<Scope>;
}

/** A key as read from the store, with its hash decoded once. */
interface KeyEntry {
  readonly record: ApiKeyRecord;
  readonly hash: Buffer;
  readonly principal: Principal;
  untilMs: number;
}

export type Authentication = { ok: true; principal: Principal } | { ok: false; reason: string };

/** A use of a key is recorded at most this often: a write per request would load the store. */
const keyUseRecordIntervalMs = 60_000;

export interface AuthenticatorOptions {
  readonly keys: KeyStore;
  readonly jwt: JwtVerifier | undefined;
  /** How long a key looked up is trusted before it is read again. */
  readonly keyCacheMs: number;
  readonly log: Log;
  readonly now?: () => number;
}

export class Authenticator {
  private readonly options: AuthenticatorOptions;
  private readonly now: () => number;
  private readonly cache = new Map<string, KeyEntry>();
  private readonly usesRecorded = new Map<string, number>();

  constructor(options: AuthenticatorOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /**
   * The token of an `Authorization: Bearer …` header. A key or token seen lately is answered at
   * once, without a promise: that is every request of a busy client, and the HTTP thread's time.
   */
  authenticate(token: string): Authentication | Promise<Authentication> {
    if (token.startsWith(keyPrefix)) return this.byKey(token);
    const jwt = this.options.jwt;
    if (jwt === undefined) return { ok: false, reason: 'not an API key, and no JWT is accepted here' };
    const cached = jwt.cached(token);
    if (cached !== undefined) return { ok: true, principal: cached };
    return jwt.verify(token).then((result) => (result.ok ? { ok: true, principal: result.principal } : result));
  }

  /** Forgets a key at once (this process revoked it); other processes forget it within the cache time. */
  forget(keyId: string): void {
    this.cache.delete(keyId);
  }

  private byKey(key: string): Authentication | Promise<Authentication> {
    const id = keyIdOf(key);
    if (id === undefined) return { ok: false, reason: 'the API key is malformed' };
    const now = this.now();
    const entry = this.cache.get(id);
    if (entry !== undefined && entry.untilMs > now) return this.check(key, entry, now);
    return this.options.keys.getKey(id).then((record) => {
      if (record === undefined) return { ok: false, reason: 'no such API key' };
      const roles = record.roles.filter(isRole);
      const principal = { actor: `key:${record.name}`, scopes: scopesOfRoles(roles) };
      const read: KeyEntry = { record, hash: Buffer.from(record.hash, 'hex'), principal, untilMs: now };
      if (this.options.keyCacheMs > 0) {
        read.untilMs = now + this.options.keyCacheMs;
        this.cache.set(id, read);
      }
      return this.check(key, read, now);
    });
  }

  private check(key: string, entry: KeyEntry, now: number): Authentication {
    // The hash is compared on every request, in constant time, cached or not.
    if (!keyMatches(key, entry.hash)) return { ok: false, reason: 'no such API key' };
    const refusal = keyRefusal(entry.record, now);
    if (refusal !== undefined) return { ok: false, reason: refusal };
    this.recordUse(entry.record.id, now);
    return { ok: true, principal: entry.principal };
  }

  private recordUse(id: string, now: number): void {
    const last = this.usesRecorded.get(id);
    if (last !== undefined && now - last < keyUseRecordIntervalMs) return;
    this.usesRecorded.set(id, now);
    this.options.keys.touchKey(id, now, now - keyUseRecordIntervalMs).catch((error: unknown) => {
      const cause = error instanceof Error ? error.message : String(error);
      this.options.log.warn({ keyId: id, cause }, 'could not record the use of an API key');
    });
  }
}
