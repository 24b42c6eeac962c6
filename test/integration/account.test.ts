import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, PASSWORD, register, uniqueEmail, type Registered } from '../helpers/auth.ts';
import { hashToken } from '../../src/lib/tokens.ts';
import { as, createCategory, createTask, type Problem } from '../helpers/tasks.ts';
import { json, setupTestApp, TestClock, type TestApp } from '../helpers/test-app.ts';

const NEW_PASSWORD = 'another horse 77';

let app: TestApp;
let clock: TestClock;
beforeAll(async () => {
  clock = new TestClock();
  app = await setupTestApp({ deps: () => ({ clock }) });
});

const login = (email: string, password: string, headers: Record<string, string> = {}) =>
  app.request('/api/v1/auth/login', json({ email, password }, { headers }));
const refresh = (token: string) => app.request('/api/v1/auth/refresh', json({ refresh_token: token }));

async function resetTokenFor(email: string): Promise<string> {
  const mail = (await app.outbox(email)).filter((m) => m.kind === 'password-reset').at(-1);
  const token = /code in the app: ([A-Za-z0-9_-]{43})/.exec(mail?.text ?? '')?.[1];
  expect(token, `no reset email to ${email}`).toBeDefined();
  return token ?? '';
}

describe('change-password', () => {
  it('needs the current password, sets the new one, ends every other session and keeps this one', async () => {
    const user = await register(app);
    const other = await (await login(user.email, PASSWORD)).json<{ access_token: string; refresh_token: string }>();
    const wrong = await app.request(
      '/api/v1/auth/change-password',
      json({ current_password: 'not it 123', new_password: NEW_PASSWORD }, bearer(user.accessToken)),
    );
    expect(wrong.status).toBe(403);
    expect((await wrong.json<Problem>()).code).toBe('PASSWORD_MISMATCH');

    const res = await app.request(
      '/api/v1/auth/change-password',
      json({ current_password: PASSWORD, new_password: NEW_PASSWORD }, bearer(user.accessToken)),
    );
    expect(res.status).toBe(204);
    const familyOf = async (token: string) =>
      (await app.sql`select family_id from refresh_tokens where token_hash = ${hashToken(token)}`)[0]
        ?.family_id as string;
    const [mine, theirs] = [await familyOf(user.refreshToken), await familyOf(other.refresh_token)];
    expect(
      await app.sql`select family_id, revoked_reason from refresh_tokens where user_id = ${user.userId} order by family_id = ${mine}`,
    ).toEqual([
      { family_id: theirs, revoked_reason: 'password_change' },
      { family_id: mine, revoked_reason: null },
    ]);
    expect((await login(user.email, PASSWORD)).status).toBe(401);
    expect((await login(user.email, NEW_PASSWORD)).status).toBe(200);
    // The other session: its refresh and its access token stop working now.
    const ended = await refresh(other.refresh_token);
    expect(ended.status).toBe(403);
    expect((await ended.json<Problem>()).code).toBe('REFRESH_TOKEN_REVOKED');
    expect((await app.request('/api/v1/auth/me', bearer(other.access_token))).status).toBe(401);
    // This session goes on.
    expect((await app.request('/api/v1/auth/me', bearer(user.accessToken))).status).toBe(200);
    expect((await refresh(user.refreshToken)).status).toBe(200);
  });

  it('400 for a weak new password; 401 without a token', async () => {
    const user = await register(app);
    const [before] = await app.sql`select password_hash from users where id = ${user.userId}`;
    const weak = await app.request(
      '/api/v1/auth/change-password',
      json({ current_password: PASSWORD, new_password: 'short' }, bearer(user.accessToken)),
    );
    expect(weak.status).toBe(400);
    expect((await weak.json<Problem>()).code).toBe('VALIDATION_FAILED');
    const anonymous = await app.request(
      '/api/v1/auth/change-password',
      json({ current_password: PASSWORD, new_password: NEW_PASSWORD }),
    );
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json<Problem>()).code).toBe('UNAUTHENTICATED');
    expect(await app.sql`select password_hash from users where id = ${user.userId}`).toEqual([before]);
  });
});

