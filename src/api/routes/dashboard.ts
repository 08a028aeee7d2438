import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { domainError } from '../../domain/index.js';
import type { ApiContext } from '../commands.js';
import { sendProblem } from '../problem.js';

// The operations dashboard at /dashboard: the page `npm run build` bundles from web/ into
// dist/web/. The page and its assets are open (they hold no data; the page asks for a key and
// reads the API with it). The page itself is never cached (a new build is seen at once); its
// assets have content-hashed names, so a browser may keep them for good. The policy keeps the
// page to its own origin: it loads and calls nothing anywhere else.

/** dist/web of the project this module belongs to, from the source tree or the compiled one. */
export function dashboardDir(from: string = import.meta.url): string {
  for (let directory = new URL('.', from); ; directory = new URL('..', directory)) {
    if (existsSync(new URL('package.json', directory))) return fileURLToPath(new URL('dist/web/', directory));
    if (directory.pathname === '/') throw new Error(`no package.json above ${from}`);
  }
}

const contentSecurityPolicy =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
  "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function pageHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('cache-control', 'no-cache')
    .header('content-security-policy', contentSecurityPolicy)
    .header('x-content-type-options', 'nosniff');
}

export async function dashboardRoutes(app: FastifyInstance, _context: ApiContext): Promise<void> {
  const root = dashboardDir();
  const built = existsSync(`${root}index.html`);
  await app.register(fastifyStatic, {
    root: `${root}assets`,
    prefix: '/dashboard/assets/',
    // Hashed names: the content of a name never changes.
    immutable: true,
    maxAge: '365d',
    index: false,
    wildcard: false,
    decorateReply: true,
  });
  app.get(
    '/dashboard',
    {
      schema: {
        tags: ['health'],
        summary: 'The operations dashboard (a page for a browser; it asks for an API key)',
        response: { 200: { description: 'The page', content: { 'text/html': { schema: {} } } } },
      },
    },
    async (request, reply) => {
      if (!built) {
        return sendProblem(request, reply, domainError('NOT_FOUND', 'the dashboard is not built: run npm run build'));
      }
      return pageHeaders(reply).sendFile('index.html', root, { maxAge: 0, immutable: false, cacheControl: false });
    },
  );
}
