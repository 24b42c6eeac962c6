import type { Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { mayEmail } from '../../lib/email-cap.ts';
import { AppError } from '../../lib/errors.ts';
import { describeError, log } from '../../lib/log.ts';
import type { AppRouteHandler } from '../../lib/route-handler.ts';
import { currentUserId } from '../../middleware/auth.ts';
import { afterResponse } from '../../middleware/request-context.ts';
import type * as routes from './auth.routes.ts';
import * as sessions from '../sessions/sessions.service.ts';
import {
  findUser,
  loginUser,
  registerUser,
  renewVerification,
  resendableUser,
  sendQuietly,
  tokenPair,
  verificationExpiry,
  verifyEmail as redeemVerification,
} from './auth.service.ts';

export const register: AppRouteHandler<typeof routes.register> = async (c) => {
  const deps = c.get('deps');
  const { user, tokens, email } = await registerUser(deps, c.req.valid('json'), clientInfo(c));
  afterResponse(c, async () => {
    if (await mayEmail(deps, email.to, c.get('requestId'))) await sendQuietly(deps, email, c.get('requestId'));
  });
  c.header('Cache-Control', 'no-store');
  // The user resource is read with the returned token at /auth/me (there is no /users/{id} route).
  c.header('Location', '/api/v1/auth/me');
  return c.json({ ...tokens, user }, 201);
};

export const login: AppRouteHandler<typeof routes.login> = async (c) => {
  const { user, tokens } = await loginUser(c.get('deps'), c.req.valid('json'), clientInfo(c));
  c.header('Cache-Control', 'no-store');
  return c.json({ ...tokens, user }, 200);
};

export const refresh: AppRouteHandler<typeof routes.refresh> = async (c) => {
  const deps = c.get('deps');
  const now = deps.clock.now();
  const rotation = await sessions.rotateSession(deps, c.req.valid('json').refresh_token, now);
  // Limited per session family, not per address (docs/decisions/0015-refresh-rotation-and-limit.md).
  const { limit, remaining, resetSeconds } = rotation.limit;
  const policy = `"family";q=${limit};w=${sessions.REFRESH_WINDOW_SECONDS}`;
  const rateLimit = { 'RateLimit-Policy': policy, RateLimit: `"family";r=${remaining};t=${resetSeconds}` };
  if (rotation.limited) {
    const detail = `Too many refreshes: ${limit} per minute per session. Retry after ${resetSeconds} s.`;
    throw new AppError('RATE_LIMITED', detail, { headers: { 'Retry-After': String(resetSeconds), ...rateLimit } });
  }
  const tokens = await tokenPair(deps, rotation.session, now);
  for (const [name, value] of Object.entries(rateLimit)) c.header(name, value);
  c.header('Cache-Control', 'no-store');
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
  return c.json(await findUser(c.get('deps'), currentUserId(c)), 200);
};

export const verifyEmail: AppRouteHandler<typeof routes.verifyEmail> = async (c) => {
  return c.json(await redeemVerification(c.get('deps'), c.req.valid('json').token), 200);
};

export const resendVerification: AppRouteHandler<typeof routes.resendVerification> = async (c) => {
  const deps = c.get('deps');
  const userId = currentUserId(c);
  const user = await resendableUser(deps, userId);
  const expiresAt = verificationExpiry(deps);
  // After the response, and only within the address's email cap: a capped request keeps the links
  // already sent working and answers exactly like one that sent (src/lib/email-cap.ts).
  afterResponse(c, async () => {
    if (!(await mayEmail(deps, user.email, c.get('requestId')))) return;
    let email;
    try {
      email = await renewVerification(deps, userId, user.email, expiresAt);
    } catch (error) {
      log('error', 'verification not renewed', { request_id: c.get('requestId'), error: describeError(error) });
      return;
    }
    await sendQuietly(deps, email, c.get('requestId'));
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
