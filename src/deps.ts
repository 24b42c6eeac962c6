import { Redis } from '@upstash/redis/cloudflare';
import { createDatabase, type Database } from './db/client.ts';
import type { Bindings, Config } from './env.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { outboxEmail, resendEmail, type EmailSender } from './lib/email.ts';
import { uuidV7Ids, type IdGenerator } from './lib/ids.ts';
import type { NeonQueryFunction } from '@neondatabase/serverless';

/**
 * Everything with a side effect, behind small interfaces, made once per request from the config.
 * Tests replace any of them through createApp({ deps }).
 */
export interface Deps {
  config: Config;
  db: Database;
  sql: NeonQueryFunction<false, false>;
  redis: Redis;
  clock: Clock;
  ids: IdGenerator;
  email: EmailSender;
}

export type DepsOverrides = (config: Config, env: Bindings) => Partial<Deps>;

export function createDeps(config: Config, env: Bindings, overrides?: DepsOverrides): Deps {
  const { db, sql } = createDatabase(config.DATABASE_URL, config.NEON_FETCH_ENDPOINT);
  const deps: Deps = {
    config,
    db,
    sql,
    redis: createRedis(config),
    clock: systemClock,
    ids: uuidV7Ids,
    email: createEmail(config),
  };
  return { ...deps, ...overrides?.(config, env) };
}

/**
 * A client per request: auto-pipelining batches the commands one request issues together into one
 * round trip, and never mixes two requests' commands (so each request's count is its own).
 * A slow Upstash costs at most UPSTASH_TIMEOUT_MS and one quick retry, never the SDK's default
 * five retries with backoff (about 4 s).
 */
export function createRedis(config: Config): Redis {
  return new Redis({
    url: config.UPSTASH_REDIS_REST_URL,
    token: config.UPSTASH_REDIS_REST_TOKEN,
    enableTelemetry: false,
    enableAutoPipelining: true,
    retry: { retries: 1, backoff: () => 50 },
    signal: () => AbortSignal.timeout(config.UPSTASH_TIMEOUT_MS),
  });
}

function createEmail(config: Config): EmailSender {
  // The config schema guarantees the setting each provider needs.
  if (config.EMAIL_PROVIDER === 'resend') return resendEmail(config.RESEND_API_KEY ?? '', config.EMAIL_FROM);
  return outboxEmail(config.EMAIL_OUTBOX_URL ?? '');
}
