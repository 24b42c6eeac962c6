import { Redis } from '@upstash/redis/cloudflare';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hashToken } from '../../src/lib/tokens.ts';
import { bearer, PASSWORD, register, uniqueEmail } from '../helpers/auth.ts';
import { json, setupTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Issue 12's authentication items: the lockout under concurrency (and on the other password
 * checks), idempotent refresh rotation and its own limit, tokens ended by a password change,
 * email caps, and what an account deletion leaves behind. Concurrency runs real parallel requests
 * against the stand-ins (real PostgreSQL and Redis when the machine has them).
 */

interface Problem {
  code: string;
}

/**
 * Counts PBKDF2 computations: every password verification calls deriveBits once per round and the
 * tests run with PASSWORD_HASH_ROUNDS=1 (vitest.config.ts), so calls = verifications. A spy that
 * calls through, not a mock: the hashes are really computed.
 */
function countHashes() {
  return vi.spyOn(crypto.subtle, 'deriveBits');
}

afterEach(() => {
  vi.restoreAllMocks();
});

const login = (app: TestApp, email: string, password: string) =>
  app.request('/api/v1/auth/login', json({ email, password }));

describe('lockout under concurrency (issue 12, item 1)', () => {
  it('20 wrong passwords at once, then the right one: 423, and at most 5 password checks evaluated', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    const hashes = countHashes();
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(app, user.email, `wrong password ${i}`)),
    );
    const statuses = burst.map((res) => res.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s !== 401 && s !== 423)).toEqual([]);
    const right = await login(app, user.email, user.password);
    expect(right.status).toBe(423);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
    expect((await right.json<Problem>()).code).toBe('ACCOUNT_LOCKED');
    expect(hashes.mock.calls.length).toBeLessThanOrEqual(5);
    const [row] = await app.sql`select failed_login_count, locked_until from users where id = ${user.userId}`;
    expect(row?.failed_login_count).toBe(5);
    expect(row?.locked_until).not.toBeNull();
  });

  it('the right password inside a burst of wrong ones never erases the lock the others set', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    const attempts = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => login(app, user.email, `wrong password ${i}`)),
      login(app, user.email, user.password),
      ...Array.from({ length: 10 }, (_, i) => login(app, user.email, `wrong password ${i + 10}`)),
    ]);
    const wrongOnes = attempts.filter((_, i) => i !== 10).map((res) => res.status);
    // Five checks at most; if the right one was among them and the wrong ones reached the
    // threshold without it, the account stays locked; if it logged in, at most 4 wrong ones ran.
    expect(wrongOnes.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    const [row] = await app.sql`select failed_login_count, locked_until from users where id = ${user.userId}`;
    if (wrongOnes.filter((s) => s === 401).length === 5) {
      expect(row?.locked_until).not.toBeNull();
      expect((await login(app, user.email, user.password)).status).toBe(423);
    }
  });

  it('an unknown email costs one hash, like a wrong password, and answers the same 401', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    const hashes = countHashes();
    const unknown = await login(app, uniqueEmail('nobody'), 'wrong password 1');
    const wrong = await login(app, user.email, 'wrong password 1');
    expect([unknown.status, wrong.status]).toEqual([401, 401]);
    expect(hashes.mock.calls.length).toBe(2);
  });
});

