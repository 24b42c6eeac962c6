import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, IdempotencyKeyHeader, json, jsonBody, replayedHeader } from '../../lib/openapi.ts';
import { requireAuth, requireVerifiedEmail } from '../../middleware/auth.ts';
import { idempotencyKey, replayIdempotent } from '../../middleware/idempotency.ts';
import { rateLimitByUser } from '../../middleware/rate-limit.ts';
import { limitAndInvalidate } from '../../middleware/user-cache.ts';
import {
  CategoryIdParamSchema,
  CategoryListSchema,
  CategorySchema,
  CreateCategorySchema,
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
    201: { description: 'Created', headers: replayedHeader, content: json(CategorySchema) },
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

export const deleteCategory = createRoute({
  operationId: 'deleteCategory',
  ...invalidatingRoute,
  method: 'delete',
  path: '/api/v1/categories/{cat_id}',
  summary: 'Delete a category',
  description: 'Removes it from every task; the tasks stay.',
  request: { params: CategoryIdParamSchema },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404, 429, 500) },
});
