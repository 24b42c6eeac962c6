import { Ratelimit } from '@upstash/ratelimit';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { AppError } from '../lib/errors.ts';
import { describeError, log } from '../lib/log.ts';
import { isRevoked } from '../lib/revocation.ts';

/**
 * Per-IP limits on the unauthenticated routes (the brute-force surface) and per-user limits on the
 * authenticated ones, with @upstash/ratelimit's sliding window on the request's shared Redis client.
 *
 * Failure policy (docs/decisions/0006-rate-limit-failure-policy.md): the limiter waits at most
 * UPSTASH_TIMEOUT_MS. When Upstash is slow or down, per-user limits fail OPEN (the request goes on,
 * logged) and per-IP limits fail CLOSED (503 with Retry-After), because a password-guessing attack
 * must not get unlimited attempts just because Redis is away.
 */

type Scope = 'ip' | 'user';

// Blocked identifiers are remembered per isolate, so a client hammering past its limit costs no
// Redis call until its window resets.
const blockedCache: Record<Scope, Map<string, number>> = { ip: new Map(), user: new Map() };

const WINDOW_SECONDS = 60;

/**
 * `alongside` is Redis work of the same request (a cache read, an invalidation) started in the same
 * tick as the limiter's EVALSHA, so the SDK's auto-pipeline sends both in one HTTP request.
 */
async function enforce(
  c: Parameters<MiddlewareHandler<AppEnv>>[0],
  scope: Scope,
  identifier: string,
  limit: number,
  alongside?: () => Promise<unknown>,
): Promise<void> {
  const deps = c.get('deps');
  const limiter = new Ratelimit({
    redis: deps.redis,
    limiter: Ratelimit.slidingWindow(limit, `${WINDOW_SECONDS} s`),
    prefix: `rl:${scope}`,
    ephemeralCache: blockedCache[scope],
    timeout: deps.config.UPSTASH_TIMEOUT_MS,
    analytics: false,
  });

  let result: Awaited<ReturnType<Ratelimit['limit']>>;
  try {
    [result] = await Promise.all([limiter.limit(identifier), alongside?.()]);
  } catch (error) {
    return failure(c, scope, error instanceof Error ? error.message : 'unknown error');
  }
  if (result.reason === 'timeout') return failure(c, scope, 'timed out');

  const resetSeconds = Math.max(1, Math.ceil((result.reset - Date.now()) / 1000));
  const headers = {
    'RateLimit-Policy': `"${scope}";q=${limit};w=${WINDOW_SECONDS}`,
    RateLimit: `"${scope}";r=${result.success ? Math.max(0, result.remaining) : 0};t=${resetSeconds}`,
  };
  // On the context too: the error handler builds its own responses and adds these to them.
  c.set('rateLimitHeaders', headers);
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  if (!result.success) {
    const who = scope === 'ip' ? 'client address' : 'user';
    throw new AppError(
      'RATE_LIMITED',
      `Too many requests: ${limit} per minute per ${who}. Retry after ${resetSeconds} s.`,
      {
        headers: { 'Retry-After': String(resetSeconds) },
      },
    );
  }
}

function failure(c: Parameters<MiddlewareHandler<AppEnv>>[0], scope: Scope, reason: string): void {
  log('warn', 'rate limiter unavailable', {
    request_id: c.get('requestId'),
    scope,
    reason,
    policy: scope === 'ip' ? 'fail closed' : 'fail open',
  });
  if (scope === 'ip') {
    throw new AppError('DEPENDENCY_UNAVAILABLE', 'The service cannot check request limits right now. Retry shortly.', {
      headers: { 'Retry-After': '5' },
    });
  }
}

/**
 * The client's address as Cloudflare saw it. Only CF-Connecting-IP counts (X-Forwarded-For is
 * whatever the client wrote). IPv6 clients are keyed by their /64, which one subscriber usually
 * holds whole.
 */
export function clientKey(header: string | undefined): string {
  const ip = (header ?? '').trim();
  if (!ip) return 'unknown';
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = ip.includes('::') ? 8 - headGroups.length - tailGroups.length : 0;
  const groups = [...headGroups, ...Array<string>(Math.max(0, missing)).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

export function rateLimitByIp(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const config = c.get('deps').config;
    await enforce(c, 'ip', clientKey(c.req.header('CF-Connecting-IP')), config.RATE_LIMIT_IP_PER_MINUTE);
    await next();
  };
}

/**
 * The per-user limit, and in the same Upstash request the check that the token's session was not
 * ended (src/lib/revocation.ts) plus any `alongside` work. If Upstash cannot answer, the request
 * goes on (fail open, logged): the limit and the denylist protect for minutes, not forever.
 */
export function rateLimitByUser(
  alongside?: (c: Context<AppEnv>, userId: string) => Promise<unknown>,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const userId = c.get('userId');
    const sessionId = c.get('sessionId');
    if (!userId || !sessionId) throw new Error('rateLimitByUser needs the auth middleware before it');
    let revoked = false;
    const checks = () =>
      Promise.all([
        isRevoked(c.get('deps').redis, userId, sessionId).then(
          (answer) => {
            revoked = answer;
          },
          (error: unknown) => {
            log('warn', 'revocation check failed', { request_id: c.get('requestId'), error: describeError(error) });
          },
        ),
        alongside?.(c, userId),
        // An Idempotency-Key claim (src/middleware/idempotency.ts); it records its own failure.
        c.get('idempotency')?.claim(),
      ]);
    await enforce(c, 'user', userId, c.get('deps').config.RATE_LIMIT_USER_PER_MINUTE, checks);
    if (revoked) {
      throw new AppError('UNAUTHENTICATED', 'This session has ended. Log in again.', {
        headers: { 'WWW-Authenticate': 'Bearer realm="edgetask", error="invalid_token"' },
      });
    }
    await next();
  };
}