describe('forgot-password and reset-password', () => {
  it('always answers 202, and emails a reset link only to an existing account', async () => {
    const user = await register(app);
    const unknown = uniqueEmail('nobody');
    const a = await app.request('/api/v1/auth/forgot-password', json({ email: user.email.toUpperCase() }));
    const b = await app.request('/api/v1/auth/forgot-password', json({ email: unknown }));
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(await a.json()).toEqual(await b.json());
    expect((await app.outbox(user.email)).filter((m) => m.kind === 'password-reset')).toHaveLength(1);
    expect(await app.outbox(unknown)).toEqual([]);
    const stored = await app.sql`select token_hash, used_at from password_reset_tokens where user_id = ${user.userId}`;
    expect(stored).toHaveLength(1);
    expect(stored[0]?.token_hash).not.toBe(await resetTokenFor(user.email));
  });

  it('sends at most 3 emails per address per hour, the verification email included', async () => {
    const user = await register(app);
    for (let i = 0; i < 5; i++)
      expect((await app.request('/api/v1/auth/forgot-password', json({ email: user.email }))).status).toBe(202);
    expect((await app.outbox(user.email)).filter((m) => m.kind === 'password-reset')).toHaveLength(2);
  });

  it('resets once: new password works, the account unlocks, every session ends; the token cannot be reused', async () => {
    const user = await register(app);
    for (let i = 0; i < 6; i++) await login(user.email, 'wrong password 1');
    expect((await login(user.email, PASSWORD)).status).toBe(423);
    await app.request('/api/v1/auth/forgot-password', json({ email: user.email }));
    const token = await resetTokenFor(user.email);

    const res = await app.request('/api/v1/auth/reset-password', json({ token, new_password: NEW_PASSWORD }));
    expect(res.status).toBe(204);
    expect(await app.sql`select failed_login_count, locked_until from users where id = ${user.userId}`).toEqual([
      { failed_login_count: 0, locked_until: null },
    ]);
    expect(await app.sql`select revoked_reason from refresh_tokens where user_id = ${user.userId}`).toEqual([
      { revoked_reason: 'password_change' },
    ]);
    expect(
      await app.sql`select count(*)::int as n from password_reset_tokens where user_id = ${user.userId} and used_at is null`,
    ).toEqual([{ n: 0 }]);
    expect((await login(user.email, NEW_PASSWORD)).status).toBe(200);
    const ended = await refresh(user.refreshToken);
    expect(ended.status).toBe(403);
    expect((await ended.json<Problem>()).code).toBe('REFRESH_TOKEN_REVOKED');
    expect((await app.request('/api/v1/auth/me', bearer(user.accessToken))).status).toBe(401);

    const again = await app.request('/api/v1/auth/reset-password', json({ token, new_password: 'third horse 99' }));
    expect(again.status).toBe(400);
    expect((await again.json<Problem>()).code).toBe('RESET_TOKEN_INVALID');
  });

  it('refuses an expired token (1 hour) and unknown ones', async () => {
    const user = await register(app);
    await app.request('/api/v1/auth/forgot-password', json({ email: user.email }));
    const token = await resetTokenFor(user.email);
    clock.advance(61 * 60_000);
    try {
      const expired = await app.request('/api/v1/auth/reset-password', json({ token, new_password: NEW_PASSWORD }));
      expect(expired.status).toBe(400);
      expect((await expired.json<Problem>()).code).toBe('RESET_TOKEN_INVALID');
    } finally {
      clock.advance(-61 * 60_000);
    }
    const unknown = await app.request(
      '/api/v1/auth/reset-password',
      json({ token: 'D'.repeat(43), new_password: NEW_PASSWORD }),
    );
    expect(unknown.status).toBe(400);
    expect((await unknown.json<Problem>()).code).toBe('RESET_TOKEN_INVALID');
    expect((await login(user.email, PASSWORD)).status).toBe(200);
  });
});

