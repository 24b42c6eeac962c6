import type { Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { AppError } from '../../lib/errors.ts';
import { bodyEtag, ifMatchVersions, noneMatch, taskEtag } from '../../lib/etag.ts';
import type { AppRouteHandler } from '../../lib/route-handler.ts';
import { currentUserId } from '../../http/context.ts';
import { cachedJson } from '../../http/cached-json.ts';
import { assignCategory as link, removeCategory as unlink } from '../categories/categories.service.ts';
import { decodeCursor, taskChanges as readChanges } from './tasks.changes.ts';
import type * as routes from './tasks.routes.ts';
import * as tasks from './tasks.service.ts';

/**
 * The version a write expects: If-Match when sent (412 on a mismatch), else the body's `version`
 * (409). Both may be sent only if they agree. Categories use it too (same "<id>.<version>" tags).
 */
export function versionCheck(
  c: Context<AppEnv>,
  taskId: string,
  bodyVersion: number | undefined,
): tasks.VersionCheck | undefined {
  const versions = ifMatchVersions(c.req.header('If-Match'), taskId);
  if (versions === null) {
    throw new AppError('VALIDATION_FAILED', 'The If-Match header is not a list of entity tags.', {
      errors: [{ pointer: '/header/If-Match', message: 'Expected "*" or ETags like "<task id>.<version>"' }],
    });
  }
  if (versions === undefined) return bodyVersion === undefined ? undefined : { from: 'body', version: bodyVersion };
  if (bodyVersion !== undefined && versions !== '*' && !versions.includes(bodyVersion)) {
    throw new AppError('VALIDATION_FAILED', 'The body version and the If-Match header disagree.', {
      errors: [{ pointer: '/body/version', message: 'Does not match If-Match; send one of them' }],
    });
  }
  return { from: 'if-match', versions };
}

/** An update's version check, which must exist: If-Match or the body's `version`. */
export function requiredVersionCheck(
  c: Context<AppEnv>,
  id: string,
  bodyVersion: number | undefined,
): tasks.VersionCheck {
  const check = versionCheck(c, id, bodyVersion);
  if (!check) {
    throw new AppError('VALIDATION_FAILED', 'Say which version you are changing.', {
      errors: [{ pointer: '/body/version', message: 'Required unless an If-Match header is sent' }],
    });
  }
  return check;
}

export const createTask: AppRouteHandler<typeof routes.createTask> = async (c) => {
  const task = await tasks.createTask(c.get('deps'), currentUserId(c), c.req.valid('json'));
  c.header('Location', `/api/v1/tasks/${task.id}`);
  c.header('ETag', taskEtag(task));
  return c.json(task, 201);
};

export const listTasks: AppRouteHandler<typeof routes.listTasks> = async (c) => {
  const userId = currentUserId(c);
  const { value } = await cachedJson(c, () => tasks.listTasks(c.get('deps'), userId, c.req.valid('query')));
  // Serialised once: the tag is the digest of exactly the bytes sent.
  const text = JSON.stringify(value);
  const etag = await bodyEtag(text);
  c.header('ETag', etag);
  if (!noneMatch(c.req.header('If-None-Match'), etag)) return c.body(null, 304);
  return c.body(text, 200, { 'Content-Type': 'application/json' });
};

export const getTask: AppRouteHandler<typeof routes.getTask> = async (c) => {
  const userId = currentUserId(c);
  const { value } = await cachedJson(c, () => tasks.getTask(c.get('deps'), userId, c.req.valid('param').task_id));
  const etag = taskEtag(value);
  c.header('ETag', etag);
  if (!noneMatch(c.req.header('If-None-Match'), etag)) return c.body(null, 304);
  return c.json(value, 200);
};

export const updateTask: AppRouteHandler<typeof routes.updateTask> = async (c) => {
  const taskId = c.req.valid('param').task_id;
  const { version, ...changes } = c.req.valid('json');
  const check = requiredVersionCheck(c, taskId, version);
  const task = await tasks.updateTask(c.get('deps'), currentUserId(c), taskId, changes, check);
  c.header('ETag', taskEtag(task));
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
  c.header('ETag', taskEtag(task));
  return c.json(task, 200);
};

export const listTrash: AppRouteHandler<typeof routes.listTrash> = async (c) => {
  const deps = c.get('deps');
  const page = await tasks.listTrash(deps, currentUserId(c), c.req.valid('query'));
  return c.json({ ...page, retention_days: deps.config.TRASH_RETENTION_DAYS }, 200);
};

export const taskChanges: AppRouteHandler<typeof routes.taskChanges> = async (c) => {
  const { cursor, limit } = c.req.valid('query');
  const since = cursor === undefined ? null : decodeCursor(cursor);
  if (since === null && cursor !== undefined) {
    throw new AppError('VALIDATION_FAILED', 'The cursor is not one this API gave out.', {
      errors: [{ pointer: '/query/cursor', message: 'Pass the next_cursor of an earlier sync unchanged' }],
    });
  }
  return c.json(await readChanges(c.get('deps'), currentUserId(c), since, limit), 200);
};

export const assignCategory: AppRouteHandler<typeof routes.assignCategory> = async (c) => {
  const { task_id, cat_id } = c.req.valid('param');
  const task = await link(c.get('deps'), currentUserId(c), task_id, cat_id);
  c.header('ETag', taskEtag(task));
  return c.json(task, 200);
};

export const removeCategory: AppRouteHandler<typeof routes.removeCategory> = async (c) => {
  const { task_id, cat_id } = c.req.valid('param');
  await unlink(c.get('deps'), currentUserId(c), task_id, cat_id);
  return c.body(null, 204);
};
