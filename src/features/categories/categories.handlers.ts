import type { AppRouteHandler } from '../../lib/route-handler.ts';
import { currentUserId } from '../../middleware/auth.ts';
import type * as routes from './categories.routes.ts';
import * as categories from './categories.service.ts';

export const createCategory: AppRouteHandler<typeof routes.createCategory> = async (c) => {
  const category = await categories.createCategory(c.get('deps'), currentUserId(c), c.req.valid('json'));
  return c.json(category, 201);
};

export const listCategories: AppRouteHandler<typeof routes.listCategories> = async (c) =>
  c.json({ items: await categories.listCategories(c.get('deps'), currentUserId(c)) }, 200);

export const deleteCategory: AppRouteHandler<typeof routes.deleteCategory> = async (c) => {
  await categories.deleteCategory(c.get('deps'), currentUserId(c), c.req.valid('param').cat_id);
  return c.body(null, 204);
};
