import { z } from '@hono/zod-openapi';
import { gatedRoute } from '../../gate/route.ts';
import { listCacheKey, taskCacheKey } from '../../http/cached-json.ts';
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
  ChangesPageSchema,
  ChangesQuerySchema,
  CompletionPageSchema,
  CreateTaskSchema,
  ListTasksQuerySchema,
  MoveTaskSchema,
  RestoreTaskSchema,
  TaskCategoryParamSchema,
  TaskIdParamSchema,
  TaskPageSchema,
  TaskSchema,
  TrashPageSchema,
  TrashQuerySchema,
  UpdateTaskSchema,
} from './tasks.schemas.ts';

// Reads check the cache in the same Upstash request as the rate limit; writes retire the user's
// cached reads in that request too, and claim an Idempotency-Key there when one is sent
// (src/gate/gate.ts).
const read = { auth: 'user', verified: true } as const;
const cachedRead = (cache: typeof listCacheKey) => ({ ...read, cache });
const write = { auth: 'user', verified: true, cache: 'invalidate' } as const;
const retryableWrite = { ...write, idempotent: true } as const;

const cacheHeader = { 'X-Cache': headerRef('X-Cache') };
const conditionalRead = z.object({ 'if-none-match': IfNoneMatchHeader });
const conditionalWrite = z.object({ 'if-match': IfMatchHeader });

const notModified = { 304: { description: 'Not modified: your copy (If-None-Match) is current', headers: etagHeader } };

export const createTask = gatedRoute(retryableWrite, {
  operationId: 'createTask',
  tags: ['Tasks'],
  method: 'post',
  path: '/api/v1/tasks',
  summary: 'Create a task',
  description:
    'Priority defaults to medium and status to todo; due_date, when given, must be in the future. With `parent_id` ' +
    'it is a subtask of that task: the parent must be yours (403) and not deleted (404), and at most at level 3 ' +
    '(409: subtasks nest 4 levels deep); the parent gets a new version, since its `subtask_count` changes.',
  request: { body: jsonBody(CreateTaskSchema) },
  responses: {
    201: {
      description: 'Created',
      headers: { Location: headerRef('Location'), ...etagHeader, ...replayedHeader },
      content: json(TaskSchema),
    },
    ...errorResponses(400, 403, 404, 409),
  },
});

export const listTasks = gatedRoute(cachedRead(listCacheKey), {
  operationId: 'listTasks',
  tags: ['Tasks'],
  method: 'get',
  path: '/api/v1/tasks',
  summary: 'List tasks',
  description:
    'Filters combine with AND. Soft-deleted tasks never appear. `total` counts every match, not just the page. ' +
    'Page by `page` (an offset) or by `cursor` (keyset: pass the previous `next_cursor`; stable while tasks are ' +
    'added or deleted, and as fast deep in the list as at its start). `q` searches title and description. ' +
    '`parent_id` lists the subtasks of a task, `top_level=true` the tasks that are no subtask.',
  request: { query: ListTasksQuerySchema, headers: conditionalRead },
  responses: {
    200: { description: 'A page of tasks', headers: { ...cacheHeader, ...etagHeader }, content: json(TaskPageSchema) },
    ...notModified,
    ...errorResponses(400, 403),
  },
});

export const listTrash = gatedRoute(read, {
  operationId: 'listTrash',
  tags: ['Tasks'],
  method: 'get',
  path: '/api/v1/tasks/trash',
  summary: 'List deleted tasks (the trash)',
  description:
    'Most recently deleted first. Tasks stay here for `retention_days` after deletion, then are purged for good; restore one with POST /api/v1/tasks/{task_id}/restore.',
  request: { query: TrashQuerySchema },
  responses: {
    200: { description: 'A page of deleted tasks', content: json(TrashPageSchema) },
    ...errorResponses(400, 403),
  },
});

export const taskChanges = gatedRoute(read, {
  operationId: 'taskChanges',
  tags: ['Tasks'],
  method: 'get',
  path: '/api/v1/tasks/changes',
  summary: 'Delta sync: what changed since your last sync',
  description:
    'Without a cursor: every task (and tombstones of those in the trash). With the `next_cursor` of the last call: only what changed since, in the order it happened: `task` (upsert your copy), `task_deleted` (drop it), `category_unlinked`. Apply the changes in order, keep `next_cursor`, and call again at once while `has_more` is true. Never skips a change, even under concurrent writes. 410 when the cursor is older than changes purged from the trash: sync again without a cursor.',
  request: { query: ChangesQuerySchema },
  responses: {
    200: { description: 'The changes, oldest first', content: json(ChangesPageSchema) },
    ...errorResponses(400, 403, 410),
  },
});

export const getTask = gatedRoute(cachedRead(taskCacheKey), {
  operationId: 'getTask',
  tags: ['Tasks'],
  method: 'get',
  path: '/api/v1/tasks/{task_id}',
  summary: 'Get a task with its categories',
  request: { params: TaskIdParamSchema, headers: conditionalRead },
  responses: {
    200: { description: 'The task', headers: { ...cacheHeader, ...etagHeader }, content: json(TaskSchema) },
    ...notModified,
    ...errorResponses(400, 403, 404),
  },
});

