import { createRoute, z } from '@hono/zod-openapi';
import {
  errorResponses,
  etagHeader,
  headerRef,
  IdempotencyKeyHeader,
  IfMatchHeader,
  IfNoneMatchHeader,
  json,
  jsonBody,
  replayedHeader,
} from '../../lib/openapi.ts';
import { requireAuth, requireVerifiedEmail } from '../../middleware/auth.ts';
import { idempotencyKey, replayIdempotent } from '../../middleware/idempotency.ts';
import { rateLimitByUser } from '../../middleware/rate-limit.ts';
import { limitAndInvalidate } from '../../middleware/user-cache.ts';
import {
  CategoryIdParamSchema,
  CategoryListSchema,
  CategorySchema,
  CreateCategorySchema,
  UpdateCategorySchema,
} from './categories.schemas.ts';

const userRoute = { tags: ['Categories'], middleware: [requireAuth(), rateLimitByUser(), requireVerifiedEmail()] };
// Deleting a category changes the tasks it was on: it retires the user's cached task reads.
const invalidatingRoute = {
  tags: ['Categories'],
  middleware: [requireAuth(), limitAndInvalidate(), requireVerifiedEmail()],
};

export const createCategory = createRoute({
  operationId: 'createCategory',
  tags: ['Categories'],
  middleware: [requireAuth(), idempotencyKey(), rateLimitByUser(), requireVerifiedEmail(), replayIdempotent()],
  method: 'post',
  path: '/api/v1/categories',
  summary: 'Create a category',
  description: 'Names are unique per user, ignoring case (409). Colour defaults to #6B7280.',
  request: { headers: z.object({ 'idempotency-key': IdempotencyKeyHeader }), body: jsonBody(CreateCategorySchema) },
  responses: {
    201: {
      description: 'Created',
      headers: { Location: headerRef('Location'), ...etagHeader, ...replayedHeader },
      content: json(CategorySchema),
    },
    ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429, 500, 503),
  },
});

export const listCategories = createRoute({
  operationId: 'listCategories',
  ...userRoute,
  method: 'get',
  path: '/api/v1/categories',
  summary: 'List your categories',
  responses: {
    200: { description: 'By name', content: json(CategoryListSchema) },
    ...errorResponses(401, 403, 429, 500),
  },
});

export const getCategory = createRoute({
  ...userRoute,
  operationId: 'getCategory',
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
    ...errorResponses(400, 401, 403, 404, 429, 500),
  },
});

export const updateCategory = createRoute({
  tags: ['Categories'],
  // Tasks show their categories' names and colours: a change retires the user's cached task reads.
  middleware: [requireAuth(), idempotencyKey(), limitAndInvalidate(), requireVerifiedEmail(), replayIdempotent()],
  operationId: 'updateCategory',
  method: 'patch',
  path: '/api/v1/categories/{cat_id}',
  summary: 'Rename or recolour a category',
  description:
    'Send the version you read, either as `version` in the body (409 with `current_version` if the category changed since) or as its ETag in If-Match (412 if it changed). Names stay unique per user, ignoring case (409). On success the version increments, and every task the category is on gets a new version too (tasks show its name and colour).',
  request: {
    params: CategoryIdParamSchema,
    headers: z.object({ 'if-match': IfMatchHeader, 'idempotency-key': IdempotencyKeyHeader }),
    body: jsonBody(UpdateCategorySchema),
  },
  responses: {
    200: {
      description: 'The updated category',
      headers: { ...etagHeader, ...replayedHeader },
      content: json(CategorySchema),
    },
    ...errorResponses(400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 500, 503),
  },
});

export const deleteCategory = createRoute({
  operationId: 'deleteCategory',
  ...invalidatingRoute,
  method: 'delete',
  path: '/api/v1/categories/{cat_id}',
  summary: 'Delete a category',
  description: 'Removes it from every task; the tasks stay.',
  request: { params: CategoryIdParamSchema },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404, 409, 429, 500) },
});
