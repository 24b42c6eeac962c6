import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { bumpGeneration, readCache, writeCache } from '../lib/cache.ts';
import { describeError, log } from '../lib/log.ts';
import { rateLimitByUser } from './rate-limit.ts';
import { afterResponse } from './request-context.ts';

/**
 * The per-user rate limit for task reads, with the cache read in the same Upstash request. A cache
 * that cannot answer is a miss (logged), never an error: the database has the truth.
 */
export function limitAndReadCache(keyOf: (c: Context<AppEnv>) => string | null): MiddlewareHandler<AppEnv> {
  return rateLimitByUser((c, userId) => {
    const key = keyOf(c);
    if (key === null) return Promise.resolve();
    const read = readCache(c.get('deps').redis, userId, key).catch((error: unknown) => {
      log('warn', 'cache read failed', { request_id: c.get('requestId'), error: describeError(error) });
      return null;
    });
    c.set('cacheRead', read);
    return read;
  });
}

/**
 * The per-user rate limit for writes, with the invalidation in the same Upstash request: the
 * generation moves before the write, so the writer's next read misses. It moves again after the
 * response, because a read of the same user racing the write may have cached the old data under
 * the new generation in between (only after a write that went through).
 */
export function limitAndInvalidate(): MiddlewareHandler<AppEnv> {
  const bump = (c: Context<AppEnv>, userId: string) =>
    bumpGeneration(c.get('deps').redis, userId).catch((error: unknown) => {
      log('warn', 'cache invalidation failed', { request_id: c.get('requestId'), error: describeError(error) });
    });
  const limit = rateLimitByUser(bump);
  return async (c, next) => {
    await limit(c, next);
    const userId = c.get('userId');
    // A refused write (stale version, wrong password, limit) changed nothing: no race to close.
    if (userId && c.res.status < 400) afterResponse(c, () => bump(c, userId));
  };
}

/**
 * Serves a read from the cache when the prefetched entry is there; otherwise runs `load`, answers
 * with it, and stores it (after the response) under the generation that was read.
 */
export async function cachedJson<T>(
  c: Context<AppEnv>,
  key: string | null,
  load: () => Promise<T>,
): Promise<{ value: T; hit: boolean }> {
  const read = await c.get('cacheRead');
  if (read?.value != null) {
    c.header('X-Cache', 'hit');
    return { value: read.value as T, hit: true };
  }
  const value = await load();
  c.header('X-Cache', 'miss');
  const userId = c.get('userId');
  if (read && key !== null && userId) {
    afterResponse(c, () =>
      writeCache(c.get('deps').redis, userId, read.generation, key, value).catch((error: unknown) => {
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
