import type { Deps } from './deps.ts';
import type { Bindings } from './env.ts';
import type { CacheRead } from './lib/cache.ts';
import type { RateLimitState } from './lib/errors.ts';
import type { RequestIo } from './lib/io-accounting.ts';
import type { Trace } from './lib/trace.ts';

/**
 * Hono's environment for this app: the bindings and what middleware puts on the context. It names
 * types only from below it (lib, env, deps), so every layer can import it without a cycle.
 */
export interface AppEnv {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    trace: Trace;
    io: RequestIo;
    deps: Deps;
    /** Work to start once the response is accounted for (src/http/context.ts afterResponse). */
    background: (() => Promise<unknown>)[];
    /** Set by the request gate once the bearer token is verified. */
    userId?: string;
    /** The refresh-token family (session) the access token belongs to. */
    sessionId?: string;
    /** The user's time zone as the access token carries it (up to its lifetime old), when it does. */
    tokenTimeZone?: string;
    /** The cache entry the gate read beside the rate limit (null when the cache could not answer). */
    cacheRead?: (CacheRead<unknown> & { key: string }) | null;
    /** The limit that counted this request: error responses carry its RateLimit headers too. */
    rateLimit?: RateLimitState;
  };
}
