import { z } from '@hono/zod-openapi';

/**
 * Text that Postgres can store and JSON can carry: no NUL (Postgres rejects it in text, which would
 * surface as a 500) and no lone UTF-16 surrogates (not valid Unicode). Length counts code points,
 * as Postgres' char_length does.
 */
export function text(min: number, max: number) {
  return z
    .string()
    .refine((s) => !s.includes('\u0000'), { message: 'Must not contain NUL characters' })
    .refine((s) => s.isWellFormed(), { message: 'Must be valid Unicode (no lone surrogates)' })
    .refine((s) => [...s].length >= min, { message: `Must be at least ${min} characters` })
    .refine((s) => [...s].length <= max, { message: `Must be at most ${max} characters` })
    .openapi({ minLength: min, maxLength: max });
}
