import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { Redis } from 'ioredis';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { redisUrl } from '../support/global-setup.js';
import { credentialsOf, leaksIn } from '../support/log-check.js';
import { capturedLogger, captureLogLines, recordCredential } from '../support/run-logs.js';
import { type Api, bearer, expectProblem, keyFor, line, startApi, stockedItem, unique } from './harness.js';

// JWT bearer tokens, rate limits (per process and shared through Redis, and what happens when
// Redis dies), a flood of bad credentials, and the logs of all of it, which must hold no secret.

const issuer = 'https://id.example.test/';
const audience = 'skuld';
const secret = 'a-shared-secret-of-at-least-32-characters!';
const hmac = new TextEncoder().encode(secret);

function token(claims: Record<string, unknown>, options: { iss?: string; aud?: string; expS?: number } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(options.iss ?? issuer)
    .setAudience(options.aud ?? audience)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expS ?? 300))
    .sign(hmac);
}

/** An unsigned token (`alg: none`), as an attacker would send it. */
function unsigned(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ ...claims, iss: issuer, aud: audience, exp: now + 300 })}.`;
}

const ledger: InjectOptions = { method: 'GET', url: '/v1/ledger' };

/** A well-formed key that no store holds. */
function guessedKey(): string {
  return `skuld_${randomUUID().replaceAll('-', '').slice(0, 16)}_${'A'.repeat(43)}`;
}

/** Redis keys of this test alone: a run never meets the buckets of another, or of an earlier run. */
function redisPrefix(): string {
  return `skuld-test:${randomUUID()}:`;
}

/** Every line the app logs, at trace level, kept here and in the run's folder. */
function capture(): { lines: string[]; logger: object } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      captureLogLines(String(chunk));
      done();
    },
  });
  return { lines, logger: { level: 'trace', stream } };
}

describe('JWT bearer tokens', () => {
  let api: Api;
  const logs = capture();
  const secrets: string[] = [];
  /** Keeps what no log line may hold, for this suite's check and the run's. */
  const issued = (...values: string[]) => {
    for (const value of values) recordCredential(value);
    secrets.push(...values);
  };
  beforeAll(async () => {
    const env = { SKULD_AUTH_JWT_SECRET: secret, SKULD_AUTH_JWT_ISSUER: issuer, SKULD_AUTH_JWT_AUDIENCE: audience };
    api = await startApi('sqlite', { ...env, SKULD_AUTH_FAILURES_PER_MINUTE: '1000' }, logs.logger);
    issued(api.adminKey, secret);
  });
  afterAll(async () => api?.close());

  it('accepts a valid token: its sub is the actor, its roles and scope grant', async () => {
    const sku = await stockedItem(api.app, { WH1: 10 });
    const orders = await token({ sub: 'svc-orders', roles: ['orders'] });
    issued(orders);
    const head = await api.runtime.store.headPosition();
    const reserve = { id: unique('res'), lines: [line(sku, 'WH1', 1)] };
    const reserved = await api.app.inject({
      method: 'POST',
      url: '/v1/reservations',
      payload: reserve,
      headers: bearer(orders),
    });
    expect(reserved.statusCode).toBe(201);
    const [event] = await api.runtime.store.readLedger(head, 1);
    expect(event?.actor).toBe('jwt:svc-orders');
    // Receipts are not the orders role's: its roles grant what they grant and no more.
    const receipt = { method: 'POST' as const, url: '/v1/receipts', headers: bearer(orders) };
    const payload = { id: unique('rcv'), sku, location: 'WH1', quantity: 1 };
    expectProblem(await api.app.inject({ ...receipt, payload }), 403, 'FORBIDDEN');
    const auditor = await token({ sub: 'svc-audit', scope: 'ledger:read' });
    issued(auditor);
    expect((await api.app.inject({ ...ledger, headers: bearer(auditor) })).statusCode).toBe(200);
    expectProblem(
      await api.app.inject({ method: 'GET', url: '/v1/items', headers: bearer(auditor) }),
      403,
      'FORBIDDEN',
    );
  });

  it('refuses a wrong issuer, a wrong audience, an expired token, alg none and an unpinned algorithm', async () => {
    const claims = { sub: 'svc-audit', roles: ['auditor'] };
    const hs512 = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS512' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime('5m')
      .sign(hmac);
    const bad = [
      await token(claims, { iss: 'https://evil.example.test/' }),
      await token(claims, { aud: 'another-service' }),
      await token(claims, { expS: -60 }),
      unsigned(claims),
      hs512,
      await token({ roles: ['auditor'] }),
    ];
    issued(...bad);
    for (const value of bad) {
      expectProblem(await api.app.inject({ ...ledger, headers: bearer(value) }), 401, 'UNAUTHENTICATED');
    }
  });

  it('with a public key, refuses an HS256 token signed with that public key (algorithm confusion)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const pem = await exportSPKI(publicKey);
    const file = join(mkdtempSync(join(tmpdir(), 'skuld-jwt-')), 'public.pem');
    writeFileSync(file, pem);
    const env = {
      SKULD_AUTH_JWT_PUBLIC_KEY_FILE: file,
      SKULD_AUTH_JWT_ISSUER: issuer,
      SKULD_AUTH_JWT_AUDIENCE: audience,
    };
    const rsa = await startApi('sqlite', env);
    try {
      const claims = { sub: 'svc-audit', roles: ['auditor'] };
      const signed = new SignJWT(claims).setIssuer(issuer).setAudience(audience).setExpirationTime('5m');
      const good = await signed.setProtectedHeader({ alg: 'RS256' }).sign(privateKey);
      recordCredential(good);
      expect((await rsa.app.inject({ ...ledger, headers: bearer(good) })).statusCode).toBe(200);
      const confused = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(pem));
      expectProblem(await rsa.app.inject({ ...ledger, headers: bearer(confused) }), 401, 'UNAUTHENTICATED');
    } finally {
      await rsa.close();
    }
  });

  it("with a JWKS URL, accepts a token signed by the provider's key and refuses one signed by another", async () => {
    const provider = await generateKeyPair('RS256');
    const impostor = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(provider.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const jwks = createHttpServer((_request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;
    const env = {
      SKULD_AUTH_JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      SKULD_AUTH_JWT_ISSUER: issuer,
      SKULD_AUTH_JWT_AUDIENCE: audience,
    };
    const remote = await startApi('sqlite', env);
    try {
      const signed = (key: typeof provider.privateKey) =>
        new SignJWT({ sub: 'svc-audit', roles: ['auditor'] })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setIssuer(issuer)
          .setAudience(audience)
          .setExpirationTime('5m')
          .sign(key);
      const good = await signed(provider.privateKey);
      const forged = await signed(impostor.privateKey);
      issued(good, forged);
      expect((await remote.app.inject({ ...ledger, headers: bearer(good) })).statusCode).toBe(200);
      expectProblem(await remote.app.inject({ ...ledger, headers: bearer(forged) }), 401, 'UNAUTHENTICATED');
    } finally {
      await remote.close();
      jwks.close();
    }
  });

  it('limits failed authentications per address: 10,000 random keys, none accepted, the server stays up', async () => {
    const flood = await startApi('sqlite', {}, logs.logger);
    try {
      const statuses = new Map<number, number>();
      const startedMs = Date.now();
      for (let i = 0; i < 10_000; i += 1) {
        const response = await flood.anonymous({ ...ledger, headers: bearer(guessedKey()) });
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      }
      const elapsedS = (Date.now() - startedMs) / 1000;
      expect([...statuses.keys()].sort()).toEqual([401, 429]);
      // The default allows 60 a minute, one more each second the flood lasted: the rest were refused.
      expect(statuses.get(401)).toBeLessThanOrEqual(60 + Math.ceil(elapsedS) + 1);
      const guess = { ...ledger, headers: bearer(`skuld_${'0'.repeat(16)}_${'A'.repeat(43)}`) };
      let limited = await flood.anonymous(guess);
      // A token may have come back since the last guess: this guess took it, the next is refused.
      if (limited.statusCode === 401) limited = await flood.anonymous(guess);
      expectProblem(limited, 429, 'RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await flood.anonymous({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      // Another address with a good key is served.
      const other = { ...ledger, remoteAddress: '10.0.0.2', headers: bearer(flood.adminKey) };
      expect((await flood.anonymous(other)).statusCode).toBe(200);
    } finally {
      await flood.close();
    }
  });

  it('logged no key, token or secret in any line of the above (at trace level)', () => {
    expect(logs.lines.length).toBeGreaterThan(100);
    // Nor any key or token whatever its value, nor a key's secret part alone.
    expect(leaksIn(logs.lines.join('\n'), 'the JWT suite', credentialsOf(secrets), false)).toEqual([]);
  });
});

/** Requests until the first refusal: how many a principal got. */
async function served(app: FastifyInstance, key: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i += 1) {
    statuses.push((await app.inject({ method: 'GET', url: '/v1/items', headers: bearer(key) })).statusCode);
  }
  return statuses;
}

const slow = { SKULD_RATE_LIMIT_PER_SECOND: '1', SKULD_RATE_LIMIT_BURST: '3' };
const failuresPerMinute = 6;

/** The statuses of `count` guessed keys from one address, sent to the instances in turn. */
async function guesses(instances: readonly FastifyInstance[], remoteAddress: string, count: number) {
  const statuses: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const instance = instances[i % instances.length] as FastifyInstance;
    const response = await instance.inject({ ...ledger, remoteAddress, headers: bearer(guessedKey()) });
    statuses.push(response.statusCode);
  }
  return statuses;
}

describe('rate limits per principal', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi('sqlite', slow);
  });
  afterAll(async () => api?.close());

  it('answers 429 with Retry-After over the budget, while another principal is unaffected', async () => {
    const first = await keyFor(api, ['auditor']);
    const second = await keyFor(api, ['auditor']);
    expect(await served(api.app, first, 4)).toEqual([200, 200, 200, 429]);
    const refused = await api.app.inject({ method: 'GET', url: '/v1/items', headers: bearer(first) });
    expectProblem(refused, 429, 'RATE_LIMITED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(await served(api.app, second, 1)).toEqual([200]);
  });

  it('charges a batch one token per command', async () => {
    const key = await keyFor(api, ['purchasing']);
    const sku = await stockedItem(api.app, {});
    const commands = [1, 2, 3].map(() => ({
      type: 'ReceiveStock',
      id: unique('rcv'),
      sku,
      location: 'WH1',
      quantity: 1,
    }));
    const batch = await api.app.inject({
      method: 'POST',
      url: '/v1/batch',
      payload: { commands },
      headers: bearer(key),
    });
    expect(batch.statusCode).toBe(200);
    expect(await served(api.app, key, 1)).toEqual([429]);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt += 1) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return { url, child };
    } catch (error) {
      if (attempt > 50) throw new Error(`redis-server did not start on ${url}: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      probe.disconnect();
    }
  }
}

