import { Ratelimit } from '@upstash/ratelimit';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../app-env.ts';
import { afterResponse } from '../http/context.ts';
import { HttpError } from '../http/http-error.ts';
import { bumpGeneration, readCache } from '../lib/cache.ts';
import { AppError, type RateLimitState } from '../lib/errors.ts';
import { claimKey, releaseKey, storeResult, type IdempotencyRecord } from '../lib/idempotency.ts';
import { bearerToken, jwtSettings, verifyAccessToken } from '../lib/jwt.ts';
import { describeError, log } from '../lib/log.ts';
import { clientKey, rateLimitHeaders } from '../lib/rate-limit.ts';
import { isRevoked } from '../lib/revocation.ts';
import { hashToken } from '../lib/tokens.ts';

/**
 * What a route needs before its handler runs, declared once per route (src/gate/route.ts turns the
 * same declaration into the route's OpenAPI responses and headers):
 *
 * - `auth: 'public'`: no token; the request counts against the per-address limit.
 *   `auth: 'user'`: a valid bearer access token of a session not ended; it counts against the
 *   per-user limit.
 * - `verified`: with REQUIRE_VERIFIED_EMAIL=true, refuse users whose token says their address is
 *   unverified (docs/decisions/0007-unverified-users.md).
 * - `cache`: a read names its cache key (src/http/cached-json.ts serves it); a write says
 *   `'invalidate'` and retires the user's cached reads, before the write and again after it.
 * - `idempotent`: honour an Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header).
 * - `cost`: how many requests this one counts as against the per-user limit (1 when absent), read
 *   from the request before it is validated (POST /api/v1/batch counts its commands).
 */
export type GateSpec = { auth: 'public' } | ({ auth: 'user' } & UserNeeds);

interface UserNeeds {
  verified?: boolean;
  cache?: CacheKey | 'invalidate';
  idempotent?: boolean;
  cost?: (c: Context<AppEnv>) => Promise<number>;
}

export type CacheKey = (c: Context<AppEnv>) => string | null;

/**
 * The request gate (docs/decisions/0024-request-gate.md). Every Upstash command of the request (the
 * rate limit, the session denylist, the cache read or invalidation, the Idempotency-Key claim) is
 * started in one tick, so the SDK's auto-pipeline sends them in one HTTP request (decision 0008),
 * and the outcomes are judged below in one fixed order. Checks that need no round trip (the token,
 * the Idempotency-Key's form) come first.
 */
export function gate(spec: GateSpec): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const user = spec.auth === 'user' ? await authenticate(c) : null;
    const { verified, cache, idempotent, cost }: UserNeeds = spec.auth === 'user' ? spec : {};
    const weight = user && cost ? await cost(c) : 1;
    const idempotency = user && idempotent ? await readIdempotencyKey(c, user.userId) : null;
    const cacheKey = typeof cache === 'function' ? cache(c) : null;
    const { redis, config } = c.get('deps');

    const [limit, revoked, cacheRead, invalidated, claim] = await Promise.all([
      user
        ? countRequest('user', user.userId, config.RATE_LIMIT_USER_PER_MINUTE, c, weight)
        : countRequest('ip', clientKey(c.req.header('CF-Connecting-IP')), config.RATE_LIMIT_IP_PER_MINUTE, c),
      user ? settle(isRevoked(redis, user.userId, user.sessionId)) : null,
      user && cacheKey !== null ? settle(readCache(redis, user.userId, cacheKey)) : null,
      user && cache === 'invalidate' ? settle(bumpGeneration(redis, user.userId)) : null,
      idempotency ? settle(claimKey(redis, idempotency.redisKey, idempotency.fingerprint)) : null,
    ]);

    // The claim is ours until the handler has answered: a refusal below must release it.
    const claimedHere = claim?.ok === true && claim.value === null;
    let answered: 'not' | 'replayed' | 'handled' = 'not';
    try {
      // 1. The rate limit (503 when the per-address limit cannot be checked, 429 when it is spent).
      judgeLimit(c, limit);
      // 2. The session denylist: an ended session or a deleted user (fails open, logged).
      if (revoked && !revoked.ok) warn(c, 'revocation check failed', revoked.error);
      if (revoked?.ok && revoked.value) throw new AppError('UNAUTHENTICATED', 'This session has ended. Log in again.');
      // 3. The verified address, from the token's claim: no round trip.
      if (user && verified && config.REQUIRE_VERIFIED_EMAIL && !user.emailVerified) {
        throw new AppError('EMAIL_NOT_VERIFIED', 'Verify your email address first, then refresh your tokens.');
      }
      // 4. The cache: a read that failed is a miss, an invalidation that failed is logged.
      if (cacheRead && !cacheRead.ok) warn(c, 'cache read failed', cacheRead.error);
      if (cacheKey !== null) c.set('cacheRead', cacheRead?.ok ? { ...cacheRead.value, key: cacheKey } : null);
      if (invalidated && !invalidated.ok) warn(c, 'cache invalidation failed', invalidated.error);
      // 5. The Idempotency-Key: a replay answers here, without the handler.
      const replay = claim && idempotency ? judgeClaim(c, claim, idempotency.fingerprint) : null;
      if (replay) {
        answered = 'replayed';
        c.res = replay;
        return;
      }
      answered = 'handled';
      await next();
    } finally {
      // Later handlers' errors are answered by hono before next() returns: c.res is the answer.
      const status = answered === 'not' ? 500 : c.res.status;
      // The second invalidation: a read racing the write may have cached the old data under the new
      // generation in between. Only after a write that went through.
      if (user && cache === 'invalidate' && status < 400) {
        afterResponse(c, () =>
          bumpGeneration(redis, user.userId).catch((error: unknown) => warn(c, 'cache invalidation failed', error)),
        );
      }
      if (claimedHere && idempotency) await settleClaim(c, idempotency, answered === 'handled');
    }
  };
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Every gate promise settles, so a failing Upstash never leaves a rejection unhandled. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