describe('sessions', () => {
  it('lists one entry per live session with client and location, marks the current one, and ends one', async () => {
    const user = await register(app);
    const phone = await (
      await login(user.email, PASSWORD, { 'User-Agent': 'edgetask-ios/1.2' })
    ).json<{ access_token: string; refresh_token: string }>();
    await refresh(phone.refresh_token);
    const res = await app.request('/api/v1/auth/sessions', bearer(user.accessToken));
    expect(res.status).toBe(200);
    const { items } = await res.json<{
      items: { id: string; current: boolean; user_agent: string | null; created_at: string; last_used_at: string }[];
    }>();
    expect(items).toHaveLength(2);
    expect(items.filter((s) => s.current)).toHaveLength(1);
    const phoneSession = items.find((s) => s.user_agent === 'edgetask-ios/1.2');
    expect(phoneSession?.current).toBe(false);

    expect(
      (await app.request(`/api/v1/auth/sessions/${phoneSession?.id}`, bearer(user.accessToken, { method: 'DELETE' })))
        .status,
    ).toBe(204);
    expect((await app.request('/api/v1/auth/me', bearer(phone.access_token))).status).toBe(401);
    expect(
      await app.sql`select distinct revoked_reason from refresh_tokens where family_id = ${phoneSession?.id ?? ''}`,
    ).toEqual([{ revoked_reason: 'logout' }]);
    const after = await (
      await app.request('/api/v1/auth/sessions', bearer(user.accessToken))
    ).json<{ items: unknown[] }>();
    expect(after.items).toHaveLength(1);
    const again = await app.request(
      `/api/v1/auth/sessions/${phoneSession?.id}`,
      bearer(user.accessToken, { method: 'DELETE' }),
    );
    expect(again.status).toBe(404);
    expect((await again.json<Problem>()).code).toBe('NOT_FOUND');
  });

  it('records the coarse location Cloudflare gives for the login', async () => {
    const user = await register(app);
    const res = await app.request('/api/v1/auth/login', {
      ...json({ email: user.email, password: PASSWORD }),
      cf: { city: 'Lisbon', country: 'PT' },
    });
    const { access_token: token } = await res.json<{ access_token: string }>();
    const { items } = await (
      await app.request('/api/v1/auth/sessions', bearer(token))
    ).json<{ items: { current: boolean; location: string | null }[] }>();
    expect(items.find((s) => s.current)?.location).toBe('Lisbon, PT');
  });

  it("403 for another user's session, 404 for an unknown one", async () => {
    const user = await register(app);
    const other = await register(app);
    const { items } = await (
      await app.request('/api/v1/auth/sessions', bearer(other.accessToken))
    ).json<{ items: { id: string }[] }>();
    const forbidden = await app.request(
      `/api/v1/auth/sessions/${items[0]?.id}`,
      bearer(user.accessToken, { method: 'DELETE' }),
    );
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json<Problem>()).code).toBe('FORBIDDEN');
    expect((await app.request('/api/v1/auth/me', bearer(other.accessToken))).status).toBe(200);
    expect(await app.sql`select revoked_at from refresh_tokens where user_id = ${other.userId}`).toEqual([
      { revoked_at: null },
    ]);
    const unknown = await app.request(
      `/api/v1/auth/sessions/${crypto.randomUUID()}`,
      bearer(user.accessToken, { method: 'DELETE' }),
    );
    expect(unknown.status).toBe(404);
    expect((await unknown.json<Problem>()).code).toBe('NOT_FOUND');
  });

  it('logout and logout-all stop access tokens at once too', async () => {
    const user = await register(app);
    expect((await app.request('/api/v1/auth/logout', json({ refresh_token: user.refreshToken }))).status).toBe(204);
    expect((await app.request('/api/v1/auth/me', bearer(user.accessToken))).status).toBe(401);
    const second = await register(app);
    const another = await (await login(second.email, PASSWORD)).json<{ access_token: string }>();
    expect((await app.request('/api/v1/auth/logout-all', bearer(second.accessToken, { method: 'POST' }))).status).toBe(
      204,
    );
    for (const token of [second.accessToken, another.access_token]) {
      expect((await app.request('/api/v1/tasks', bearer(token))).status).toBe(401);
    }
  });
});

