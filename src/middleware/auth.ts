import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { Config } from '../env.ts';
import { AppError } from '../lib/errors.ts';
import { bearerToken, verifyAccessToken, type JwtSettings } from '../lib/jwt.ts';

/** The authenticated user's id; only for handlers behind requireAuth (else a wiring bug). */
export function currentUserId(c: Context<AppEnv>): string {
  const userId = c.get('userId');
  if (!userId) throw new Error('route reached without authentication');
  return userId;
}

/** The session (refresh-token family) of the request's access token; same precondition. */
export function currentSessionId(c: Context<AppEnv>): string {
  const sessionId = c.get('sessionId');
  if (!sessionId) throw new Error('route reached without authentication');
  return sessionId;
}

export function jwtSettings(config: Config): JwtSettings {
  return { keys: config.JWT_KEYS, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };
}

/**
 * Requires a valid access token in the Authorization header (never the query string) and puts the
 * user and session ids on the context. Every 401 carries the RFC 6750 challenge.
 */
export function requireAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const deps = c.get('deps');
    const token = bearerToken(c.req.header('Authorization'));
    if (!token) {
      throw new AppError('UNAUTHENTICATED', 'A bearer access token is required.', {
        headers: { 'WWW-Authenticate': 'Bearer realm="edgetask"' },
      });
    }
    try {
      const claims = await verifyAccessToken(token, jwtSettings(deps.config), deps.clock.now());
      c.set('userId', claims.sub);
      c.set('sessionId', claims.sid);
      c.set('emailVerified', claims.ev);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      throw new AppError('UNAUTHENTICATED', 'The access token is invalid or expired.', {
        headers: { 'WWW-Authenticate': 'Bearer realm="edgetask", error="invalid_token"' },
      });
    }
    await next();
  };
}

/**
 * With REQUIRE_VERIFIED_EMAIL=true, task and category routes refuse users whose token says their
 * address is unverified (docs/decisions/0007-unverified-users.md). The claim is in the access token,
 * so the check costs no round trip; a user who just verified gets it with the next refresh.
 */
export function requireVerifiedEmail(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get('deps').config.REQUIRE_VERIFIED_EMAIL && c.get('emailVerified') !== true) {
      throw new AppError('EMAIL_NOT_VERIFIED', 'Verify your email address first, then refresh your tokens.');
    }
    await next();
  };
}