function warn(c: Context<AppEnv>, msg: string, error: unknown): void {
  log('warn', msg, { request_id: c.get('requestId'), error: describeError(error) });
}

// --- authentication -----------------------------------------------------------------------------

interface TokenUser {
  userId: string;
  sessionId: string;
  emailVerified: boolean;
}

/**
 * A valid access token in the Authorization header (never the query string). Every 401 carries the
 * RFC 6750 challenge: the error handler adds it, with `invalid_token` unless no token came at all.
 */
async function authenticate(c: Context<AppEnv>): Promise<TokenUser> {
  const deps = c.get('deps');
  const token = bearerToken(c.req.header('Authorization'));
  if (!token) {
    throw new HttpError('UNAUTHENTICATED', 'A bearer access token is required.', {
      'WWW-Authenticate': 'Bearer realm="edgetask"',
    });
  }
  let claims;
  try {
    claims = await verifyAccessToken(token, jwtSettings(deps.config), deps.clock.now());
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    throw new AppError('UNAUTHENTICATED', 'The access token is invalid or expired.');
  }
  c.set('userId', claims.sub);
  c.set('sessionId', claims.sid);
  if (claims.tz !== undefined) c.set('tokenTimeZone', claims.tz);
  return { userId: claims.sub, sessionId: claims.sid, emailVerified: claims.ev === true };
}

// --- rate limits --------------------------------------------------------------------------------

/**
 * Per-address limits on the public routes (the brute-force surface) and per-user limits on the
 * others, with @upstash/ratelimit's sliding window on the request's shared Redis client.
 *
 * Failure policy (docs/decisions/0006-rate-limit-failure-policy.md): the limiter waits at most
 * UPSTASH_TIMEOUT_MS. When Upstash is slow or down, per-user limits fail OPEN (the request goes on,
 * logged) and per-address limits fail CLOSED (503 with Retry-After), because a password-guessing
 * attack must not get unlimited attempts just because Redis is away.
 */
type Scope = 'ip' | 'user';

const WINDOW_SECONDS = 60;

// Blocked identifiers are remembered per isolate, so a client hammering past its limit costs no
// Redis call until its window resets.
const blockedCache: Record<Scope, Map<string, number>> = { ip: new Map(), user: new Map() };

type LimitOutcome = { scope: Scope; limit: number } & (
  { ok: true; success: boolean; remaining: number; reset: number } | { ok: false; reason: string }
);

async function countRequest(
  scope: Scope,
  identifier: string,
  limit: number,
  c: Context<AppEnv>,
  weight = 1,
): Promise<LimitOutcome> {
  const { redis, config } = c.get('deps');
  const limiter = new Ratelimit({
    redis,
    limiter: Ratelimit.slidingWindow(limit, `${WINDOW_SECONDS} s`),
    prefix: `rl:${scope}`,
    ephemeralCache: blockedCache[scope],
    timeout: config.UPSTASH_TIMEOUT_MS,
    analytics: false,
  });
  try {
    const result = await limiter.limit(identifier, weight === 1 ? undefined : { rate: weight });
    if (result.reason === 'timeout') return { scope, limit, ok: false, reason: 'timed out' };
    return { scope, limit, ok: true, success: result.success, remaining: result.remaining, reset: result.reset };
  } catch (error) {
    return { scope, limit, ok: false, reason: error instanceof Error ? error.message : 'unknown error' };
  }
}

