import type { Redis } from '@upstash/redis/cloudflare';
import { redisScript } from './redis-script.ts';

/**
 * Cache-aside for a user's task reads, invalidated by a per-user generation number: every write
 * of the user increments it (one INCR retires all of that user's entries at once), and an entry
 * carries the generation it was read in, so an entry of an older generation is a miss.
 *
 * A read is one EVALSHA that gets the generation and the entry together. It names both keys, so it
 * carries `allow-key-locking` and Upstash locks those two keys only, not the database
 * (docs/decisions/0025-upstash-key-locking.md); an entry's key therefore cannot depend on the
 * generation, which is why the generation lives in the entry. EVALSHA is a "write-class" command
 * to the SDK's auto-pipeline, like the rate limiter's, so both travel in the same HTTP request: a
 * cache hit costs no round trip beyond the rate-limit check.
 *
 * A read racing a write never serves stale data: the write moves the generation before and after
 * it runs (src/gate/gate.ts), so an entry filled from data read in between carries a generation
 * that is no longer current.
 */

const readScript = redisScript<[unknown, unknown]>(`#!lua flags=allow-key-locking
return {redis.call('GET', KEYS[1]) or '0', redis.call('GET', KEYS[2])}`);

/** How long an entry may live; a write retires it sooner. */
export const CACHE_TTL_SECONDS = 300;

const generationKey = (userId: string) => `cache:${userId}:gen`;
// Keys are `task:<id>` or `list:<query>` (src/http/cached-json.ts), never `gen`.
const entryKey = (userId: string, key: string) => `cache:${userId}:${key}`;

/** An entry as stored: the generation it was read in and the value. */
type Entry = { g: string; v: unknown };

export interface CacheRead<T> {
  generation: string;
  value: T | null;
}

export async function readCache<T>(redis: Redis, userId: string, key: string): Promise<CacheRead<T>> {
  const [rawGeneration, entry] = await readScript(redis, [generationKey(userId), entryKey(userId, key)], []);
  // The SDK decodes replies that parse as JSON: the counter may come back as a number.
  const generation = String(rawGeneration);
  const current = isEntry(entry) && entry.g === generation;
  return { generation, value: current ? (entry.v as T) : null };
}

function isEntry(value: unknown): value is Entry {
  return typeof value === 'object' && value !== null && typeof (value as Entry).g === 'string' && 'v' in value;
}

/** Stores a value read under `generation`; a later read ignores it once the generation moved. */
export async function writeCache(
  redis: Redis,
  userId: string,
  generation: string,
  key: string,
  value: unknown,
): Promise<void> {
  const entry: Entry = { g: generation, v: value };
  await redis.set(entryKey(userId, key), entry, { ex: CACHE_TTL_SECONDS });
}

/** Retires every cached read of the user. */
export async function bumpGeneration(redis: Redis, userId: string): Promise<void> {
  await redis.incr(generationKey(userId));
}
