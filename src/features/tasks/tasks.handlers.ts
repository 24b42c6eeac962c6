import { AppError } from '../../lib/errors.ts';
import { bodyEtag, versionEtag } from '../../lib/etag.ts';
import type { AppRouteHandler } from '../../http/route-handler.ts';
import { afterResponse, currentUserId } from '../../http/context.ts';
import { cachedJsonResponse } from '../../http/cached-json.ts';
import { requiredVersionCheck, versionCheck } from '../../http/preconditions.ts';
import * as categories from '../categories/categories.service.ts';
import * as changes from './tasks.changes.ts';
import * as order from './tasks.move.ts';
import type * as routes from './tasks.routes.ts';
import * as tasks from './tasks.service.ts';

export const createTask: AppRouteHandler<typeof routes.createTask> = async (c) => {
  const task = await tasks.createTask(c.get('deps'), currentUserId(c), c.req.valid('json'), c.get('tokenTimeZone'));
  c.header('Location', `/api/v1/tasks/${task.id}`);
  c.header('ETag', versionEtag(task));
  return c.json(task, 201);
};

export const listTasks: AppRouteHandler<typeof routes.listTasks> = async (c) => {
  const userId = currentUserId(c);
  return cachedJsonResponse(c, async () => {
    // Serialised once: the tag is the digest of exactly the bytes sent.
    const text = JSON.stringify(await tasks.listTasks(c.get('deps'), userId, c.req.valid('query')));
    return { body: text, etag: await bodyEtag(text) };
  });
};

export const getTask: AppRouteHandler<typeof routes.getTask> = async (c) => {
  const userId = currentUserId(c);
  return cachedJsonResponse(c, async () => {
    const task = await tasks.getTask(c.get('deps'), userId, c.req.valid('param').task_id);
    return { body: JSON.stringify(task), etag: versionEtag(task) };
  });
};

export const updateTask: AppRouteHandler<typeof routes.updateTask> = async (c) => {
  const taskId = c.req.valid('param').task_id;
  const { version, ...changes } = c.req.valid('json');
  const check = requiredVersionCheck(c, taskId, version);
  const task = await tasks.updateTask(
    c.get('deps'),
    currentUserId(c),
    taskId,
    changes,
    check,
    c.get('tokenTimeZone'),
    (work) => afterResponse(c, work),
  );
  c.header('ETag', versionEtag(task));
  return c.json(task, 200);
};

export const deleteTask: AppRouteHandler<typeof routes.deleteTask> = async (c) => {
  const taskId = c.req.valid('param').task_id;
  await tasks.deleteTask(c.get('deps'), currentUserId(c), taskId, versionCheck(c, taskId, undefined));
  return c.body(null, 204);
};

export const restoreTask: AppRouteHandler<typeof routes.restoreTask> = async (c) => {
  const taskId = c.req.valid('param').task_id;
  const body = c.req.valid('json') as { version?: number } | undefined;
  const task = await tasks.restoreTask(c.get('deps'), currentUserId(c), taskId, versionCheck(c, taskId, body?.version));
  c.header('ETag', versionEtag(task));
  return c.json(task, 200);
};

export const moveTask: AppRouteHandler<typeof routes.moveTask> = async (c) => {
  const taskId = c.req.valid('param').task_id;
  const { version, ...move } = c.req.valid('json');
  const task = await order.moveTask(c.get('deps'), currentUserId(c), taskId, move, versionCheck(c, taskId, version));
  c.header('ETag', versionEtag(task));
  return c.json(task, 200);
};

export const listTrash: AppRouteHandler<typeof routes.listTrash> = async (c) => {
  const deps = c.get('deps');
  const page = await tasks.listTrash(deps, currentUserId(c), c.req.valid('query'));
  return c.json({ ...page, retention_days: deps.config.TRASH_RETENTION_DAYS }, 200);
};

export const listCompletions: AppRouteHandler<typeof routes.listCompletions> = async (c) => {
  const page = await tasks.listCompletions(
    c.get('deps'),
    currentUserId(c),
    c.req.valid('param').task_id,
    c.req.valid('query'),
  );
  return c.json(page, 200);
};

export const taskChanges: AppRouteHandler<typeof routes.taskChanges> = async (c) => {
  const { cursor, limit } = c.req.valid('query');
  const since = cursor === undefined ? null : changes.decodeSyncCursor(cursor);
  if (since === null && cursor !== undefined) {
    throw new AppError('VALIDATION_FAILED', 'The cursor is not one this API gave out.', {
      errors: [{ pointer: '/query/cursor', message: 'Pass the next_cursor of an earlier sync unchanged' }],
    });
  }
  return c.json(await changes.taskChanges(c.get('deps'), currentUserId(c), since, limit), 200);
};

export const assignCategory: AppRouteHandler<typeof routes.assignCategory> = async (c) => {
  const { task_id, cat_id } = c.req.valid('param');
  const task = await categories.assignCategory(c.get('deps'), currentUserId(c), task_id, cat_id);
  c.header('ETag', versionEtag(task));
  return c.json(task, 200);
};

export const removeCategory: AppRouteHandler<typeof routes.removeCategory> = async (c) => {
  const { task_id, cat_id } = c.req.valid('param');
  await categories.removeCategory(c.get('deps'), currentUserId(c), task_id, cat_id);
  return c.body(null, 204);
};
