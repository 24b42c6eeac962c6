import { beforeAll, describe, expect, it, vi } from 'vitest';
import { hashToken } from '../../src/lib/tokens.ts';
import { bearer, PASSWORD, register, uniqueEmail, verificationTokenFor } from '../helpers/auth.ts';
import { json, setupTestApp, TestClock, type TestApp } from '../helpers/test-app.ts';

interface AuthBody {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  user: {
    id: string;
    email: string;
    full_name: string;
    is_active: boolean;
    email_verified_at: string | null;
    created_at: string;
    updated_at: string;
  };
}

interface ProblemBody {
  code: string;
  status: number;
  detail: string;
  errors?: { pointer: string }[];
}

const HOUR = 3600_000;

describe('register', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await setupTestApp();
  });

  it('creates an inactive user, a hashed verification token and a session; answers 201 with tokens', async () => {
    const email = uniqueEmail('Ann');
    const res = await app.request('/api/v1/auth/register', json({ email, password: PASSWORD, full_name: 'Ann Smith' }));
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('ratelimit-policy')).toBe('"ip";q=20;w=60');
    expect(res.headers.get('ratelimit')).toMatch(/^"ip";r=19;t=\d+$/);
    const body = await res.json<AuthBody>();
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.access_token.split('.')).toHaveLength(3);
    expect(body.user).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
      email: email.toLowerCase(),
      full_name: 'Ann Smith',
      time_zone: 'UTC',
      is_active: false,
      email_verified_at: null,
      created_at: expect.any(String) as string,
      updated_at: expect.any(String) as string,
    });
    expect(Object.keys(body.user)).not.toContain('password_hash');

    const [user] =
      await app.sql`select email, password_hash, is_active, failed_login_count from users where id = ${body.user.id}`;
    expect(user).toMatchObject({ email: email.toLowerCase(), is_active: false, failed_login_count: 0 });
    expect(user?.password_hash).toMatch(/^\$pbkdf2-sha256\$v=1\$i=100000,r=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    const sessions =
      await app.sql`select token_hash, revoked_at, family_id from refresh_tokens where user_id = ${body.user.id}`;
    expect(sessions).toEqual([
      { token_hash: hashToken(body.refresh_token), revoked_at: null, family_id: expect.any(String) as string },
    ]);

    const verificationToken = await verificationTokenFor(app, email.toLowerCase());
    const stored =
      await app.sql`select token_hash, used_at from email_verification_tokens where user_id = ${body.user.id}`;
    expect(stored).toEqual([{ token_hash: hashToken(verificationToken), used_at: null }]);
    const mail = (await app.outbox(email.toLowerCase()))[0];
    expect(mail).toMatchObject({ kind: 'verify-email', subject: expect.stringContaining('Confirm') as string });
    expect(mail?.text).toContain(`${app.env.APP_URL}/verify-email?token=${verificationToken}`);
  });

  it('refuses a duplicate email, whatever its case, with 409', async () => {
    const { email } = await register(app);
    const res = await app.request(
      '/api/v1/auth/register',
      json({ email: email.toUpperCase(), password: PASSWORD, full_name: 'Copy' }),
    );
    expect(res.status).toBe(409);
    expect((await res.json<ProblemBody>()).code).toBe('EMAIL_TAKEN');
    const rows = await app.sql`select count(*)::int as n from users where email = ${email}`;
    expect(rows[0]?.n).toBe(1);
  });

  it.each([
    ['a bad email', { email: 'not-an-email' }, '/body/email'],
    ['a short password', { password: 'ab1' }, '/body/password'],
    ['a password without a digit', { password: 'onlyletters' }, '/body/password'],
    ['a password without a letter', { password: '1234567890' }, '/body/password'],
    ['a 129-character password', { password: `a1${'x'.repeat(127)}` }, '/body/password'],
    ['an empty full name', { full_name: '' }, '/body/full_name'],
    ['an unknown key', { is_active: true }, '/body'],
    ['a NUL in the name', { full_name: 'a\u0000b' }, '/body/full_name'],
  ])('answers 400 for %s and writes nothing', async (_what, change, pointer) => {
    const email = uniqueEmail();
    const res = await app.request(
      '/api/v1/auth/register',
      json({ email, password: PASSWORD, full_name: 'X Y', ...change }),
    );
    expect(res.status).toBe(400);
    const body = await res.json<ProblemBody>();
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.errors?.map((e) => e.pointer)).toContain(pointer);
    const rows = await app.sql`select count(*)::int as n from users where email = ${email}`;
    expect(rows[0]?.n).toBe(0);
  });

  it('keeps the account when the email cannot be sent, and logs no token; the user can ask again', async () => {
    const broken = await setupTestApp({
      env: {
        EMAIL_OUTBOX_URL: `${app.env.EMAIL_OUTBOX_URL ?? ''}&fail=1`.replace(
          '/_control/outbox',
          '/_control/no-such-outbox',
        ),
      },
    });
    const logged: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void logged.push(String(line)));
    const user = await register(broken).finally(() => spy.mockRestore());
    const rows =
      await broken.sql`select count(*)::int as n from email_verification_tokens where user_id = ${user.userId}`;
    expect(rows[0]?.n).toBe(1);
    expect(await broken.sql`select email from users where id = ${user.userId}`).toEqual([{ email: user.email }]);
    // No opaque token (43 base64url characters, as every verification token is) in any log line.
    expect(logged.filter((l) => /(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/.test(l))).toEqual([]);
    const warning = logged.find((l) => l.includes('email not sent'));
    expect(warning).toBeDefined();
    expect(warning).not.toContain(user.email);
    expect(warning).toContain('@example.com');
    expect(
      (await broken.request('/api/v1/auth/resend-verification', bearer(user.accessToken, { method: 'POST' }))).status,
    ).toBe(202);
  });
});

