import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { createKey } from '../src/auth/key-admin.js';
import { createRuntime } from '../src/compose/runtime.js';
import { loadConfig } from '../src/config.js';
import { verify } from '../src/verify/verify.js';
import { prepareW1 } from './http-bench.js';
import { forkLoadChild, serveLoadChild } from './load-child.js';
import { flagsOf } from './options.js';
import { orderLines, seededRandom, w1 } from './workload.js';

// `npm run bench -- --auth`: reservations/s over HTTP with an API key and with a JWT, beside the
// same route without authentication, in one run on one store. The same app serves the key and
// the JWT; the baseline is a second app on the same runtime built without the guard (an option
// only this bench sets). The load generator is a child process; the variants take turns, each a
// share of its time per round, so that a drifting machine weighs on all three alike.

const issuer = 'https://bench.skuld.invalid/';
const audience = 'skuld-bench';
const secret = 'bench-secret-bench-secret-bench-secret!!';

interface Variant {
  readonly name: 'none' | 'API key' | 'JWT';
  readonly port: number;
  readonly authorization: string | undefined;
}

interface ChildSpec {
  readonly variants: readonly Variant[];
  readonly connections: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
}

export interface AuthVariantResult {
  readonly name: Variant['name'];
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
  readonly non2xx: number;
}

export interface AuthBenchResult {
  readonly connections: number;
  readonly durationMs: number;
  readonly variants: readonly AuthVariantResult[];
  readonly verifyOk: boolean;
}

function fire(variant: Variant, connections: number, durationMs: number, seed: number): Promise<autocannon.Result> {
  const random = seededRandom(seed);
  let sent = 0;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (variant.authorization !== undefined) headers.authorization = variant.authorization;
  const request: autocannon.Request = {
    method: 'POST',
    path: '/v1/reservations',
    headers,
    setupRequest: (base) => {
      sent += 1;
      return { ...base, body: JSON.stringify({ id: `a${seed}-${sent}`, lines: orderLines(w1, random) }) };
    },
  };
  return new Promise((resolve, reject) => {
    autocannon(
      { url: `http://127.0.0.1:${variant.port}`, connections, duration: durationMs / 1000, requests: [request] },
      (error, result) => (error === null ? resolve(result) : reject(error)),
    );
  });
}

/** The child: warm every variant up, then run them in turns; totals per variant. */
async function runChild(spec: ChildSpec): Promise<AuthVariantResult[]> {
  let seed = 1;
  for (const variant of spec.variants) await fire(variant, spec.connections, spec.warmupMs, seed++);
  const runs = new Map<string, autocannon.Result[]>();
  const turnMs = spec.durationMs / spec.rounds;
  for (let round = 0; round < spec.rounds; round += 1) {
    for (const variant of spec.variants) {
      const result = await fire(variant, spec.connections, turnMs, seed++);
      runs.set(variant.name, [...(runs.get(variant.name) ?? []), result]);
    }
  }
  return spec.variants.map((variant) => {
    const results = runs.get(variant.name) ?? [];
    const requests = results.reduce((sum, r) => sum + r.requests.total, 0);
    const seconds = results.reduce((sum, r) => sum + r.duration, 0);
    return {
      name: variant.name,
      requests,
      requestsPerSecond: requests / seconds,
      latencyMsP50: Math.max(...results.map((r) => r.latency.p50)),
      latencyMsP99: Math.max(...results.map((r) => r.latency.p99)),
      non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    };
  });
}

serveLoadChild('--auth-load-child', runChild);

function runLoad(spec: ChildSpec): Promise<AuthVariantResult[]> {
  return forkLoadChild(fileURLToPath(import.meta.url), '--auth-load-child', spec, ['--import', 'tsx']);
}

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

export interface AuthBenchSpec {
  readonly connections: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
}

