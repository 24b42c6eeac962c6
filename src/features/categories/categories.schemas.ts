import { z } from '@hono/zod-openapi';
import { text, timestamp, uuid } from '../../lib/schemas.ts';

export const DEFAULT_CATEGORY_COLOR = '#6B7280';

const color = z
  .string()
  .regex(/^#[0-9A-Fa-f]{6}$/, { message: 'Must be a colour like #1A2B3C' })
  .openapi({ examples: ['#2563EB'], maxLength: 7 });

export const CategoryIdParamSchema = z.object({
  cat_id: uuid().openapi({
    param: { name: 'cat_id', in: 'path' },
    description: 'The category id',
    examples: ['01a21ce1-50cf-7237-b8b8-bcd30d1af7d3'],
  }),
});

export const CreateCategorySchema = z
  .strictObject({
    name: text(3, 50).openapi({ examples: ['Work'], description: 'Unique per user, case-insensitively' }),
    color: color.default(DEFAULT_CATEGORY_COLOR).openapi({ description: 'A colour, `#RRGGBB`' }),
  })
  .openapi('CreateCategoryRequest');

export const CategorySchema = z
  .object({
    id: uuid().openapi({ description: 'The category id' }),
    user_id: uuid().openapi({ description: 'Its owner (you)' }),
    name: z.string().max(50).openapi({ description: 'Unique per user, case-insensitively' }),
    color: z.string().max(7).openapi({ description: 'Its colour, `#RRGGBB`' }),
    created_at: timestamp().openapi({ description: 'When it was created' }),
  })
  .openapi('Category');

export const CategoryListSchema = z
  .object({ items: z.array(CategorySchema).max(1000).openapi({ description: 'Your categories' }) })
  .openapi('CategoryList');

export type CategoryJson = z.infer<typeof CategorySchema>;
