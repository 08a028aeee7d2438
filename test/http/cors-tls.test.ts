import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/dialects.js';
import { startServer } from '../support/server-process.js';
import { startApi } from './harness.js';

// CORS (off unless origins are listed) and HTTPS (with a certificate and key).

const origin = 'https://ops.example.test';
const preflight = {
  method: 'OPTIONS' as const,
  url: '/v1/items',
  headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
};

describe('CORS', () => {
  it('is off by default: a preflight is refused and no answer carries CORS headers', async () => {
    const api = await startApi('sqlite');
    try {
      const answer = await api.anonymous(preflight);
      expect(answer.statusCode).toBe(405);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      const read = await api.app.inject({ method: 'GET', url: '/v1/items', headers: { origin } });
      expect(read.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await api.close();
    }
  });

  it('answers a listed origin: preflight, answers and refusals; never another origin', async () => {
    const api = await startApi('sqlite', { SKULD_CORS_ORIGINS: `${origin}, http://localhost:5173` });
    try {
      const answer = await api.anonymous(preflight);
      expect(answer.statusCode).toBe(204);
      expect(answer.headers['access-control-allow-origin']).toBe(origin);
      expect(answer.headers['access-control-allow-headers']).toContain('authorization');
      expect(answer.headers['access-control-allow-methods']).toContain('POST');
      const read = await api.app.inject({ method: 'GET', url: '/v1/items', headers: { origin } });
      expect([read.statusCode, read.headers['access-control-allow-origin']]).toEqual([200, origin]);
      const refused = await api.anonymous({ method: 'GET', url: '/v1/items', headers: { origin } });
      expect([refused.statusCode, refused.headers['access-control-allow-origin']]).toEqual([401, origin]);
      expect(refused.headers['access-control-expose-headers']).toContain('x-request-id');
      const stranger = { ...preflight, headers: { ...preflight.headers, origin: 'https://evil.example.test' } };
      expect((await api.anonymous(stranger)).headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await api.close();
    }
  });
});

function get(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

describe('TLS', () => {
  it('serves HTTPS with the configured certificate and key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'skuld-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const db = await createTestDatabase('sqlite');
    const server = await startServer(db, { SKULD_TLS_CERT_FILE: cert, SKULD_TLS_KEY_FILE: key });
    try {
      expect(server.base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(await get(`${server.base}/healthz`, readFileSync(cert))).toBe(200);
      expect(await get(`${server.base}/v1/items`, readFileSync(cert))).toBe(401);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      await db.drop();
    }
  });
});