export async function runAuthBench(spec: AuthBenchSpec): Promise<AuthBenchResult> {
  const { buildApp } = await import('../src/api/app.js');
  const dir = mkdtempSync(join(tmpdir(), 'skuld-auth-bench-'));
  const config = loadConfig({
    ...process.env,
    SKULD_DATABASE_URL: `sqlite:${join(dir, 'skuld.db')}`,
    SKULD_SEED: 'off',
    SKULD_LOG_LEVEL: 'silent',
    // The bench measures what authentication costs, not the limiter refusing the load.
    SKULD_RATE_LIMIT_PER_SECOND: '10000000',
    SKULD_RATE_LIMIT_BURST: '10000000',
    SKULD_AUTH_JWT_SECRET: secret,
    SKULD_AUTH_JWT_ISSUER: issuer,
    SKULD_AUTH_JWT_AUDIENCE: audience,
  });
  try {
    await prepareW1(config);
    const runtime = await createRuntime(config);
    try {
      const guarded = await buildApp({ runtime, logger: false });
      const open = await buildApp({ runtime, logger: false, withoutAuthenticationForBenchmark: true });
      try {
        const { key } = await createKey(runtime.store.keys, {
          name: 'bench',
          roles: ['orders'],
          createdBy: 'bench',
          now: Date.now(),
          expiresAt: null,
        });
        const jwt = await new SignJWT({ roles: ['orders'] })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('bench')
          .setIssuer(issuer)
          .setAudience(audience)
          .setExpirationTime('2h')
          .sign(new TextEncoder().encode(secret));
        const guardedPort = await listen(guarded);
        const variants: Variant[] = [
          { name: 'none', port: await listen(open), authorization: undefined },
          { name: 'API key', port: guardedPort, authorization: `Bearer ${key}` },
          { name: 'JWT', port: guardedPort, authorization: `Bearer ${jwt}` },
        ];
        const results = await runLoad({ variants, ...spec });
        await runtime.engine.drain();
        const report = await verify(runtime.store);
        return { connections: spec.connections, durationMs: spec.durationMs, variants: results, verifyOk: report.ok };
      } finally {
        await open.close();
        await guarded.close();
      }
    } finally {
      await runtime.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function authReport(result: AuthBenchResult): string {
  const none = result.variants.find((variant) => variant.name === 'none');
  const base = none?.requestsPerSecond ?? 0;
  const rows = result.variants.map((variant) => {
    const share = base === 0 ? '-' : `${((variant.requestsPerSecond / base) * 100).toFixed(1)}%`;
    return `| ${variant.name} | ${Math.round(variant.requestsPerSecond).toLocaleString('en-US')} | ${share} | ${variant.latencyMsP50} | ${variant.latencyMsP99} | ${variant.non2xx} |`;
  });
  return [
    `POST /v1/reservations (W1 orders, SQLite), ${result.connections} connections, ${result.durationMs} ms per variant in turns`,
    '',
    '| authentication | reservations/s | of none | p50 ms | p99 ms | non-2xx |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `verify: ${result.verifyOk ? 'OK' : 'MISMATCH'}`,
  ].join('\n');
}

/** `npm run bench -- --auth [--connections N] [--duration-ms N] [--warmup-ms N] [--quick]`. */
export async function authBenchCli(argv: readonly string[]): Promise<number> {
  const { number } = flagsOf(argv);
  const quick = argv.includes('--quick');
  const spec = {
    connections: number('--connections', 256),
    durationMs: number('--duration-ms', quick ? 3000 : 12_000),
    warmupMs: number('--warmup-ms', quick ? 500 : 2000),
    rounds: 4,
  };
  const result = await runAuthBench(spec);
  console.log(authReport(result));
  const problems = result.variants.filter((variant) => variant.non2xx > 0).map((v) => `${v.name}: non-2xx answers`);
  if (!result.verifyOk) problems.push('verify found mismatches');
  for (const problem of problems) console.error(`problem: ${problem}`);
  return problems.length === 0 ? 0 : 1;
}
