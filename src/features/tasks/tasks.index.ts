import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../app-env.ts';
import { validationHook } from '../../middleware/error-handling.ts';
import * as handlers from './tasks.handlers.ts';
import * as routes from './tasks.routes.ts';

// The fixed paths (/trash, /changes) before /{task_id}: the router tries routes in this order.
export const tasksRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(routes.createTask, handlers.createTask)
  .openapi(routes.listTasks, handlers.listTasks)
  .openapi(routes.listTrash, handlers.listTrash)
  .openapi(routes.taskChanges, handlers.taskChanges)
  .openapi(routes.getTask, handlers.getTask)
  .openapi(routes.updateTask, handlers.updateTask)
  .openapi(routes.deleteTask, handlers.deleteTask)
  .openapi(routes.restoreTask, handlers.restoreTask)
  .openapi(routes.listCompletions, handlers.listCompletions)
  .openapi(routes.moveTask, handlers.moveTask)
  .openapi(routes.assignCategory, handlers.assignCategory)
  .openapi(routes.removeCategory, handlers.removeCategory);