describe('password checks outside login share the lockout (issue 12, item 7)', () => {
  const changePassword = (app: TestApp, token: string, current: string) =>
    app.request(
      '/api/v1/auth/change-password',
      json({ current_password: current, new_password: 'another horse 77' }, bearer(token)),
    );
  const deleteAccount = (app: TestApp, token: string, password: string) =>
    app.request('/api/v1/account', json({ password }, bearer(token, { method: 'DELETE' })));

  it('wrong current passwords on change-password and DELETE /account count toward the lockout; then 423', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    for (let i = 0; i < 2; i++)
      expect((await changePassword(app, user.accessToken, `wrong one ${i}`)).status).toBe(403);
    for (let i = 0; i < 2; i++) expect((await deleteAccount(app, user.accessToken, `wrong one ${i}`)).status).toBe(403);
    expect((await login(app, user.email, 'wrong password 1')).status).toBe(401);
    // Five failures across the three routes: locked everywhere, even with the right password.
    const changed = await changePassword(app, user.accessToken, PASSWORD);
    expect(changed.status).toBe(423);
    expect(Number(changed.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await changed.json<Problem>()).code).toBe('ACCOUNT_LOCKED');
    expect((await deleteAccount(app, user.accessToken, PASSWORD)).status).toBe(423);
    expect((await login(app, user.email, PASSWORD)).status).toBe(423);
    expect(await app.sql`select 1 from users where id = ${user.userId}`).toHaveLength(1);
  });

  it('20 parallel wrong passwords on change-password evaluate at most 5', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    const hashes = countHashes();
    const statuses = (
      await Promise.all(Array.from({ length: 20 }, (_, i) => changePassword(app, user.accessToken, `wrong one ${i}`)))
    ).map((res) => res.status);
    expect(statuses.filter((s) => s === 403).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s !== 403 && s !== 423)).toEqual([]);
    expect(hashes.mock.calls.length).toBeLessThanOrEqual(5);
    expect((await login(app, user.email, PASSWORD)).status).toBe(423);
  });

  it('a right password on change-password resets the failures it follows', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    for (let i = 0; i < 4; i++) await login(app, user.email, 'wrong password 1');
    expect((await changePassword(app, user.accessToken, PASSWORD)).status).toBe(204);
    const [row] = await app.sql`select failed_login_count, locked_until from users where id = ${user.userId}`;
    expect(row).toEqual({ failed_login_count: 0, locked_until: null });
  });
});

describe('refresh rotation is idempotent within the grace window (issue 12, item 4)', () => {
  const refresh = (app: TestApp, token: string) => app.request('/api/v1/auth/refresh', json({ refresh_token: token }));

  it('10 parallel refreshes of one token: every success gets the same successor, and one live token remains', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    const answers = await Promise.all(Array.from({ length: 10 }, () => refresh(app, user.refreshToken)));
    expect(answers.map((res) => res.status)).toEqual(Array<number>(10).fill(200));
    const successors = new Set(
      await Promise.all(answers.map(async (res) => (await res.json<{ refresh_token: string }>()).refresh_token)),
    );
    expect(successors.size).toBe(1);
    const [successor = ''] = [...successors];
    const live = await app.sql`select token_hash from refresh_tokens
      where user_id = ${user.userId} and revoked_at is null`;
    expect(live.map((row) => row.token_hash as string)).toEqual([hashToken(successor)]);
    expect(await app.sql`select 1 from refresh_tokens where user_id = ${user.userId}`).toHaveLength(2);
    // The successor works, and rotating it leaves one live token again.
    const next = await refresh(app, successor);
    expect(next.status).toBe(200);
    const after =
      await app.sql`select token_hash from refresh_tokens where user_id = ${user.userId} and revoked_at is null`;
    expect(after.map((row) => row.token_hash as string)).toEqual([
      hashToken((await next.json<{ refresh_token: string }>()).refresh_token),
    ]);
  });
});

