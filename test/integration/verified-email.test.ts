import { z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { gatedRoute } from '../../src/gate/route.ts';
import { json as jsonContent } from '../../src/lib/openapi.ts';
import { bearer, register, verificationTokenFor } from '../helpers/auth.ts';
import { json, setupTestApp } from '../helpers/test-app.ts';

// A route gated as the task routes are (a verified address when REQUIRE_VERIFIED_EMAIL is on).
function addProtectedProbe(app: App): void {
  app.openapi(
    gatedRoute(
      { auth: 'user', verified: true },
      {
        method: 'get',
        path: '/api/v1/_probe/tasks',
        responses: { 200: { description: 'ok', content: jsonContent(z.object({ ok: z.boolean() })) } },
      },
    ),
    (c) => c.json({ ok: true }, 200),
  );
}

describe('REQUIRE_VERIFIED_EMAIL', () => {
  it('is off by default: an unverified user may use task routes (the plan: registration returns working tokens)', async () => {
    const app = await setupTestApp({ extend: addProtectedProbe });
    const user = await register(app);
    expect((await app.request('/api/v1/_probe/tasks', bearer(user.accessToken))).status).toBe(200);
  });

  it('when on: 403 EMAIL_NOT_VERIFIED until verified; the next refresh carries the verification', async () => {
    const app = await setupTestApp({ extend: addProtectedProbe, env: { REQUIRE_VERIFIED_EMAIL: 'true' } });
    const user = await register(app);
    const denied = await app.request('/api/v1/_probe/tasks', bearer(user.accessToken));
    expect(denied.status).toBe(403);
    expect((await denied.json<{ code: string }>()).code).toBe('EMAIL_NOT_VERIFIED');
    // Account routes stay open, so the user can verify and resend.
    expect((await app.request('/api/v1/auth/me', bearer(user.accessToken))).status).toBe(200);

    const token = await verificationTokenFor(app, user.email);
    expect((await app.request('/api/v1/auth/verify-email', json({ token }))).status).toBe(200);
    const refreshed = await (
      await app.request('/api/v1/auth/refresh', json({ refresh_token: user.refreshToken }))
    ).json<{ access_token: string }>();
    expect((await app.request('/api/v1/_probe/tasks', bearer(refreshed.access_token))).status).toBe(200);

    const login = await (
      await app.request('/api/v1/auth/login', json({ email: user.email, password: user.password }))
    ).json<{ access_token: string }>();
    expect((await app.request('/api/v1/_probe/tasks', bearer(login.access_token))).status).toBe(200);
  });
});