export const updateTask = gatedRoute(retryableWrite, {
  operationId: 'updateTask',
  tags: ['Tasks'],
  method: 'patch',
  path: '/api/v1/tasks/{task_id}',
  summary: 'Update a task',
  description:
    'Partial update. Send the version you read, either as `version` in the body (409 with `current_version` if the task changed since) or as its ETag in If-Match (412 if it changed). On success the version increments. Setting `status` to `done` also completes its subtasks at every level that are not done yet (each gets a new version). A task cannot move to another parent here.',
  request: { params: TaskIdParamSchema, headers: conditionalWrite, body: jsonBody(UpdateTaskSchema) },
  responses: {
    200: { description: 'The updated task', headers: { ...etagHeader, ...replayedHeader }, content: json(TaskSchema) },
    ...errorResponses(400, 403, 404, 409, 412),
  },
});

export const deleteTask = gatedRoute(write, {
  operationId: 'deleteTask',
  tags: ['Tasks'],
  method: 'delete',
  path: '/api/v1/tasks/{task_id}',
  summary: 'Delete a task (to the trash)',
  description:
    'The task moves to the trash (see /api/v1/tasks/trash) with its subtasks at every level, all with the same `deleted_at`. With If-Match, only if it is still that version. Its parent, if any, gets a new version (`subtask_count` changes).',
  request: { params: TaskIdParamSchema, headers: conditionalWrite },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(400, 403, 404, 409, 412) },
});

export const listCompletions = gatedRoute(read, {
  operationId: 'listCompletions',
  tags: ['Tasks'],
  method: 'get',
  path: '/api/v1/tasks/{task_id}/completions',
  summary: 'List the completed occurrences of a repeating task',
  description:
    'The history of a repeating task, most recent first: each completion moved it to its next occurrence (or, for the last one, left it done). A task that does not repeat has none. The export holds every completion too.',
  request: { params: TaskIdParamSchema, query: TrashQuerySchema },
  responses: {
    200: { description: 'A page of completions', content: json(CompletionPageSchema) },
    ...errorResponses(400, 403, 404),
  },
});

export const restoreTask = gatedRoute(retryableWrite, {
  operationId: 'restoreTask',
  tags: ['Tasks'],
  method: 'post',
  path: '/api/v1/tasks/{task_id}/restore',
  summary: 'Restore a task from the trash',
  description:
    'The task comes back with a new version, and so do its subtasks deleted with it (same `deleted_at`); all of them count toward the task limit (409 `LIMIT_REACHED`). A subtask whose parent is still in the trash is 409 `CONFLICT`: restore the parent first. A task not in the trash is returned unchanged. With If-Match (412) or a body `version` (409), only if it is still that version. 404 once purged. Its parent, if any, gets a new version.',
  request: {
    params: TaskIdParamSchema,
    headers: conditionalWrite,
    body: { required: false, content: json(RestoreTaskSchema) },
  },
  responses: {
    200: { description: 'The restored task', headers: { ...etagHeader, ...replayedHeader }, content: json(TaskSchema) },
    ...errorResponses(400, 403, 404, 409, 412),
  },
});

export const moveTask = gatedRoute(retryableWrite, {
  operationId: 'moveTask',
  tags: ['Tasks'],
  method: 'post',
  path: '/api/v1/tasks/{task_id}/move',
  summary: 'Move a task: to another parent, or to another place among its siblings',
  description:
    'The manual order (`sort=position`). `before` or `after` names the sibling to go beside; with neither the task ' +
    'goes last. `parent_id` moves it (with its subtasks) under another task, or to the top level with null; left out, ' +
    'the task stays under the parent of `before`/`after` (or its own). Only the moved task gets a new `position` and ' +
    'version: siblings keep theirs, and moves sent in parallel each find their place. When the parent changes, the ' +
    'old and the new parent get a new version (`subtask_count`). 404/403 for a missing or foreign task, parent or ' +
    'neighbour (naming the field); 409 for a move under its own subtask, deeper than 4 levels, or beside a task that ' +
    'is not a sibling there. With If-Match (412) or a body `version` (409), only if the task is still that version.',
  request: { params: TaskIdParamSchema, headers: conditionalWrite, body: jsonBody(MoveTaskSchema) },
  responses: {
    200: { description: 'The moved task', headers: { ...etagHeader, ...replayedHeader }, content: json(TaskSchema) },
    ...errorResponses(400, 403, 404, 409, 412),
  },
});

export const assignCategory = gatedRoute(retryableWrite, {
  operationId: 'assignCategory',
  tags: ['Tasks', 'Categories'],
  method: 'post',
  path: '/api/v1/tasks/{task_id}/categories/{cat_id}',
  summary: 'Assign a category to a task',
  description:
    'Both must be yours (403 otherwise) and exist (404); assigning twice is 409. The task gets a new version.',
  request: { params: TaskCategoryParamSchema },
  responses: {
    200: {
      description: 'The task with its categories',
      headers: { ...etagHeader, ...replayedHeader },
      content: json(TaskSchema),
    },
    ...errorResponses(400, 403, 404, 409),
  },
});

export const removeCategory = gatedRoute(write, {
  operationId: 'removeCategory',
  tags: ['Tasks', 'Categories'],
  method: 'delete',
  path: '/api/v1/tasks/{task_id}/categories/{cat_id}',
  summary: 'Remove a category from a task',
  description: 'The task gets a new version.',
  request: { params: TaskCategoryParamSchema },
  responses: { 204: { description: 'Removed' }, ...errorResponses(400, 403, 404, 409) },
});
