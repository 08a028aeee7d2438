import type { FastifyInstance, RouteOptions } from 'fastify';
import { problemResponses } from '../schemas.js';

// GET /v1: what a person or a client finds where the server says the API is: its version, where
// its documentation is, and every route with its summary, taken from the routes themselves.

export interface RouteEntry {
  readonly method: string;
  readonly path: string;
  readonly summary: string;
}

export interface ApiIndex {
  readonly title: string;
  readonly version: string;
  /** Filled as routes are added (see catalogEntries); read when the index is asked for. */
  readonly routes: readonly RouteEntry[];
}

/** The entries of a route as it is added: none when it is hidden from the API's documentation. */
export function catalogEntries(route: RouteOptions): RouteEntry[] {
  const schema = route.schema as { hide?: boolean; summary?: string } | undefined;
  if (schema?.hide === true) return [];
  const methods = [route.method].flat().filter((method) => method !== 'HEAD');
  return methods.map((method) => ({ method, path: route.url, summary: schema?.summary ?? '' }));
}

const text = { type: 'string' } as const;

export async function apiIndexRoutes(app: FastifyInstance, index: ApiIndex): Promise<void> {
  app.get(
    '/v1',
    {
      schema: {
        tags: ['index'],
        summary: 'This index: the version, the documentation and every route',
        response: {
          200: {
            type: 'object',
            required: ['title', 'version', 'docs', 'openapi', 'routes'],
            properties: {
              title: text,
              version: text,
              docs: { ...text, description: 'The interactive documentation' },
              openapi: { ...text, description: 'The OpenAPI document' },
              routes: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['method', 'path', 'summary'],
                  properties: { method: text, path: text, summary: text },
                },
              },
            },
          },
          ...problemResponses,
        },
      },
    },
    async () => {
      const { title, version, routes } = index;
      return { title, version, docs: '/docs', openapi: '/docs/json', routes };
    },
  );
}
