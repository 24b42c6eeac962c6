import type { AppRouteHandler } from '../../lib/route-handler.ts';
import { currentUserId } from '../../middleware/auth.ts';
import { cachedJson, listCacheKey, taskCacheKey } from '../../middleware/user-cache.ts';
import { assignCategory as link, removeCategory as unlink } from '../categories/categories.service.ts';
import type * as routes from './tasks.routes.ts';
import * as tasks from './tasks.service.ts';

export const createTask: AppRouteHandler<typeof routes.createTask> = async (c) => {
  const task = await tasks.createTask(c.get('deps'), currentUserId(c), c.req.valid('json'));
  c.header('Location', `/api/v1/tasks/${task.id}`);
  return c.json(task, 201);
};

export const listTasks: AppRouteHandler<typeof routes.listTasks> = async (c) => {
  const userId = currentUserId(c);
  const { value } = await cachedJson(c, listCacheKey(c), () =>
    tasks.listTasks(c.get('deps'), userId, c.req.valid('query')),
  );
  return c.json(value, 200);
};

export const getTask: AppRouteHandler<typeof routes.getTask> = async (c) => {
  const userId = currentUserId(c);
  const { value } = await cachedJson(c, taskCacheKey(c), () =>
    tasks.getTask(c.get('deps'), userId, c.req.valid('param').task_id),
  );
  return c.json(value, 200);
};

export const updateTask: AppRouteHandler<typeof routes.updateTask> = async (c) =>
  c.json(
    await tasks.updateTask(c.get('deps'), currentUserId(c), c.req.valid('param').task_id, c.req.valid('json')),
    200,
  );

export const deleteTask: AppRouteHandler<typeof routes.deleteTask> = async (c) => {
  await tasks.deleteTask(c.get('deps'), currentUserId(c), c.req.valid('param').task_id);
  return c.body(null, 204);
};

export const assignCategory: AppRouteHandler<typeof routes.assignCategory> = async (c) => {
  const { task_id, cat_id } = c.req.valid('param');
  return c.json(await link(c.get('deps'), currentUserId(c), task_id, cat_id), 200);
};

export const removeCategory: AppRouteHandler<typeof routes.removeCategory> = async (c) => {
  const { task_id, cat_id } = c.req.valid('param');
  await unlink(c.get('deps'), currentUserId(c), task_id, cat_id);
  return c.body(null, 204);
};
