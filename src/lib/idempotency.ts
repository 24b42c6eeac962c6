import type { Redis } from '@upstash/redis/cloudflare';
import { redisScript } from './redis-script.ts';

/**
 * Storage for Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) in Upstash. A record is
 * claimed as `running` for a short lease before the work starts and replaced by the finished
 * response afterwards, kept 24 h. The claim is one EVALSHA, so it travels in the rate limiter's
 * auto-pipelined request: a keyed request costs no round trip on the request path beyond it. It
 * locks only its key (`allow-key-locking`: docs/decisions/0025-upstash-key-locking.md).
 */

/** How long a claim holds when the Worker dies before finishing: then a retry may run again. */
export const LEASE_SECONDS = 60;
export const KEEP_SECONDS = 24 * 60 * 60;

const claimScript = redisScript<unknown>(`#!lua flags=allow-key-locking
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false`);

export type IdempotencyRecord =
  | { state: 'running'; fingerprint: string }
  | {
      state: 'done';
      fingerprint: string;
      status: number;
      headers: Record<string, string>;
      body: string | null;
    };

/** Claims the key for this request; returns the record already there instead, if any. */
export async function claimKey(redis: Redis, key: string, fingerprint: string): Promise<IdempotencyRecord | null> {
  const existing = await claimScript(
    redis,
    [key],
    [JSON.stringify({ state: 'running', fingerprint }), String(LEASE_SECONDS)],
  );
  if (existing === null || existing === undefined) return null;
  // The SDK decodes JSON it recognises; a string is the record still encoded.
  return (typeof existing === 'string' ? JSON.parse(existing) : existing) as IdempotencyRecord;
}

export async function storeResult(redis: Redis, key: string, record: IdempotencyRecord): Promise<void> {
  await redis.set(key, JSON.stringify(record), { ex: KEEP_SECONDS });
}

export async function releaseKey(redis: Redis, key: string): Promise<void> {
  await redis.del(key);
}
