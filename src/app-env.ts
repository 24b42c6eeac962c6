import type { Deps } from './deps.ts';
import type { CacheRead } from './lib/cache.ts';
import type { Bindings } from './env.ts';
import type { RequestIo } from './lib/io-accounting.ts';
import type { IdempotencyState } from './middleware/idempotency.ts';
import type { Trace } from './middleware/request-context.ts';

/** Hono's environment for this app: the bindings and what middleware puts on the context. */
export interface AppEnv {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    trace: Trace;
    io: RequestIo;
    deps: Deps;
    /** Set by the auth middleware once the bearer token is verified. */
    userId?: string;
    /** The refresh-token family (session) the access token belongs to. */
    sessionId?: string;
    /** The access token's `ev` claim: the email address was verified when it was issued. */
    emailVerified?: boolean;
    /** The cache read started beside the rate-limit check (null when the cache could not answer). */
    cacheRead?: Promise<CacheRead<unknown> | null>;
    /** Work to start once the response is accounted for (see afterResponse). */
    background: (() => Promise<unknown>)[];
    /** The request's Idempotency-Key handling, when it sent one on a route that honours it. */
    idempotency?: IdempotencyState;
    /** RateLimit headers, kept here so error responses carry them too. */
    rateLimitHeaders?: Record<string, string>;
  };
}