describe('verify-email and resend-verification', () => {
  let app: TestApp;
  let clock: TestClock;
  beforeAll(async () => {
    clock = new TestClock();
    app = await setupTestApp({ deps: () => ({ clock }) });
  });

  it('activates the account once; the token cannot be used twice', async () => {
    const user = await register(app);
    const token = await verificationTokenFor(app, user.email);
    const res = await app.request('/api/v1/auth/verify-email', json({ token }));
    expect(res.status).toBe(200);
    const body = await res.json<AuthBody['user']>();
    expect(body).toMatchObject({ id: user.userId, is_active: true });
    expect(body.email_verified_at).not.toBeNull();
    const [row] = await app.sql`select is_active, email_verified_at from users where id = ${user.userId}`;
    expect(row?.is_active).toBe(true);
    expect(row?.email_verified_at).not.toBeNull();
    const [stored] =
      await app.sql`select used_at from email_verification_tokens where token_hash = ${hashToken(token)}`;
    expect(stored?.used_at).not.toBeNull();

    const again = await app.request('/api/v1/auth/verify-email', json({ token }));
    expect(again.status).toBe(400);
    expect((await again.json<ProblemBody>()).code).toBe('VERIFICATION_TOKEN_INVALID');
  });

  it('refuses an unknown, malformed or expired token with 400', async () => {
    for (const token of ['x'.repeat(43), 'short', '../../etc/passwd']) {
      const res = await app.request('/api/v1/auth/verify-email', json({ token }));
      expect(res.status, token).toBe(400);
      expect((await res.json<ProblemBody>()).code, token).toBe('VERIFICATION_TOKEN_INVALID');
    }
    const user = await register(app);
    const token = await verificationTokenFor(app, user.email);
    clock.advance(25 * HOUR);
    try {
      const res = await app.request('/api/v1/auth/verify-email', json({ token }));
      expect(res.status).toBe(400);
      expect((await res.json<ProblemBody>()).code).toBe('VERIFICATION_TOKEN_INVALID');
    } finally {
      clock.advance(-25 * HOUR);
    }
    const [row] = await app.sql`select is_active, email_verified_at from users where id = ${user.userId}`;
    expect(row).toEqual({ is_active: false, email_verified_at: null });
  });

  it('resends: a new token works, the old one no longer does; 409 once verified; 401 without a token', async () => {
    const user = await register(app);
    const first = await verificationTokenFor(app, user.email);
    const res = await app.request('/api/v1/auth/resend-verification', bearer(user.accessToken, { method: 'POST' }));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'sent' });
    const second = await verificationTokenFor(app, user.email);
    expect(second).not.toBe(first);
    const [old] = await app.sql`select used_at from email_verification_tokens where token_hash = ${hashToken(first)}`;
    expect(old?.used_at).not.toBeNull();
    const stale = await app.request('/api/v1/auth/verify-email', json({ token: first }));
    expect(stale.status).toBe(400);
    expect((await stale.json<ProblemBody>()).code).toBe('VERIFICATION_TOKEN_INVALID');
    expect((await app.request('/api/v1/auth/verify-email', json({ token: second }))).status).toBe(200);

    const again = await app.request('/api/v1/auth/resend-verification', bearer(user.accessToken, { method: 'POST' }));
    expect(again.status).toBe(409);
    expect((await again.json<ProblemBody>()).code).toBe('ALREADY_VERIFIED');
    const anonymous = await app.request('/api/v1/auth/resend-verification', { method: 'POST' });
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json<ProblemBody>()).code).toBe('UNAUTHENTICATED');
  });
});

