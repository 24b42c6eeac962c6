import type { Redis } from '@upstash/redis/cloudflare';
import { redisScript } from './redis-script.ts';

/**
 * Access tokens are stateless for 15 minutes; ending a session (logout, another device removed,
 * password changed or reset) or deleting the account must stop them at once. Ended sessions and
 * deleted users go on a short denylist in Upstash, kept as long as an access token can live.
 *
 * The check is an EVALSHA, so it travels in the same auto-pipelined request as the rate limiter's
 * (a plain EXISTS is a "read" to the SDK and would go in a request of its own). It touches only the
 * keys it declares and says so (`allow-key-locking`), so Upstash locks those two keys, not the
 * whole database (docs/decisions/0025-upstash-key-locking.md).
 */

const checkScript = redisScript<[number, number]>(`#!lua flags=allow-key-locking
return {redis.call('EXISTS', KEYS[1]), redis.call('EXISTS', KEYS[2])}`);

/** The longest an access token lives, plus the clock skew we accept. */
const DENY_SECONDS = 900 + 30;

const sessionKey = (sessionId: string) => `revoked:session:${sessionId}`;
const userKey = (userId: string) => `revoked:user:${userId}`;

export async function isRevoked(redis: Redis, userId: string, sessionId: string): Promise<boolean> {
  const [session, user] = await checkScript(redis, [sessionKey(sessionId), userKey(userId)], []);
  return session === 1 || user === 1;
}

export async function denySessions(redis: Redis, sessionIds: string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  const pipeline = redis.pipeline();
  for (const id of new Set(sessionIds)) pipeline.set(sessionKey(id), 1, { ex: DENY_SECONDS });
  await pipeline.exec();
}

export async function denyUser(redis: Redis, userId: string): Promise<void> {
  await redis.set(userKey(userId), 1, { ex: DENY_SECONDS });
}
