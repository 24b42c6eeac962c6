import { mayEmail } from '../auth/email-cap.ts';
import type { AppRouteHandler } from '../../http/route-handler.ts';
import { afterResponse, currentSessionId, currentUserId } from '../../http/context.ts';
import { sendQuietly } from '../auth/auth.service.ts';
import * as sessions from '../sessions/sessions.service.ts';
import type * as routes from './account.routes.ts';
import { exportAccountStream } from './account.export.ts';
import * as account from './account.service.ts';

export const changePassword: AppRouteHandler<typeof routes.changePassword> = async (c) => {
  await account.changePassword(c.get('deps'), currentUserId(c), currentSessionId(c), c.req.valid('json'));
  return c.body(null, 204);
};

export const forgotPassword: AppRouteHandler<typeof routes.forgotPassword> = async (c) => {
  const deps = c.get('deps');
  const { email } = c.req.valid('json');
  const message = await account.requestPasswordReset(deps, email);
  // After the response: whether an email goes out must not show in the answer or its timing.
  afterResponse(c, async () => {
    if (!message || !(await mayEmail(deps, email, c.get('requestId')))) return;
    await sendQuietly(deps, message, c.get('requestId'));
  });
  return c.json({ status: 'accepted' as const }, 202);
};

export const resetPassword: AppRouteHandler<typeof routes.resetPassword> = async (c) => {
  await account.resetPassword(c.get('deps'), c.req.valid('json'));
  return c.body(null, 204);
};

export const listSessions: AppRouteHandler<typeof routes.listSessions> = async (c) =>
  c.json({ items: await sessions.listSessions(c.get('deps'), currentUserId(c), currentSessionId(c)) }, 200);

export const endSession: AppRouteHandler<typeof routes.endSession> = async (c) => {
  await sessions.endSession(c.get('deps'), currentUserId(c), c.req.valid('param').session_id);
  return c.body(null, 204);
};

export const exportAccount: AppRouteHandler<typeof routes.exportAccount> = async (c) => {
  const body = await exportAccountStream(c.get('deps'), currentUserId(c));
  return c.body(body, 200, {
    'Content-Type': 'application/json',
    'Content-Disposition': 'attachment; filename="edgetask-export.json"',
  }) as never;
};

export const deleteAccount: AppRouteHandler<typeof routes.deleteAccount> = async (c) => {
  await account.deleteAccount(c.get('deps'), currentUserId(c), c.req.valid('json').password, (work) => {
    afterResponse(c, work);
  });
  return c.body(null, 204);
};
