import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { writeCache } from '../lib/cache.ts';
import { noneMatch } from '../lib/etag.ts';
import { describeError, log } from '../lib/log.ts';
import { afterResponse } from './context.ts';

/** A read's answer as sent: the JSON text and its entity tag. */
export interface CachedBody {
  body: string;
  etag: string;
}

/**
 * Answers a read from the cache when the request gate found the entry (it reads it beside the rate
 * limit, under the key the route's gate names: src/gate/gate.ts); otherwise runs `load`, answers
 * with it, and stores it after the response under the generation that was read. A cache that could
 * not answer is a miss, never an error. The answer carries the ETag, and is 304 when the client's
 * If-None-Match holds it.
 *
 * The entry is the answer as sent, text and tag, not the value: a hit parses one small JSON
 * envelope and sends the text as it is, instead of parsing the whole list, serialising it again
 * and hashing it for its tag on every hit (issue 17: a third of a list hit's CPU).
 */
export async function cachedJsonResponse(c: Context<AppEnv>, load: () => Promise<CachedBody>): Promise<Response> {
  const { body, etag } = await cachedBody(c, load);
  c.header('ETag', etag);
  if (!noneMatch(c.req.header('If-None-Match'), etag)) return c.body(null, 304);
  return c.body(body, 200, { 'Content-Type': 'application/json' });
}

async function cachedBody(c: Context<AppEnv>, load: () => Promise<CachedBody>): Promise<CachedBody> {
  const read = c.get('cacheRead');
  if (read?.value != null && isCachedBody(read.value)) {
    c.header('X-Cache', 'hit');
    return read.value;
  }
  const value = await load();
  c.header('X-Cache', 'miss');
  const userId = c.get('userId');
  if (read && userId) {
    afterResponse(c, () =>
      writeCache(c.get('deps').redis, userId, read.generation, read.key, value).catch((error: unknown) => {
        log('warn', 'cache write failed', { request_id: c.get('requestId'), error: describeError(error) });
      }),
    );
  }
  return value;
}

/** An entry of another shape (written by an older version of the Worker) is a miss. */
function isCachedBody(value: unknown): value is CachedBody {
  const entry = value as Partial<CachedBody>;
  return typeof entry === 'object' && typeof entry.body === 'string' && typeof entry.etag === 'string';
}

/** Cache keys from the raw request (before validation): the task id, or the list query sorted. */
export const taskCacheKey = (c: Context<AppEnv>): string | null => {
  const id = c.req.param('task_id');
  return id && id.length <= 64 ? `task:${id}` : null;
};

export const listCacheKey = (c: Context<AppEnv>): string | null => {
  const params = new URL(c.req.url).searchParams;
  params.sort();
  const query = params.toString();
  // Room for a cursor and a search beside the filters; longer queries are not worth an entry.
  return query.length <= 4096 ? `list:${query}` : null;
};