describe('refresh is limited per session, not per address (issue 12, item 14)', () => {
  const refreshFrom = (app: TestApp, token: string, ip: string) =>
    app.request('/api/v1/auth/refresh', json({ refresh_token: token }, { headers: { 'CF-Connecting-IP': ip } }));

  it('more than 20 refreshes of different sessions from one address all succeed (carrier-grade NAT)', async () => {
    const app = await setupTestApp();
    const users = await Promise.all(Array.from({ length: 25 }, () => register(app)));
    const ip = '198.51.100.23';
    const statuses = [];
    for (const user of users) statuses.push((await refreshFrom(app, user.refreshToken, ip)).status);
    expect(statuses).toEqual(Array<number>(25).fill(200));
    // Guessing credentials from that address is still limited per address.
    const logins = [];
    for (let i = 0; i < 21; i++)
      logins.push(
        (
          await app.request(
            '/api/v1/auth/login',
            json({ email: uniqueEmail(), password: 'wrong password 1' }, { headers: { 'CF-Connecting-IP': ip } }),
          )
        ).status,
      );
    expect(logins.at(-1)).toBe(429);
  });

  it('one session over its own limit (10 rotations a minute) gets 429 with Retry-After; other sessions do not', async () => {
    const app = await setupTestApp();
    const [user, other] = await Promise.all([register(app), register(app)]);
    let token = user.refreshToken;
    for (let i = 1; i <= 10; i++) {
      const res = await refreshFrom(app, token, `10.9.${i}.1`);
      expect(res.status, `refresh ${i}`).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBe('"family";q=10;w=60');
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"family";r=${10 - i};t=\\d+$`));
      token = (await res.json<{ refresh_token: string }>()).refresh_token;
    }
    const limited = await refreshFrom(app, token, '10.9.11.1');
    expect(limited.status).toBe(429);
    expect((await limited.json<Problem>()).code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get('ratelimit')).toBe(`"family";r=0;t=${retryAfter}`);
    // The limited token is still the live one: nothing was rotated or revoked.
    const live =
      await app.sql`select token_hash from refresh_tokens where user_id = ${user.userId} and revoked_at is null`;
    expect(live.map((row) => row.token_hash as string)).toEqual([hashToken(token)]);
    expect((await refreshFrom(app, other.refreshToken, '10.9.11.1')).status).toBe(200);
  });
});

describe('a password change, a reset or a deletion ends pending reset and verification links (issue 12, item 5)', () => {
  const codeIn = (text: string | undefined) => /code in the app: ([A-Za-z0-9_-]{43})/.exec(text ?? '')?.[1] ?? '';
  const latest = async (app: TestApp, email: string, kind: string) =>
    codeIn((await app.outbox(email)).filter((m) => m.kind === kind).at(-1)?.text);

  it('change-password: the reset link asked for before and the verification link are refused', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    expect((await app.request('/api/v1/auth/forgot-password', json({ email: user.email }))).status).toBe(202);
    const resetToken = await latest(app, user.email, 'password-reset');
    const verifyToken = await latest(app, user.email, 'verify-email');
    expect(resetToken).not.toBe('');
    expect(verifyToken).not.toBe('');
    const changed = await app.request(
      '/api/v1/auth/change-password',
      json({ current_password: PASSWORD, new_password: 'another horse 77' }, bearer(user.accessToken)),
    );
    expect(changed.status).toBe(204);
    const reset = await app.request(
      '/api/v1/auth/reset-password',
      json({ token: resetToken, new_password: 'attacker horse 66' }),
    );
    expect(reset.status).toBe(400);
    expect((await reset.json<Problem>()).code).toBe('RESET_TOKEN_INVALID');
    const verified = await app.request('/api/v1/auth/verify-email', json({ token: verifyToken }));
    expect(verified.status).toBe(400);
    expect((await login(app, user.email, 'another horse 77')).status).toBe(200);
  });

  it('reset-password: the verification link sent before is refused too', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    const verifyToken = await latest(app, user.email, 'verify-email');
    await app.request('/api/v1/auth/forgot-password', json({ email: user.email }));
    const resetToken = await latest(app, user.email, 'password-reset');
    expect(
      (await app.request('/api/v1/auth/reset-password', json({ token: resetToken, new_password: 'reset horse 31' })))
        .status,
    ).toBe(204);
    expect((await app.request('/api/v1/auth/verify-email', json({ token: verifyToken }))).status).toBe(400);
  });

  it('account deletion: no reset or verification token of the account is left', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    await app.request('/api/v1/auth/forgot-password', json({ email: user.email }));
    const resetToken = await latest(app, user.email, 'password-reset');
    const deleted = await app.request(
      '/api/v1/account',
      json({ password: PASSWORD }, bearer(user.accessToken, { method: 'DELETE' })),
    );
    expect(deleted.status).toBe(204);
    expect(await app.sql`select 1 from password_reset_tokens where user_id = ${user.userId}`).toEqual([]);
    expect(await app.sql`select 1 from email_verification_tokens where user_id = ${user.userId}`).toEqual([]);
    expect(
      (await app.request('/api/v1/auth/reset-password', json({ token: resetToken, new_password: 'reset horse 31' })))
        .status,
    ).toBe(400);
  });
});

describe('at most 3 emails per address per hour, whoever asks (issue 12, item 6)', () => {
  it('register, resend-verification and forgot-password from many addresses send 3 emails in all; the answers do not change', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    const resends = [];
    for (let i = 0; i < 4; i++) {
      const res = await app.request('/api/v1/auth/resend-verification', bearer(user.accessToken, { method: 'POST' }));
      resends.push({ status: res.status, keys: Object.keys(await res.json()).sort() });
    }
    expect(resends).toEqual(Array(4).fill({ status: 202, keys: ['expires_at', 'status'] }));
    const unknown = uniqueEmail('nobody');
    for (let i = 0; i < 4; i++) {
      const mine = await app.request('/api/v1/auth/forgot-password', json({ email: user.email }));
      const nobody = await app.request('/api/v1/auth/forgot-password', json({ email: unknown }));
      expect([mine.status, nobody.status]).toEqual([202, 202]);
      expect(await mine.json()).toEqual(await nobody.json());
    }
    expect(await app.outbox(user.email)).toHaveLength(3);
    expect(await app.outbox(unknown)).toEqual([]);
    // The newest link mailed still works: capped requests did not replace it with an unsent one.
    const last = (await app.outbox(user.email)).filter((m) => m.kind === 'verify-email').at(-1);
    const token = /code in the app: ([A-Za-z0-9_-]{43})/.exec(last?.text ?? '')?.[1] ?? '';
    expect((await app.request('/api/v1/auth/verify-email', json({ token }))).status).toBe(200);
  });
});

/** Every key in the stand-in's Redis whose name contains `needle` (the keyspace is shared by test files). */
async function keysContaining(app: TestApp, needle: string): Promise<string[]> {
  const redis = new Redis({ url: app.env.UPSTASH_REDIS_REST_URL, token: app.env.UPSTASH_REDIS_REST_TOKEN ?? '' });
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, { match: `*${needle}*`, count: 1000 });
    found.push(...keys);
    cursor = String(next);
  } while (cursor !== '0');
  return found.sort();
}

describe('deleting an account removes its Upstash data (issue 12, item 8)', () => {
  it('no cached read, Idempotency-Key record, counter or rate-limit key of the user is left; only the denylist entry', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    const created = await app.request(
      '/api/v1/tasks',
      json(
        { title: 'Secret plan for the surprise party' },
        bearer(user.accessToken, { headers: { 'Idempotency-Key': 'k-1' } }),
      ),
    );
    expect(created.status).toBe(201);
    const { id } = await created.json<{ id: string }>();
    expect((await app.request(`/api/v1/tasks/${id}`, bearer(user.accessToken))).status).toBe(200);
    expect((await app.request('/api/v1/tasks?limit=5', bearer(user.accessToken))).status).toBe(200);
    expect((await keysContaining(app, user.userId)).length).toBeGreaterThan(2);

    const deleted = await app.request(
      '/api/v1/account',
      json({ password: PASSWORD }, bearer(user.accessToken, { method: 'DELETE' })),
    );
    expect(deleted.status).toBe(204);
    // The denylist entry stays (it is what refuses the user's access tokens for their last minutes).
    expect(await keysContaining(app, user.userId)).toEqual([`revoked:user:${user.userId}`]);
  });
});

describe("a deleted user's access token (issue 12, item 11)", () => {
  it('answers 401, never 500, also when Upstash is down (the denylist cannot answer)', async () => {
    const app = await setupTestApp({ env: { UPSTASH_TIMEOUT_MS: '300' } });
    const user = await register(app);
    const other = await register(app);
    const task = await (
      await app.request('/api/v1/tasks', json({ title: 'Theirs' }, bearer(other.accessToken)))
    ).json<{ id: string }>();
    await app.sql`delete from users where id = ${user.userId}`;
    await app.fault({ upstash: 'down' });
    try {
      const attempts: [string, RequestInit][] = [
        ['/api/v1/tasks', json({ title: 'After deletion' }, bearer(user.accessToken))],
        ['/api/v1/categories', json({ name: 'After deletion' }, bearer(user.accessToken))],
        ['/api/v1/auth/me', bearer(user.accessToken)],
        ['/api/v1/account/export', bearer(user.accessToken)],
        ['/api/v1/auth/resend-verification', bearer(user.accessToken, { method: 'POST' })],
        [`/api/v1/tasks/${task.id}`, json({ title: 'x', version: 1 }, bearer(user.accessToken, { method: 'PATCH' }))],
      ];
      for (const [path, init] of attempts) {
        const res = await app.request(path, init);
        expect(res.status, `${init.method ?? 'GET'} ${path}`).toBeLessThan(500);
      }
      const created = await app.request('/api/v1/tasks', json({ title: 'After deletion' }, bearer(user.accessToken)));
      expect(created.status).toBe(401);
      expect(created.headers.get('www-authenticate')).toMatch(/^Bearer/);
    } finally {
      await app.fault({ upstash: 'none' });
    }
  });
});
