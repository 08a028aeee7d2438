import type { FastifyInstance } from 'fastify';
import { domainError } from '../../domain/index.js';
import { type ApiContext, commandRoute } from '../commands.js';
import { sendProblem } from '../problem.js';
import {
  type CodePage,
  codeAfterQuery,
  codeSchema,
  nextKey,
  nextKeySchema,
  objectSchema,
  pageSchema,
  problemResponses,
} from '../schemas.js';

export const skuParams = objectSchema({ sku: codeSchema }, ['sku']);

export function unknownItem(sku: string) {
  return domainError('UNKNOWN_ITEM', `item ${sku} is not registered`, { sku });
}

export async function itemRoutes(app: FastifyInstance, context: ApiContext): Promise<void> {
  const { store } = context.runtime;
  const tags = ['items'];
  commandRoute(app, context, {
    url: '/v1/items',
    type: 'RegisterItem',
    tag: 'items',
    summary: 'Register an item (RegisterItem)',
    description: 'Stock can exist only for a registered item. `allowBackorder` lets its levels reserve beyond on hand.',
  });

  app.get(
    '/v1/items/:sku',
    {
      schema: {
        tags,
        summary: 'Read an item',
        params: skuParams,
        response: { 200: { $ref: 'Item#' }, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { sku } = request.params as { sku: string };
      return (await store.getItem(sku)) ?? sendProblem(request, reply, unknownItem(sku));
    },
  );

  app.get(
    '/v1/items',
    {
      schema: {
        tags,
        summary: 'List items by SKU',
        querystring: codeAfterQuery,
        response: { 200: pageSchema('items', 'Item', nextKeySchema), ...problemResponses },
      },
    },
    async (request) => {
      const { after, limit } = request.query as CodePage;
      const items = await store.listItems(after, limit);
      return { items, next: nextKey(items, limit, (item) => item.sku) };
    },
  );
}