function judgeLimit(c: Context<AppEnv>, outcome: LimitOutcome): void {
  const { scope, limit } = outcome;
  if (!outcome.ok) {
    log('warn', 'rate limiter unavailable', {
      request_id: c.get('requestId'),
      scope,
      reason: outcome.reason,
      policy: scope === 'ip' ? 'fail closed' : 'fail open',
    });
    if (scope === 'ip') {
      const detail = 'The service cannot check request limits right now. Retry shortly.';
      throw new AppError('DEPENDENCY_UNAVAILABLE', detail, { retryAfterSeconds: 5 });
    }
    return;
  }
  const resetSeconds = Math.max(1, Math.ceil((outcome.reset - Date.now()) / 1000));
  const state: RateLimitState = {
    scope,
    limit,
    remaining: outcome.success ? outcome.remaining : 0,
    resetSeconds,
    windowSeconds: WINDOW_SECONDS,
  };
  // On the context too: the error handler adds the headers to the error responses it builds.
  c.set('rateLimit', state);
  for (const [name, value] of Object.entries(rateLimitHeaders(state))) c.header(name, value);
  if (!outcome.success) {
    const who = scope === 'ip' ? 'client address' : 'user';
    throw new AppError(
      'RATE_LIMITED',
      `Too many requests: ${limit} per minute per ${who}. Retry after ${resetSeconds} s.`,
      { retryAfterSeconds: resetSeconds },
    );
  }
}

// --- Idempotency-Key ----------------------------------------------------------------------------

/**
 * The first response to a key is kept 24 h per user; a retry with the same key and the same request
 * gets it again without the work being redone, the same key with another request gets 422, and a
 * retry while the first still runs gets 409. Requests without the header pay nothing.
 */

/** Printable ASCII without spaces, bounded: the draft's sf-string, quoted or not. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** Response headers a replay repeats; the rest (rate limit, request id, timing) are the retry's own. */
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'];

async function readIdempotencyKey(
  c: Context<AppEnv>,
  userId: string,
): Promise<{ redisKey: string; fingerprint: string } | null> {
  const header = c.req.header('Idempotency-Key');
  if (header === undefined) return null;
  const key = header.length >= 2 && header.startsWith('"') && header.endsWith('"') ? header.slice(1, -1) : header;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new AppError('VALIDATION_FAILED', 'The Idempotency-Key header is not valid.', {
      errors: [{ pointer: '/header/Idempotency-Key', message: 'Must be 1 to 255 visible ASCII characters' }],
    });
  }
  const requestBody = await c.req.text();
  // The same key means the same request: method, path, precondition and body.
  const fingerprint = hashToken(`${c.req.method} ${c.req.path}\n${c.req.header('If-Match') ?? ''}\n${requestBody}`);
  return { redisKey: `idem:${userId}:${hashToken(key)}`, fingerprint };
}

/** The stored answer to replay, or null when this request claimed the key and does the work. */
function judgeClaim(
  c: Context<AppEnv>,
  claim: Settled<IdempotencyRecord | null>,
  fingerprint: string,
): Response | null {
  // The client asked for exactly-once: without Upstash that cannot be promised, so no work is done.
  if (!claim.ok) {
    warn(c, 'idempotency store unavailable', claim.error);
    throw new AppError('DEPENDENCY_UNAVAILABLE', 'Idempotency-Key cannot be honoured right now. Retry shortly.', {
      retryAfterSeconds: 5,
    });
  }
  const existing = claim.value;
  if (existing === null) return null;
  if (existing.fingerprint !== fingerprint) {
    throw new AppError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used for a different request. Use a new key for a new request.',
    );
  }
  if (existing.state === 'running') {
    throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'The first request with this Idempotency-Key is still running.', {
      retryAfterSeconds: 1,
    });
  }
  for (const [name, value] of Object.entries(existing.headers)) c.header(name, value);
  c.header('Idempotent-Replayed', 'true');
  if (existing.body === null) return c.body(null, existing.status as StatusCode);
  return c.body(existing.body, existing.status as ContentfulStatusCode);
}

/**
 * After the handler: keep the answer for retries, or release the key when there is no answer worth
 * keeping (a refusal before the handler, or a failure of ours), so a retry runs the work again.
 * The body is read now (it is in memory), so the store goes out in the same tick as the other
 * after-response work and shares its Upstash request.
 */
async function settleClaim(
  c: Context<AppEnv>,
  { redisKey, fingerprint }: { redisKey: string; fingerprint: string },
  handled: boolean,
): Promise<void> {
  const { redis } = c.get('deps');
  const res = c.res;
  if (!handled || res.status >= 500) {
    afterResponse(c, () => releaseKey(redis, redisKey).catch((error: unknown) => warnStore(c, error)));
    return;
  }
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = res.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const body = res.body ? await res.clone().text() : null;
  const record: IdempotencyRecord = { state: 'done', fingerprint, status: res.status, headers, body };
  afterResponse(c, () => storeResult(redis, redisKey, record).catch((error: unknown) => warnStore(c, error)));
}

function warnStore(c: Context<AppEnv>, error: unknown): void {
  warn(c, 'idempotency store unavailable', error);
}
