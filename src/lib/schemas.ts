import { z } from '@hono/zod-openapi';
import { canonicalTimeZone, MAX_TIME_ZONE_LENGTH, TIME_ZONE_NAME } from './time-zone.ts';

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

// The instants Postgres' timestamptz can take from us and give back as a four-digit year.
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * An RFC 3339 timestamp with Z or an offset, handed on as the same instant in UTC with milliseconds.
 * zod's pattern accepts year 0000 and offsets up to ±23:59, which Postgres refuses ("date/time
 * field value out of range", "time zone displacement out of range": a 500), and instants past
 * 9999 that Postgres stores but the API would then write with a five-digit year. Only instants
 * in years 1 to 9999 pass, and Postgres always gets one spelling it parses. 40 characters leave
 * room for nanoseconds and an offset; the bound is enforced, not only documented.
 */
export function storableTimestamp() {
  return z.iso
    .datetime({ offset: true })
    .max(40)
    .openapi({ examples: ['2026-12-01T09:00:00.000Z'] })
    .pipe(
      z
        .string()
        .refine((s) => Date.parse(s) >= EARLIEST && Date.parse(s) <= LATEST, {
          message: 'Must be between years 0001 and 9999 in UTC',
        })
        .transform((s) => new Date(Date.parse(s)).toISOString()),
    );
}

/** A UUID, as every id in the API (36 characters: the bound the document states). */
export function uuid() {
  return z.uuid().max(36);
}

/** A timestamp as the API writes it: RFC 3339 in UTC with milliseconds (src/db/sql.ts), 24 characters. */
export function timestamp() {
  return z.iso
    .datetime()
    .max(24)
    .openapi({ examples: ['2026-11-27T12:00:00.000Z'] });
}

/**
 * An integer that fits Postgres' `integer` (int32). The format is stated by hand: zod's own int32
 * is documented as a plain number.
 */
export function int32(min: number, max = 2_147_483_647) {
  return z.int().min(min).max(max).openapi({ format: 'int32' });
}

/** An IANA time zone name (src/lib/time-zone.ts), given back as Intl spells it. */
export function timeZone() {
  return z
    .string()
    .max(MAX_TIME_ZONE_LENGTH)
    .openapi({ pattern: TIME_ZONE_NAME.source, examples: ['Europe/Berlin'] })
    .transform((name, ctx) => {
      const canonical = canonicalTimeZone(name);
      if (canonical === null) {
        ctx.addIssue({
          code: 'custom',
          message: 'Must be an IANA time zone name such as Europe/Berlin, America/New_York or UTC',
        });
        return z.NEVER;
      }
      return canonical;
    });
}
