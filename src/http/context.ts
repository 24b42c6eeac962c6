import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';

/** The authenticated user's id; only for handlers of routes gated with `auth: 'user'`. */
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

/**
 * The one way to do work after the response (cache fills, the second invalidation, Idempotency-Key
 * records, emails, failed-login counts): the request context starts it through waitUntil once the
 * request is logged, so it never delays the client and is not counted as the request's round trips.
 */
export function afterResponse(c: Context<AppEnv>, work: () => Promise<unknown>): void {
  c.get('background').push(work);
}
