import { z } from '@hono/zod-openapi';
import { DEFAULT_CATEGORY_COLOR } from '../../db/schema.ts';
import { gatedRoute } from '../../gate/route.ts';
import {
  errorResponses,
  etagHeader,
  headerRef,
  IfMatchHeader,
  IfNoneMatchHeader,
  json,
  jsonBody,
  replayedHeader,
} from '../../lib/openapi.ts';
import {
  CategoryIdParamSchema,
  CategoryListSchema,
  CategorySchema,
  CreateCategorySchema,
  UpdateCategorySchema,
} from './categories.schemas.ts';

const read = { auth: 'user', verified: true } as const;
// Deleting a category changes the tasks it was on: it retires the user's cached task reads.
const write = { ...read, cache: 'invalidate' } as const;

export const createCategory = gatedRoute(
  { ...read, idempotent: true },
  {
    operationId: 'createCategory',
    tags: ['Categories'],
    method: 'post',
    path: '/api/v1/categories',
    summary: 'Create a category',
    description: `Names are unique per user, ignoring case (409). Colour defaults to ${DEFAULT_CATEGORY_COLOR}.`,
    request: { body: jsonBody(CreateCategorySchema) },
    responses: {
      201: {
        description: 'Created',
        headers: { Location: headerRef('Location'), ...etagHeader, ...replayedHeader },
        content: json(CategorySchema),
      },
      ...errorResponses(400, 403, 409),
    },
  },
);

export const listCategories = gatedRoute(read, {
  operationId: 'listCategories',
  tags: ['Categories'],
  method: 'get',
  path: '/api/v1/categories',
  summary: 'List your categories',
  responses: {
    200: { description: 'By name', content: json(CategoryListSchema) },
    ...errorResponses(403),
  },
});

export const getCategory = gatedRoute(read, {
  operationId: 'getCategory',
  tags: ['Categories'],
  method: 'get',
  path: '/api/v1/categories/{cat_id}',
  summary: 'Get a category',
  description: '403 for another user\'s category, 404 for a missing one. The ETag is `"<id>.<version>"`.',
  request: {
    params: CategoryIdParamSchema,
    headers: z.object({ 'if-none-match': IfNoneMatchHeader }),
  },
  responses: {
    200: { description: 'The category', headers: etagHeader, content: json(CategorySchema) },
    304: { description: 'Not modified: your copy (If-None-Match) is current', headers: etagHeader },
    ...errorResponses(400, 403, 404),
  },
});

// Tasks show their categories' names and colours: a change retires the user's cached task reads.
export const updateCategory = gatedRoute(
  { ...write, idempotent: true },
  {
    operationId: 'updateCategory',
    tags: ['Categories'],
    method: 'patch',
    path: '/api/v1/categories/{cat_id}',
    summary: 'Rename or recolour a category',
    description:
      'Send the version you read, either as `version` in the body (409 with `current_version` if the category changed since) or as its ETag in If-Match (412 if it changed). Names stay unique per user, ignoring case (409). On success the version increments, and every task the category is on gets a new version too (tasks show its name and colour).',
    request: {
      params: CategoryIdParamSchema,
      headers: z.object({ 'if-match': IfMatchHeader }),
      body: jsonBody(UpdateCategorySchema),
    },
    responses: {
      200: {
        description: 'The updated category',
        headers: { ...etagHeader, ...replayedHeader },
        content: json(CategorySchema),
      },
      ...errorResponses(400, 403, 404, 409, 412),
    },
  },
);

export const deleteCategory = gatedRoute(write, {
  operationId: 'deleteCategory',
  tags: ['Categories'],
  method: 'delete',
  path: '/api/v1/categories/{cat_id}',
  summary: 'Delete a category',
  description: 'Removes it from every task; the tasks stay.',
  request: { params: CategoryIdParamSchema },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 403, 404, 409) },
});