describe('rate limits through Redis', () => {
  beforeAll(async () => {
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0 });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
    } catch (error) {
      throw new Error(`Redis is unreachable at ${redisUrl} (${(error as Error).message}); set SKULD_TEST_REDIS_URL`);
    } finally {
      redis.disconnect();
    }
  });

  it('shares one budget between two instances', async () => {
    const env = { ...slow, SKULD_RATE_LIMIT_REDIS_URL: redisUrl, SKULD_RATE_LIMIT_REDIS_PREFIX: redisPrefix() };
    const api = await startApi('sqlite', env);
    const second = await buildApp({ runtime: api.runtime, logger: capturedLogger() });
    try {
      const key = await keyFor(api, ['auditor'], `shared-${randomUUID().slice(0, 8)}`);
      expect(await served(api.app, key, 2)).toEqual([200, 200]);
      expect(await served(second, key, 2)).toEqual([200, 429]);
    } finally {
      await second.close();
      await api.close();
    }
  });

  it("shares an address's failed authentications between two instances", async () => {
    const env = {
      SKULD_RATE_LIMIT_REDIS_URL: redisUrl,
      SKULD_RATE_LIMIT_REDIS_PREFIX: redisPrefix(),
      SKULD_AUTH_FAILURES_PER_MINUTE: String(failuresPerMinute),
    };
    const api = await startApi('sqlite', env);
    const second = await buildApp({ runtime: api.runtime, logger: capturedLogger() });
    try {
      const instances = [api.app, second];
      const statuses = await guesses(instances, '10.0.1.1', 20);
      // The budget is the address's, not each instance's: the seventh guess is refused wherever it lands.
      expect(statuses).toEqual([...Array(failuresPerMinute).fill(401), ...Array(20 - failuresPerMinute).fill(429)]);
      for (const instance of instances) {
        const good = { ...ledger, headers: bearer(api.adminKey) };
        const refused = await instance.inject({ ...good, remoteAddress: '10.0.1.1' });
        expectProblem(refused, 429, 'RATE_LIMITED');
        expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect((await instance.inject({ ...good, remoteAddress: '10.0.1.2' })).statusCode).toBe(200);
      }
    } finally {
      await second.close();
      await api.close();
    }
  });

  it('falls back to per-process buckets when Redis dies: never unlimited, never refusing everyone', async () => {
    const redis = await startRedis();
    const env = {
      ...slow,
      SKULD_RATE_LIMIT_REDIS_URL: redis.url,
      SKULD_AUTH_FAILURES_PER_MINUTE: String(failuresPerMinute),
    };
    const api = await startApi('sqlite', env);
    try {
      const key = await keyFor(api, ['auditor'], `dying-${randomUUID().slice(0, 8)}`);
      const other = await keyFor(api, ['auditor'], `other-${randomUUID().slice(0, 8)}`);
      expect(await served(api.app, other, 1)).toEqual([200]);
      redis.child.kill('SIGKILL');
      await new Promise((resolve) => redis.child.once('exit', resolve));
      // A key first used once Redis is gone (a slow Redis may have sent `other` to its own bucket already).
      expect(await served(api.app, key, 4)).toEqual([200, 200, 200, 429]);
      expect(await served(api.app, other, 1)).toEqual([200]);
      // Failed authentications too: limited per process, and another address is still served.
      const statuses = await guesses([api.app], '10.0.2.1', 10);
      expect(statuses).toEqual([...Array(failuresPerMinute).fill(401), ...Array(10 - failuresPerMinute).fill(429)]);
      const good = { ...ledger, headers: bearer(api.adminKey), remoteAddress: '10.0.2.2' };
      expect((await api.app.inject(good)).statusCode).toBe(200);
    } finally {
      redis.child.kill('SIGKILL');
      await api.close();
    }
  });
});