describe('login and lockout', () => {
  let app: TestApp;
  let clock: TestClock;
  beforeAll(async () => {
    clock = new TestClock();
    app = await setupTestApp({ deps: () => ({ clock }) });
  });

  const login = (email: string, password: string) => app.request('/api/v1/auth/login', json({ email, password }));

  it('logs in with any case of the email and starts a new session', async () => {
    const user = await register(app);
    const res = await login(user.email.toUpperCase(), user.password);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json<AuthBody>();
    expect(body.user.id).toBe(user.userId);
    const families = await app.sql`select distinct family_id from refresh_tokens where user_id = ${user.userId}`;
    expect(families).toHaveLength(2);
    const [fresh] =
      await app.sql`select family_id, revoked_at from refresh_tokens where token_hash = ${hashToken(body.refresh_token)}`;
    const [first] =
      await app.sql`select family_id from refresh_tokens where token_hash = ${hashToken(user.refreshToken)}`;
    expect(fresh?.revoked_at).toBeNull();
    expect(fresh?.family_id).not.toBe(first?.family_id);
  });

  it('answers the same 401 for a wrong password and for an unknown email', async () => {
    const user = await register(app);
    const wrong = await login(user.email, 'wrong password 1');
    const unknown = await login(uniqueEmail('nobody'), 'wrong password 1');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const [a, b] = [await wrong.json<ProblemBody>(), await unknown.json<ProblemBody>()];
    expect(a.code).toBe('INVALID_CREDENTIALS');
    expect({ ...a, request_id: null, instance: null }).toEqual({ ...b, request_id: null, instance: null });
  });

  it('locks after 5 failures: the 6th answers 423 with Retry-After, even with the right password; unlocks after 15 minutes', async () => {
    const user = await register(app);
    for (let i = 1; i <= 5; i++)
      expect((await login(user.email, `wrong password ${i}`)).status, `attempt ${i}`).toBe(401);
    const [row] = await app.sql`select failed_login_count, locked_until from users where id = ${user.userId}`;
    expect(row?.failed_login_count).toBe(5);
    expect(row?.locked_until).not.toBeNull();

    const sixth = await login(user.email, 'wrong password 6');
    expect(sixth.status).toBe(423);
    expect(Number(sixth.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
    expect(Number(sixth.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60);
    expect((await sixth.json<ProblemBody>()).code).toBe('ACCOUNT_LOCKED');
    const rightPassword = await login(user.email, user.password);
    expect(rightPassword.status).toBe(423);
    expect((await rightPassword.json<ProblemBody>()).code).toBe('ACCOUNT_LOCKED');
    expect(rightPassword.headers.get('retry-after')).not.toBeNull();

    clock.advance(15 * 60_000 + 1000);
    try {
      const res = await login(user.email, user.password);
      expect(res.status).toBe(200);
      const [after] = await app.sql`select failed_login_count, locked_until from users where id = ${user.userId}`;
      expect(after).toEqual({ failed_login_count: 0, locked_until: null });
    } finally {
      clock.advance(-(15 * 60_000 + 1000));
    }
  });

  it('a success resets the count of failures', async () => {
    const user = await register(app);
    for (let i = 0; i < 4; i++) await login(user.email, 'wrong password 1');
    expect((await app.sql`select failed_login_count from users where id = ${user.userId}`)[0]?.failed_login_count).toBe(
      4,
    );
    expect((await login(user.email, user.password)).status).toBe(200);
    expect(await app.sql`select failed_login_count, locked_until from users where id = ${user.userId}`).toEqual([
      { failed_login_count: 0, locked_until: null },
    ]);
    for (let i = 0; i < 4; i++) expect((await login(user.email, 'wrong password 1')).status).toBe(401);
    expect((await login(user.email, user.password)).status).toBe(200);
  });

  it('rehashes an outdated hash on a successful login', async () => {
    const user = await register(app);
    // The same database, with a policy of two rounds where the hash has one.
    const upgraded = await setupTestApp({ env: { PASSWORD_HASH_ROUNDS: '2', DATABASE_URL: app.env.DATABASE_URL } });
    expect(
      (await upgraded.request('/api/v1/auth/login', json({ email: user.email, password: user.password }))).status,
    ).toBe(200);
    const [row] = await app.sql`select password_hash from users where id = ${user.userId}`;
    expect(row?.password_hash).toContain('r=2$');
  });
});

describe('refresh rotation and reuse detection', () => {
  let app: TestApp;
  let clock: TestClock;
  beforeAll(async () => {
    clock = new TestClock();
    app = await setupTestApp({ deps: () => ({ clock }) });
  });

  const refresh = (token: string) => app.request('/api/v1/auth/refresh', json({ refresh_token: token }));

  it('rotates: a new pair, the old token revoked as rotated, the new one linked to it', async () => {
    const user = await register(app);
    const res = await refresh(user.refreshToken);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json<AuthBody>();
    expect(body.refresh_token).not.toBe(user.refreshToken);
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type']);
    const rows =
      await app.sql`select id, token_hash, revoked_reason, rotated_from, family_id from refresh_tokens where user_id = ${user.userId} order by created_at, id`;
    const old = rows.find((r) => r.token_hash === hashToken(user.refreshToken));
    const fresh = rows.find((r) => r.token_hash === hashToken(body.refresh_token));
    expect(old?.revoked_reason).toBe('rotated');
    expect(fresh).toMatchObject({
      revoked_reason: null,
      rotated_from: old?.id as string,
      family_id: old?.family_id as string,
    });
    expect((await app.request('/api/v1/auth/me', bearer(body.access_token))).status).toBe(200);
    expect((await refresh(body.refresh_token)).status).toBe(200);
  });

  it('lets the just-rotated token through again within the grace window (client retry)', async () => {
    const user = await register(app);
    const first = await refresh(user.refreshToken);
    expect(first.status).toBe(200);
    const successor = (await first.json<AuthBody>()).refresh_token;
    clock.advance(5000);
    try {
      const retry = await refresh(user.refreshToken);
      expect(retry.status).toBe(200);
      // The same successor again, and no new token row.
      expect((await retry.json<AuthBody>()).refresh_token).toBe(successor);
      const rows = await app.sql`select count(*)::int as n from refresh_tokens where user_id = ${user.userId}`;
      expect(rows[0]?.n).toBe(2);
    } finally {
      clock.advance(-5000);
    }
  });

  it('two refreshes at once with the same token both succeed, with the same successor', async () => {
    const user = await register(app);
    const [a, b] = await Promise.all([refresh(user.refreshToken), refresh(user.refreshToken)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const tokens = [(await a.json<AuthBody>()).refresh_token, (await b.json<AuthBody>()).refresh_token];
    expect(tokens[0]).toBe(tokens[1]);
    expect((await refresh(tokens[0] ?? '')).status).toBe(200);
  });

  it("reuse after the grace window: 403, and the family's newest token is dead too", async () => {
    const user = await register(app);
    const rotated = await (await refresh(user.refreshToken)).json<AuthBody>();
    clock.advance(11_000);
    try {
      const reuse = await refresh(user.refreshToken);
      expect(reuse.status).toBe(403);
      expect((await reuse.json<ProblemBody>()).code).toBe('REFRESH_TOKEN_REUSED');
      const newest = await refresh(rotated.refresh_token);
      expect(newest.status).toBe(403);
      expect((await newest.json<ProblemBody>()).code).toBe('REFRESH_TOKEN_REVOKED');
      const live =
        await app.sql`select count(*)::int as n from refresh_tokens where user_id = ${user.userId} and revoked_at is null`;
      expect(live[0]?.n).toBe(0);
      const reasons = await app.sql`select distinct revoked_reason from refresh_tokens where user_id = ${user.userId}`;
      expect(reasons).toEqual([{ revoked_reason: 'reuse' }]);
    } finally {
      clock.advance(-11_000);
    }
  });

  it('401 for unknown, malformed and expired tokens', async () => {
    const unknown = await refresh('A'.repeat(43));
    expect(unknown.status).toBe(401);
    expect((await unknown.json<ProblemBody>()).code).toBe('REFRESH_TOKEN_INVALID');
    const malformed = await refresh('not a token');
    expect(malformed.status).toBe(401);
    expect((await malformed.json<ProblemBody>()).code).toBe('REFRESH_TOKEN_INVALID');
    const user = await register(app);
    clock.advance(8 * 24 * HOUR);
    try {
      const expired = await refresh(user.refreshToken);
      expect(expired.status).toBe(401);
      expect((await expired.json<ProblemBody>()).code).toBe('REFRESH_TOKEN_INVALID');
    } finally {
      clock.advance(-8 * 24 * HOUR);
    }
  });

  it('400 for a body without the token', async () => {
    const res = await app.request('/api/v1/auth/refresh', json({}));
    expect(res.status).toBe(400);
    const body = await res.json<ProblemBody>();
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.errors?.map((e) => e.pointer)).toContain('/body/refresh_token');
  });
});

describe('logout, logout-all and me', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await setupTestApp();
  });

  it('logout ends the session: 204, then refresh is refused', async () => {
    const user = await register(app);
    const res = await app.request('/api/v1/auth/logout', json({ refresh_token: user.refreshToken }));
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    const rows =
      await app.sql`select revoked_at is not null as revoked, revoked_reason from refresh_tokens where user_id = ${user.userId}`;
    expect(rows).toEqual([{ revoked: true, revoked_reason: 'logout' }]);
    const after = await app.request('/api/v1/auth/refresh', json({ refresh_token: user.refreshToken }));
    expect(after.status).toBe(403);
    expect((await after.json<ProblemBody>()).code).toBe('REFRESH_TOKEN_REVOKED');
  });

  it('logout of a rotated session kills the token rotated just before, grace or not', async () => {
    const user = await register(app);
    const rotated = await (
      await app.request('/api/v1/auth/refresh', json({ refresh_token: user.refreshToken }))
    ).json<AuthBody>();
    expect((await app.request('/api/v1/auth/logout', json({ refresh_token: rotated.refresh_token }))).status).toBe(204);
    const reasons = await app.sql`select revoked_reason from refresh_tokens where user_id = ${user.userId}`;
    expect(reasons).toEqual([{ revoked_reason: 'logout' }, { revoked_reason: 'logout' }]);
    const old = await app.request('/api/v1/auth/refresh', json({ refresh_token: user.refreshToken }));
    expect(old.status).toBe(403);
    expect((await old.json<ProblemBody>()).code).toBe('REFRESH_TOKEN_REVOKED');
  });

  it('logout with an unknown token is still 204 and changes nothing', async () => {
    const user = await register(app);
    const before = await app.sql`select id, revoked_at, revoked_reason from refresh_tokens order by id`;
    expect((await app.request('/api/v1/auth/logout', json({ refresh_token: 'B'.repeat(43) }))).status).toBe(204);
    expect(await app.sql`select id, revoked_at, revoked_reason from refresh_tokens order by id`).toEqual(before);
    expect((await app.request('/api/v1/auth/me', bearer(user.accessToken))).status).toBe(200);
  });

  it("logout-all ends every session of the user, not other users'", async () => {
    const user = await register(app);
    const other = await register(app);
    const second = await (
      await app.request('/api/v1/auth/login', json({ email: user.email, password: user.password }))
    ).json<AuthBody>();
    const res = await app.request('/api/v1/auth/logout-all', bearer(user.accessToken, { method: 'POST' }));
    expect(res.status).toBe(204);
    for (const token of [user.refreshToken, second.refresh_token]) {
      expect((await app.request('/api/v1/auth/refresh', json({ refresh_token: token }))).status).toBe(403);
    }
    const reasons = await app.sql`select distinct revoked_reason from refresh_tokens where user_id = ${user.userId}`;
    expect(reasons).toEqual([{ revoked_reason: 'logout_all' }]);
    expect((await app.request('/api/v1/auth/me', bearer(user.accessToken))).status).toBe(401);
    const others = await app.sql`select revoked_at from refresh_tokens where user_id = ${other.userId}`;
    expect(others).toEqual([{ revoked_at: null }]);
    expect((await app.request('/api/v1/auth/me', bearer(other.accessToken))).status).toBe(200);
    expect((await app.request('/api/v1/auth/refresh', json({ refresh_token: other.refreshToken }))).status).toBe(200);
  });

  it('me returns the user; 401 with a Bearer challenge without a token or with one in the query string', async () => {
    const user = await register(app);
    const res = await app.request('/api/v1/auth/me', bearer(user.accessToken));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: user.userId, email: user.email });
    for (const attempt of [
      app.request('/api/v1/auth/me'),
      app.request(`/api/v1/auth/me?access_token=${user.accessToken}`),
    ]) {
      const denied = await attempt;
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const text = await denied.text();
      expect(text).not.toContain(user.accessToken);
      expect((JSON.parse(text) as ProblemBody).code).toBe('UNAUTHENTICATED');
    }
  });
});
