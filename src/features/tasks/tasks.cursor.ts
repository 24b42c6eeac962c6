import { z } from '@hono/zod-openapi';
import type { TaskListPosition } from '../../db/task-queries.ts';
import { fromBase64Url, toBase64Url } from '../../lib/base64url.ts';
import { AppError } from '../../lib/errors.ts';
import { hashToken } from '../../lib/tokens.ts';
import {
  CURSOR_MAX_LENGTH,
  CURSOR_PATTERN,
  POSITION_PATTERN,
  TASK_PRIORITIES,
  TASK_STATUSES,
} from './tasks.schemas.ts';

/**
 * Keyset cursors for the task list: base64url of a small JSON document that names the sort it was
 * made for and the position of the last task the client has seen (its sort key, as text that casts
 * back to exactly the stored value, and its id). A relevance cursor also holds a digest of `q`:
 * ranks only compare within one search.
 *
 * Not signed, on purpose: a cursor carries nothing secret, and the list is always filtered by the
 * caller's own user id, so a forged one can only choose where in your own list a page starts,
 * which `page` can do too. Every field is checked against the sort, so a malformed or altered
 * cursor is a 400, never a database error.
 */

const CursorDocument = z.strictObject({
  v: z.literal(1),
  s: z.string().max(20),
  k: z.string().max(4000).nullable(),
  i: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
  q: z
    .string()
    .regex(/^[0-9a-f]{8}$/)
    .optional(),
});
type CursorDocument = z.infer<typeof CursorDocument>;

export function encodeListCursor(sort: string, position: TaskListPosition, q: string | undefined): string {
  const document: CursorDocument = {
    v: 1,
    s: sort,
    k: position.key,
    i: position.id,
    ...(sort === 'relevance' && q !== undefined ? { q: digest(q) } : {}),
  };
  return toBase64Url(JSON.stringify(document));
}

/** The position a cursor names, if it was made for this sort (and search); a 400 otherwise. */
export function decodeListCursor(cursor: string, sort: string, q: string | undefined): TaskListPosition {
  const document = parse(cursor);
  if (!document) throw invalid('Not a cursor from this API: use next_cursor exactly as it was returned.');
  if (document.s !== sort) {
    throw invalid(`This cursor was made for sort=${document.s}: send that sort, or start again without a cursor.`);
  }
  if (sort === 'relevance' && (q === undefined || document.q !== digest(q))) {
    throw invalid('This cursor was made for another search: send the same q, or start again without a cursor.');
  }
  if (!validKey(sort.replace(/^-/, ''), document.k)) {
    throw invalid('Not a cursor from this API: use next_cursor exactly as it was returned.');
  }
  return { key: document.k, id: document.i };
}

function parse(cursor: string): CursorDocument | null {
  if (cursor.length > CURSOR_MAX_LENGTH || !CURSOR_PATTERN.test(cursor)) return null;
  try {
    const bytes = fromBase64Url(cursor);
    if (!bytes) return null;
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    const result = CursorDocument.safeParse(JSON.parse(text));
    return result.success ? result.data : null;
  } catch {
    return null;
  }
}

// Years 1..9999, microseconds: what Postgres writes for the API's timestamps, and casts back.
const TIMESTAMP = /^(?!0000)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
// ts_rank's text form; bounded so the cast to real can neither overflow nor underflow.
const RANK = /^\d{1,20}(\.\d{1,20})?(e[+-]?\d{1,2})?$/;

function validKey(field: string, key: string | null): boolean {
  if (key === null) return field === 'due_date';
  switch (field) {
    case 'created_at':
    case 'updated_at':
    case 'due_date': {
      if (!TIMESTAMP.test(key)) return false;
      // Only real calendar dates (no 30 February), or the cast would fail in Postgres.
      const millis = `${key.slice(0, 23)}Z`;
      const date = new Date(millis);
      return !Number.isNaN(date.getTime()) && date.toISOString() === millis;
    }
    case 'priority':
      return (TASK_PRIORITIES as readonly string[]).includes(key);
    case 'status':
      return (TASK_STATUSES as readonly string[]).includes(key);
    case 'title':
      // lower() of a title: no NUL (Postgres text cannot hold it), well-formed, not absurdly long.
      return !key.includes('\u0000') && key.isWellFormed() && [...key].length <= 1000;
    case 'position':
      return POSITION_PATTERN.test(key);
    case 'relevance': {
      const rank = Number(key);
      return RANK.test(key) && (rank === 0 || (rank >= 1e-30 && rank <= 1e30));
    }
    default:
      return false;
  }
}

/** A short digest of q: ties a relevance cursor to its search (a check, not a secret). */
function digest(q: string): string {
  return hashToken(q).slice(0, 8);
}

function invalid(message: string): AppError {
  return new AppError('VALIDATION_FAILED', 'One or more fields are invalid.', {
    errors: [{ pointer: '/query/cursor', message }],
  });
}
