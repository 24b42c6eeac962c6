import { noneMatch, versionEtag } from '../../lib/etag.ts';
import { requiredVersionCheck } from '../../http/preconditions.ts';
import type { AppRouteHandler } from '../../http/route-handler.ts';
import { currentUserId } from '../../http/context.ts';
import type * as routes from './categories.routes.ts';
import * as categories from './categories.service.ts';

export const createCategory: AppRouteHandler<typeof routes.createCategory> = async (c) => {
  const category = await categories.createCategory(c.get('deps'), currentUserId(c), c.req.valid('json'));
  c.header('Location', `/api/v1/categories/${category.id}`);
  c.header('ETag', versionEtag(category));
  return c.json(category, 201);
};

export const listCategories: AppRouteHandler<typeof routes.listCategories> = async (c) =>
  c.json({ items: await categories.listCategories(c.get('deps'), currentUserId(c)) }, 200);

export const getCategory: AppRouteHandler<typeof routes.getCategory> = async (c) => {
  const category = await categories.getCategory(c.get('deps'), currentUserId(c), c.req.valid('param').cat_id);
  const etag = versionEtag(category);
  c.header('ETag', etag);
  if (!noneMatch(c.req.header('If-None-Match'), etag)) return c.body(null, 304);
  return c.json(category, 200);
};

export const updateCategory: AppRouteHandler<typeof routes.updateCategory> = async (c) => {
  const categoryId = c.req.valid('param').cat_id;
  const { version, ...changes } = c.req.valid('json');
  const check = requiredVersionCheck(c, categoryId, version);
  const category = await categories.updateCategory(c.get('deps'), currentUserId(c), categoryId, changes, check);
  c.header('ETag', versionEtag(category));
  return c.json(category, 200);
};

export const deleteCategory: AppRouteHandler<typeof routes.deleteCategory> = async (c) => {
  await categories.deleteCategory(c.get('deps'), currentUserId(c), c.req.valid('param').cat_id);
  return c.body(null, 204);
};
