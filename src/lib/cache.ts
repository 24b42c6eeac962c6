import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Redis } from '@upstash/redis/cloudflare';

/**
 * Cache-aside for a user's task reads, invalidated by a per-user generation number: every write
 * of the user increments it, and cached entries live under the generation they were read in, so
 * one INCR retires all of that user's entries at once (they expire on their own).
 *
 * A read is one EVALSHA: the script reads the generation and the entry under it in one step. It is
 * a "write-class" command to the SDK's auto-pipeline, like the rate limiter's EVALSHA, so both
 * travel in the same HTTP request: a cache hit costs no round trip beyond the rate-limit check.
 */

const READ_SCRIPT = `local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ARGV[2])}`;
const READ_SHA = bytesToHex(sha1(new TextEncoder().encode(READ_SCRIPT)));

/** How long an entry may live; a write retires it sooner. */
export const CACHE_TTL_SECONDS = 300;

const generationKey = (userId: string) => `cache:${userId}:gen`;
const entryPrefix = (userId: string) => `cache:${userId}:g`;

export interface CacheRead<T> {
  generation: string;
  value: T | null;
}

export async function readCache<T>(redis: Redis, userId: string, key: string): Promise<CacheRead<T>> {
  const keys = [generationKey(userId)];
  const args = [entryPrefix(userId), `:${key}`];
  let result: [unknown, unknown];
  try {
    result = await redis.evalsha<string[], [unknown, unknown]>(READ_SHA, keys, args);
  } catch (error) {
    // First use on this Redis: the script is not loaded yet. EVAL loads it for next time.
    if (!String(error).includes('NOSCRIPT')) throw error;
    result = await redis.eval<string[], [unknown, unknown]>(READ_SCRIPT, keys, args);
  }
  const [generation, value] = result;
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