describe('export and delete', () => {
  let user: Registered;
  beforeAll(async () => {
    user = await register(app);
  });

  it('exports every row of the user, trash included, and nothing of others', async () => {
    const kept = await createTask(app, user.accessToken, { title: 'Kept task' });
    const trashed = await createTask(app, user.accessToken, { title: 'Trashed task' });
    await as(app, user.accessToken).delete(`/api/v1/tasks/${trashed.id}`);
    const category = await createCategory(app, user.accessToken, 'Exported');
    await as(app, user.accessToken).post(`/api/v1/tasks/${kept.id}/categories/${category.id}`);
    const stranger = await register(app);
    await createTask(app, stranger.accessToken, { title: 'Not yours' });

    const res = await app.request('/api/v1/account/export', bearer(user.accessToken));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('attachment');
    const doc = await res.json<{
      user: { id: string; email: string };
      tasks: { id: string; deleted_at: string | null }[];
      categories: { id: string }[];
      task_categories: { task_id: string; category_id: string }[];
    }>();
    expect(doc.user).toMatchObject({ id: user.userId, email: user.email });
    expect(JSON.stringify(doc)).not.toMatch(/password_hash|pbkdf2|Not yours/);
    const rows = await app.sql`select id from tasks where user_id = ${user.userId}`;
    expect(doc.tasks.map((t) => t.id).sort()).toEqual(rows.map((r) => r.id as string).sort());
    expect(doc.tasks.find((t) => t.id === trashed.id)?.deleted_at).not.toBeNull();
    expect(doc.categories.map((c) => c.id)).toEqual([category.id]);
    expect(doc.task_categories).toEqual([
      { task_id: kept.id, category_id: category.id, created_at: expect.any(String) as string },
    ]);
  });

  it('deletes the account and every row of it after checking the password; tokens stop at once', async () => {
    const doomed = await register(app);
    await createTask(app, doomed.accessToken);
    await createCategory(app, doomed.accessToken, 'Doomed');
    await as(app, doomed.accessToken).get('/api/v1/tasks'); // a cached read that must not survive
    const wrong = await app.request(
      '/api/v1/account',
      json({ password: 'not it 123' }, bearer(doomed.accessToken, { method: 'DELETE' })),
    );
    expect(wrong.status).toBe(403);
    expect((await wrong.json<Problem>()).code).toBe('PASSWORD_MISMATCH');
    expect(await app.sql`select 1 from users where id = ${doomed.userId}`).toHaveLength(1);

    const res = await app.request(
      '/api/v1/account',
      json({ password: PASSWORD }, bearer(doomed.accessToken, { method: 'DELETE' })),
    );
    expect(res.status).toBe(204);
    for (const table of [
      'users',
      'tasks',
      'categories',
      'refresh_tokens',
      'email_verification_tokens',
      'password_reset_tokens',
    ]) {
      const column = table === 'users' ? 'id' : 'user_id';
      const rows = await app.sql.query(`select count(*)::int as n from ${table} where ${column} = $1`, [doomed.userId]);
      expect(rows[0]?.n, table).toBe(0);
    }
    expect((await app.request('/api/v1/tasks', bearer(doomed.accessToken))).status).toBe(401);
    expect((await refresh(doomed.refreshToken)).status).toBe(401);
    expect((await login(doomed.email, PASSWORD)).status).toBe(401);
  });
});
