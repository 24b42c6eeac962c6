import type { Redis } from '@upstash/redis/cloudflare';

/**
 * What Upstash holds for one user, by key prefix: cached reads and the cache generation counter
 * (src/lib/cache.ts), Idempotency-Key records, which hold task text (src/lib/idempotency.ts), and
 * the per-user rate-limit windows. The access-token denylist entry (`revoked:user:<id>`) is not on
 * the list: it is what refuses a deleted user's tokens until they expire (15 minutes).
 */
export const USER_KEY_PATTERNS = (userId: string) => [`cache:${userId}:*`, `idem:${userId}:*`, `rl:user:${userId}:*`];

/** Keys scanned per SCAN call. */
const SCAN_COUNT = 1000;

/**
 * Deletes every key of the user from Upstash. Key names are not indexed per user, so this walks the
 * keyspace with SCAN (one request per SCAN_COUNT keys visited, per pattern), which is why it runs
 * after the response; the cost grows with the whole keyspace (docs/decisions/0014, limits).
 * Returns how many keys it deleted.
 */
export async function purgeUserData(redis: Redis, userId: string): Promise<number> {
  let deleted = 0;
  for (const match of USER_KEY_PATTERNS(userId)) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, { match, count: SCAN_COUNT });
      if (keys.length > 0) deleted += await redis.del(...keys);
      cursor = String(next);
    } while (cursor !== '0');
  }
  return deleted;
}
