import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, startApi } from '../http/harness.js';

// How /dashboard is served (npm run build has bundled it): open, the page never cached, its
// content-hashed assets kept for good, and a content security policy that keeps it to its origin.

let api: Api;
beforeAll(async () => {
  api = await startApi('sqlite');
});
afterAll(async () => api?.close());

describe('GET /dashboard', () => {
  it('serves the page without a credential, never cached, under a same-origin policy', async () => {
    const page = await api.anonymous({ url: '/dashboard' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.body).toContain('<div id="app"></div>');
  });

  it('serves its hashed assets for a year, and nothing beside them', async () => {
    const page = await api.anonymous({ url: '/dashboard' });
    const assets = [...page.body.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)].map((match) => match[1]);
    expect(assets.length).toBe(2);
    for (const url of assets) {
      const asset = await api.anonymous({ url: url as string });
      expect(asset.statusCode, url).toBe(200);
      expect(asset.headers['cache-control'], url).toBe('public, max-age=31536000, immutable');
    }
    expect((await api.anonymous({ url: '/dashboard/assets/nothing.js' })).statusCode).toBe(404);
    expect((await api.anonymous({ url: '/dashboard/assets/../index.html' })).statusCode).toBe(404);
    expect((await api.anonymous({ url: '/dashboard/nothing' })).statusCode).toBe(404);
  });
});
