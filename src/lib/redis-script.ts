import { sha1 } from '@noble/hashes/legacy.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Redis } from '@upstash/redis/cloudflare';

/**
 * A Lua script run by EVALSHA, falling back to EVAL (which loads it) the first time a Redis has not
 * seen it. The command is issued in the caller's tick, so the SDK's auto-pipeline sends it with the
 * rest of the request's Redis work (the rate limiter's own EVALSHA): the SDK's `createScript`
 * awaits an asynchronous SHA-1 first and would miss that batch.
 */
export function redisScript<R>(source: string): (redis: Redis, keys: string[], args: string[]) => Promise<R> {
  const sha = bytesToHex(sha1(new TextEncoder().encode(source)));
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha<string[], R>(sha, keys, args);
    } catch (error) {
      if (!String(error).includes('NOSCRIPT')) throw error;
      return await redis.eval<string[], R>(source, keys, args);
    }
  };
}
