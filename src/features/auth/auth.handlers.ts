import type { Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { mayEmail } from './email-cap.ts';
import { AppError, type RateLimitState } from '../../lib/errors.ts';
import { describeError, log } from '../../lib/log.ts';
import { rateLimitHeaders } from '../../lib/rate-limit.ts';
import type { AppRouteHandler } from '../../http/route-handler.ts';
import { afterResponse, currentUserId } from '../../http/context.ts';
import type * as routes from './auth.routes.ts';
import * as auth from './auth.service.ts';
import * as sessions from '../sessions/sessions.service.ts';

export const register: AppRouteHandler<typeof routes.register> = async (c) => {
  const deps = c.get('deps');
  const { user, tokens, email } = await auth.registerUser(deps, c.req.valid('json'), clientInfo(c));
  afterResponse(c, async () => {
    if (await mayEmail(deps, email.to, c.get('requestId'))) await auth.sendQuietly(deps, email, c.get('requestId'));
  });
  // The user resource is read with the returned token at /auth/me (there is no /users/{id} route).
  c.header('Location', '/api/v1/auth/me');
  return c.json({ ...tokens, user }, 201);
};

export const login: AppRouteHandler<typeof routes.login> = async (c) => {
  const { user, tokens } = await auth.loginUser(c.get('deps'), c.req.valid('json'), clientInfo(c));
  return c.json({ ...tokens, user }, 200);
};

export const refresh: AppRouteHandler<typeof routes.refresh> = async (c) => {
  const deps = c.get('deps');
  const now = deps.clock.now();
  const rotation = await sessions.rotateSession(deps, c.req.valid('json').refresh_token, now);
  // Limited per session family, not per address (docs/decisions/0015-refresh-rotation-and-limit.md).
  const { limit, remaining, resetSeconds } = rotation.limit;
  const state = (left: number): RateLimitState => ({
    scope: 'family',
    limit,
    remaining: left,
    resetSeconds,
    windowSeconds: sessions.REFRESH_WINDOW_SECONDS,
  });
  if (rotation.limited) {
    const detail = `Too many refreshes: ${limit} per minute per session. Retry after ${resetSeconds} s.`;
    throw new AppError('RATE_LIMITED', detail, { retryAfterSeconds: resetSeconds, rateLimit: state(0) });
  }
  const tokens = await auth.tokenPair(deps, rotation.session, now);
  for (const [name, value] of Object.entries(rateLimitHeaders(state(remaining)))) c.header(name, value);
  return c.json(tokens, 200);
};

export const logout: AppRouteHandler<typeof routes.logout> = async (c) => {
  await sessions.endSessionOfToken(c.get('deps'), c.req.valid('json').refresh_token);
  return c.body(null, 204);
};

export const logoutAll: AppRouteHandler<typeof routes.logoutAll> = async (c) => {
  await sessions.endAllSessions(c.get('deps'), currentUserId(c));
  return c.body(null, 204);
};

export const me: AppRouteHandler<typeof routes.me> = async (c) => {
  return c.json(await auth.findUser(c.get('deps'), currentUserId(c)), 200);
};

export const updateMe: AppRouteHandler<typeof routes.updateMe> = async (c) => {
  return c.json(await auth.updateUser(c.get('deps'), currentUserId(c), c.req.valid('json')), 200);
};

export const verifyEmail: AppRouteHandler<typeof routes.verifyEmail> = async (c) => {
  return c.json(await auth.verifyEmail(c.get('deps'), c.req.valid('json').token), 200);
};

export const resendVerification: AppRouteHandler<typeof routes.resendVerification> = async (c) => {
  const deps = c.get('deps');
  const userId = currentUserId(c);
  const user = await auth.resendableUser(deps, userId);
  const expiresAt = auth.verificationExpiry(deps);
  // After the response, and only within the address's email cap: a capped request keeps the links
  // already sent working and answers exactly like one that sent (src/features/auth/email-cap.ts).
  afterResponse(c, async () => {
    if (!(await mayEmail(deps, user.email, c.get('requestId')))) return;
    let email;
    try {
      email = await auth.renewVerification(deps, userId, user.email, expiresAt);
    } catch (error) {
      log('error', 'verification not renewed', { request_id: c.get('requestId'), error: describeError(error) });
      return;
    }
    await auth.sendQuietly(deps, email, c.get('requestId'));
  });
  return c.json({ status: 'sent' as const, expires_at: expiresAt.toISOString() }, 202);
};

/** The session list's view of the client: its User-Agent and Cloudflare's coarse location. */
export function clientInfo(c: Context<AppEnv>): sessions.ClientInfo {
  const cf = c.req.raw.cf as { city?: unknown; country?: unknown } | undefined;
  const location = [cf?.city, cf?.country]
    .filter((part): part is string => typeof part === 'string' && part !== '')
    .join(', ');
  return { userAgent: c.req.header('User-Agent')?.slice(0, 200) ?? null, location: location || null };
}
