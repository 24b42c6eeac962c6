import { z } from '@hono/zod-openapi';
import { int32, text, timestamp, uuid } from '../../lib/schemas.ts';
import { MAX_CATEGORIES_PER_USER } from '../../lib/limits.ts';
import { DEFAULT_CATEGORY_COLOR } from '../../db/schema.ts';

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
  .openapi('CreateCategoryRequest', { description: 'A new category: the body of POST /api/v1/categories' });

export const CategorySchema = z
  .object({
    id: uuid().openapi({ description: 'The category id' }),
    user_id: uuid().openapi({ description: 'Its owner (you)' }),
    name: z.string().max(50).openapi({ description: 'Unique per user, case-insensitively' }),
    color: z.string().max(7).openapi({ description: 'Its colour, `#RRGGBB`' }),
    created_at: timestamp().openapi({ description: 'When it was created' }),
    updated_at: timestamp().openapi({
      description: 'When it was last renamed or recoloured (its creation time until then)',
      examples: ['2026-11-27T12:00:00.000Z'],
    }),
    version: int32(1).openapi({
      description:
        'Starts at 1 and increments on every rename or recolour; send it back (or the ETag in If-Match) to change the category',
      examples: [1],
    }),
  })
  .openapi('Category', { description: 'A category of tasks, unique by name per user' });

/** A rename or recolour: the same rules as creation, with the version the client read. */
export const UpdateCategorySchema = z
  .strictObject({
    name: text(3, 50)
      .optional()
      .openapi({
        description: 'The new name: 3-50 characters, unique per user ignoring case (409 when taken)',
        examples: ['Home'],
      }),
    color: z
      .string()
      .regex(/^#[0-9A-Fa-f]{6}$/, { message: 'Must be a colour like #1A2B3C' })
      .optional()
      .openapi({ description: 'The new colour, #RRGGBB (stored upper case)', maxLength: 7, examples: ['#16A34A'] }),
    version: int32(1)
      .optional()
      .openapi({
        description: 'The version you read; 409 if it changed since. Required unless an If-Match header is sent.',
        examples: [1],
      }),
  })
  .refine((body) => body.name !== undefined || body.color !== undefined, {
    message: 'Nothing to change: send name, color or both',
  })
  .openapi('UpdateCategoryRequest', { description: 'Rename and/or recolour one category' });

export const CategoryListSchema = z
  .object({ items: z.array(CategorySchema).max(MAX_CATEGORIES_PER_USER).openapi({ description: 'Your categories' }) })
  .openapi('CategoryList');

export type CategoryJson = z.infer<typeof CategorySchema>;
