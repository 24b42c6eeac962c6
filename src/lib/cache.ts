import type { Redis } from '@upstash/redis/cloudflare';
import { redisScript } from './redis-script.ts';

/**
 * Cache-aside for a user's task reads, invalidated by a per-user generation number: every write
 * of the user increments it, and cached entries live under the generation they were read in, so
 * one INCR retires all of that user's entries at once (they expire on their own).
 *
 * A read is one EVALSHA: the script reads the generation and the entry under it in one step. It is
 * a "write-class" command to the SDK's auto-pipeline, like the rate limiter's EVALSHA, so both
 * travel in the same HTTP request: a cache hit costs no round trip beyond the rate-limit check.
 */

const readScript = redisScript<[unknown, unknown]>(`local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ARGV[2])}`);

/** How long an entry may live; a write retires it sooner. */
export const CACHE_TTL_SECONDS = 300;

const generationKey = (userId: string) => `cache:${userId}:gen`;
const entryPrefix = (userId: string) => `cache:${userId}:g`;

export interface CacheRead<T> {
  generation: string;
  value: T | null;
}

export async function readCache<T>(redis: Redis, userId: string, key: string): Promise<CacheRead<T>> {
  const [generation, value] = await readScript(redis, [generationKey(userId)], [entryPrefix(userId), `:${key}`]);
  return { generation: String(generation), value: (value ?? null) as T | null };
}

export async function writeCache(
  redis: Redis,
  userId: string,
  generation: string,
  key: string,
  value: unknown,
): Promise<void> {
  await redis.set(`${entryPrefix(userId)}${generation}:${key}`, value, { ex: CACHE_TTL_SECONDS });
}

/** Retires every cached read of the user. */
export async function bumpGeneration(redis: Redis, userId: string): Promise<void> {
  await redis.incr(generationKey(userId));
}
