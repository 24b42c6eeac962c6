import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { writeCache } from '../lib/cache.ts';
import { describeError, log } from '../lib/log.ts';
import { afterResponse } from './context.ts';

/**
 * Serves a read from the cache when the request gate found the entry (it reads it beside the rate
 * limit, under the key the route's gate names: src/gate/gate.ts); otherwise runs `load`, answers with it, and stores it after the response
 * under the generation that was read. A cache that could not answer is a miss, never an error.
 */
export async function cachedJson<T>(c: Context<AppEnv>, load: () => Promise<T>): Promise<{ value: T; hit: boolean }> {
  const read = c.get('cacheRead');
  if (read?.value != null) {
    c.header('X-Cache', 'hit');
    return { value: read.value as T, hit: true };
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
  return { value, hit: false };
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
