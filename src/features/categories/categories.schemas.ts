import { z } from '@hono/zod-openapi';
import { text, timestamp, uuid } from '../../lib/schemas.ts';
import { MAX_CATEGORIES_PER_USER } from '../../lib/limits.ts';

export const DEFAULT_CATEGORY_COLOR = '#6B7280';

const color = z
  .string()
  .regex(/^#[0-9A-Fa-f]{6}$/, { message: 'Must be a colour like #1A2B3C' })
  .openapi({ example: '#2563EB', maxLength: 7 });

export const CategoryIdParamSchema = z.object({
  cat_id: uuid().openapi({ param: { name: 'cat_id', in: 'path' }, example: '01a21ce1-50cf-7237-b8b8-bcd30d1af7d3' }),
});

export const CreateCategorySchema = z
  .strictObject({
    name: text(3, 50).openapi({ example: 'Work', description: 'Unique per user, case-insensitively' }),
    color: color.default(DEFAULT_CATEGORY_COLOR),
  })
  .openapi('CreateCategoryRequest');

export const CategorySchema = z
  .object({
    id: uuid(),
    user_id: uuid(),
    name: z.string().max(50),
    color: z.string().max(7),
    created_at: timestamp(),
  })
  .openapi('Category');

export const CategoryListSchema = z
  .object({ items: z.array(CategorySchema).max(MAX_CATEGORIES_PER_USER) })
  .openapi('CategoryList');

export type CategoryJson = z.infer<typeof CategorySchema>;
