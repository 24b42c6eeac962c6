import { createRoute } from '@hono/zod-openapi';
import { errorResponses, headerRef, json, jsonBody } from '../../lib/openapi.ts';
import { requireAuth, requireVerifiedEmail } from '../../middleware/auth.ts';
import { limitAndInvalidate, limitAndReadCache, listCacheKey, taskCacheKey } from '../../middleware/user-cache.ts';
import {
  CreateTaskSchema,
  ListTasksQuerySchema,
  TaskCategoryParamSchema,
  TaskIdParamSchema,
  TaskPageSchema,
  TaskSchema,
  UpdateTaskSchema,
} from './tasks.schemas.ts';

// Reads check the cache in the same Upstash request as the rate limit; writes retire the user's
// cached reads in that request too (src/middleware/user-cache.ts).
const readRoute = (key: Parameters<typeof limitAndReadCache>[0]) => ({
  tags: ['Tasks'],
  middleware: [requireAuth(), limitAndReadCache(key), requireVerifiedEmail()],
});
const cacheHeader = { 'X-Cache': headerRef('X-Cache') };
const writeRoute = { tags: ['Tasks'], middleware: [requireAuth(), limitAndInvalidate(), requireVerifiedEmail()] };

export const createTask = createRoute({
  ...writeRoute,
  method: 'post',
  path: '/api/v1/tasks',
  summary: 'Create a task',
  description: 'Priority defaults to medium and status to todo; due_date, when given, must be in the future.',
  request: { body: jsonBody(CreateTaskSchema) },
  responses: {
    201: { description: 'Created', headers: { Location: headerRef('Location') }, content: json(TaskSchema) },
    ...errorResponses(400, 401, 403, 409, 413, 415, 429, 500),
  },
});

export const listTasks = createRoute({
  ...readRoute(listCacheKey),
  method: 'get',
  path: '/api/v1/tasks',
  summary: 'List tasks',
  description:
    'Filters combine with AND. Soft-deleted tasks never appear. `total` counts every match, not just the page.',
  request: { query: ListTasksQuerySchema },
  responses: {
    200: { description: 'A page of tasks', headers: cacheHeader, content: json(TaskPageSchema) },
    ...errorResponses(400, 401, 403, 429, 500),
  },
});

export const getTask = createRoute({
  ...readRoute(taskCacheKey),
  method: 'get',
  path: '/api/v1/tasks/{task_id}',
  summary: 'Get a task with its categories',
  request: { params: TaskIdParamSchema },
  responses: {
    200: { description: 'The task', headers: cacheHeader, content: json(TaskSchema) },
    ...errorResponses(400, 401, 403, 404, 429, 500),
  },
});

export const updateTask = createRoute({
  ...writeRoute,
  method: 'patch',
  path: '/api/v1/tasks/{task_id}',
  summary: 'Update a task',
  description:
    'Partial update. `version` must be the version you read: on success it increments; if the task changed since, 409 with `current_version`.',
  request: { params: TaskIdParamSchema, body: jsonBody(UpdateTaskSchema) },
  responses: {
    200: { description: 'The updated task', content: json(TaskSchema) },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429, 500),
  },
});

export const deleteTask = createRoute({
  ...writeRoute,
  method: 'delete',
  path: '/api/v1/tasks/{task_id}',
  summary: 'Delete a task (soft)',
  request: { params: TaskIdParamSchema },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 401, 403, 404, 429, 500) },
});

export const assignCategory = createRoute({
  ...writeRoute,
  tags: ['Tasks', 'Categories'],
  method: 'post',
  path: '/api/v1/tasks/{task_id}/categories/{cat_id}',
  summary: 'Assign a category to a task',
  description: 'Both must be yours (403 otherwise) and exist (404); assigning twice is 409.',
  request: { params: TaskCategoryParamSchema },
  responses: {
    200: { description: 'The task with its categories', content: json(TaskSchema) },
    ...errorResponses(400, 401, 403, 404, 409, 429, 500),
  },
});

export const removeCategory = createRoute({
  ...writeRoute,
  tags: ['Tasks', 'Categories'],
  method: 'delete',
  path: '/api/v1/tasks/{task_id}/categories/{cat_id}',
  summary: 'Remove a category from a task',
  request: { params: TaskCategoryParamSchema },
  responses: { 204: { description: 'Removed' }, ...errorResponses(400, 401, 403, 404, 429, 500) },
});
