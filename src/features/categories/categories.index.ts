import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../app-env.ts';
import { validationHook } from '../../middleware/error-handling.ts';
import * as handlers from './categories.handlers.ts';
import * as routes from './categories.routes.ts';

export const categoriesRouter = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(routes.createCategory, handlers.createCategory)
  .openapi(routes.listCategories, handlers.listCategories)
  .openapi(routes.getCategory, handlers.getCategory)
  .openapi(routes.updateCategory, handlers.updateCategory)
  .openapi(routes.deleteCategory, handlers.deleteCategory);
