import { createScheduledController } from 'cloudflare:test';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import worker from '../../src/index.ts';
import { hashToken } from '../../src/lib/tokens.ts';
import { TEST_JWT_KEYS } from '../helpers/constants.ts';
import { bearer, PASSWORD, register, uniqueEmail } from '../helpers/auth.ts';
import { allowConsoleErrors, consoleErrors } from '../helpers/fail-on-console-error.ts';
import { craftJwt } from '../helpers/jwt.ts';
import { json, setupTestApp, TestClock, type TestApp } from '../helpers/test-app.ts';

const [KID = '', SECRET = ''] = TEST_JWT_KEYS.split(/:(.*)/s);

/** Every line the Worker logs while `work` runs. */
async function captureLogs<T>(work: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const log = vi
    .spyOn(console, 'log')
    .mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
  const warn = vi
    .spyOn(console, 'warn')
    .mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
  try {
    return { result: await work(), lines };
  } finally {
    log.mockRestore();
    warn.mockRestore();
  }
}

describe('access tokens: the attack table', () => {
  let app: TestApp;
  let good: { userId: string; accessToken: string; refreshToken: string };
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (over: Record<string, unknown> = {}) => ({
    sub: good.userId,
    sid: crypto.randomUUID(),
    jti: crypto.randomUUID(),
    iat: now(),
    exp: now() + 900,
    iss: 'edgetask',
    aud: 'edgetask-api',
    ev: false,
    ...over,
  });
  const header = { alg: 'HS256', typ: 'JWT', kid: KID };

  beforeAll(async () => {
    app = await setupTestApp();
    good = await register(app);
  });

  it('accepts a well-made token, also one issued 10 s in the future (clock skew)', async () => {
    const token = await craftJwt(claims({ iat: now() + 10, exp: now() + 10 + 900 }), { header, secret: SECRET });
    expect((await app.request('/api/v1/auth/me', bearer(token))).status).toBe(200);
  });

  const hostile: [string, () => Promise<string>][] = [
    [
      'alg none',
      async () =>
        `${(await craftJwt(claims(), { header: { alg: 'none', typ: 'JWT', kid: KID }, secret: SECRET })).split('.').slice(0, 2).join('.')}.`,
    ],
    ['HS512', () => craftJwt(claims(), { header: { ...header, alg: 'HS512' }, secret: SECRET, hash: 'SHA-512' })],
    ['a wrong key', () => craftJwt(claims(), { header, secret: 'another-secret-0123456789abcdef0123456789' })],
    [
      'a tampered payload',
      async () => {
        const [h, , s] = (await craftJwt(claims(), { header, secret: SECRET })).split('.');
        const forged = (await craftJwt(claims({ sub: crypto.randomUUID() }), { header, secret: 'x'.repeat(40) })).split(
          '.',
        )[1];
        return `${h}.${forged}.${s}`;
      },
    ],
    ['no exp', () => craftJwt({ ...claims(), exp: undefined }, { header, secret: SECRET })],
    ['a string exp', () => craftJwt(claims({ exp: String(now() + 900) }), { header, secret: SECRET })],
    ['a wrong iss', () => craftJwt(claims({ iss: 'someone-else' }), { header, secret: SECRET })],
    ['a wrong aud', () => craftJwt(claims({ aud: 'another-api' }), { header, secret: SECRET })],
    ['an unknown kid', () => craftJwt(claims(), { header: { ...header, kid: 'stolen-1' }, secret: SECRET })],
    ['an expired token', () => craftJwt(claims({ iat: now() - 1000, exp: now() - 100 }), { header, secret: SECRET })],
    ['a refresh token as bearer', () => Promise.resolve(good.refreshToken)],
  ];

  it.each(hostile)('refuses %s with 401 and a Bearer challenge, never echoing the token', async (_name, make) => {
    const token = await make();
    const res = await app.request('/api/v1/auth/me', bearer(token));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="edgetask", error="invalid_token"$/);
    const body = await res.text();
    expect(body).toContain('"code":"UNAUTHENTICATED"');
    expect(body).not.toContain(token.slice(-20));
  });

  it('ignores a token in the query string', async () => {
    const res = await app.request(`/api/v1/auth/me?token=${good.accessToken}&access_token=${good.accessToken}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="edgetask"');
  });
});

/**
 * The limiter's sliding window weighs the previous fixed minute (aligned to the clock) by how much of
 * it is still in view: right after a minute boundary that rounding can let one request more through.
 * A test that must see an exact count starts far enough from the next boundary.
 */
async function awayFromMinuteEdge(neededMs = 10_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < neededMs) await new Promise((resolve) => setTimeout(resolve, left + 500));
}

describe('rate limits', () => {
  it('the 21st unauthenticated request in a minute from one address is 429, rotating X-Forwarded-For or not, and computes no hash', async () => {
    const app = await setupTestApp();
    await awayFromMinuteEdge();
    const ip = `192.0.2.${Math.floor(Math.random() * 250)}`;
    const email = uniqueEmail();
    const attempt = (i: number) =>
      app.request(
        '/api/v1/auth/login',
        json(
          { email, password: 'wrong password 1' },
          { headers: { 'CF-Connecting-IP': ip, 'X-Forwarded-For': `203.0.113.${i}` } },
        ),
      );
    for (let i = 1; i <= 20; i++) expect((await attempt(i)).status, `attempt ${i}`).toBe(401);

    await app.resetCounters();
    const deriveBits = vi.spyOn(crypto.subtle, 'deriveBits');
    const limited = await attempt(21).finally(() => deriveBits.mockRestore());
    expect(limited.status).toBe(429);
    expect(deriveBits).not.toHaveBeenCalled();
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get('ratelimit-policy')).toBe('"ip";q=20;w=60');
    expect(limited.headers.get('ratelimit')).toBe(`"ip";r=0;t=${retryAfter}`);
    expect(limited.headers.get('content-type')).toBe('application/problem+json');
    expect((await limited.json<{ code: string }>()).code).toBe('RATE_LIMITED');
    const counters = await app.counters();
    expect(counters.neon.requests).toBe(0);
    expect(counters.upstash.requests).toBeLessThanOrEqual(1);

    // Another address is not affected.
    expect(
      (
        await app.request(
          '/api/v1/auth/login',
          json({ email, password: 'wrong password 1' }, { headers: { 'CF-Connecting-IP': '198.51.100.7' } }),
        )
      ).status,
    ).toBe(401);
  });

  it('IPv6 clients share a limit per /64', async () => {
    const app = await setupTestApp({ env: { RATE_LIMIT_IP_PER_MINUTE: '2' } });
    await awayFromMinuteEdge();
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`;
    const from = (host: string) =>
      app.request(
        '/api/v1/auth/login',
        json(
          { email: 'nobody@example.com', password: 'wrong password 1' },
          { headers: { 'CF-Connecting-IP': `${prefix}:${host}` } },
        ),
      );
    expect((await from('::1')).status).toBe(401);
    expect((await from(':0:0:0:2')).status).toBe(401);
    expect((await from(':abcd:0:0:3')).status).toBe(429);
  });

  it('the 101st authenticated request in a minute is 429 with RateLimit headers', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    await awayFromMinuteEdge(15_000);
    for (let i = 1; i <= 100; i++) {
      const res = await app.request('/api/v1/auth/me', bearer(user.accessToken));
      expect(res.status, `request ${i}`).toBe(200);
      if (i === 100) expect(res.headers.get('ratelimit')).toMatch(/^"user";r=0;t=\d+$/);
    }
    const limited = await app.request('/api/v1/auth/me', bearer(user.accessToken));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('ratelimit-policy')).toBe('"user";q=100;w=60');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('when Upstash is down or slow (the failure policy)', () => {
  let app: TestApp;
  let user: { accessToken: string; email: string };
  beforeAll(async () => {
    app = await setupTestApp({ env: { UPSTASH_TIMEOUT_MS: '300' } });
    user = await register(app);
  });

  it.each(['down', 'hang'] as const)(
    'Upstash %s: unauthenticated routes fail closed with 503 and Retry-After, quickly',
    async (fault) => {
      allowConsoleErrors(/"status":503/);
      await app.fault({ upstash: fault });
      try {
        const started = performance.now();
        const { result: res, lines } = await captureLogs(() =>
          app.request('/api/v1/auth/login', json({ email: user.email, password: PASSWORD })),
        );
        expect(performance.now() - started).toBeLessThan(2500);
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('5');
        expect((await res.json<{ code: string }>()).code).toBe('DEPENDENCY_UNAVAILABLE');
        expect(lines.some((l) => l.includes('rate limiter unavailable') && l.includes('fail closed'))).toBe(true);
      } finally {
        await app.fault({ upstash: 'none' });
      }
    },
  );

  it.each(['down', 'hang'] as const)('Upstash %s: authenticated routes fail open, logged', async (fault) => {
    await app.fault({ upstash: fault });
    try {
      const started = performance.now();
      const { result: res, lines } = await captureLogs(() => app.request('/api/v1/auth/me', bearer(user.accessToken)));
      expect(performance.now() - started).toBeLessThan(2500);
      expect(res.status).toBe(200);
      expect(lines.some((l) => l.includes('rate limiter unavailable') && l.includes('fail open'))).toBe(true);
    } finally {
      await app.fault({ upstash: 'none' });
    }
  });
});

describe('secrets never leak', () => {
  it('no log line holds a password, a token or a hash, through a whole account journey', async () => {
    const app = await setupTestApp();
    const email = uniqueEmail('leak');
    const secrets: string[] = [PASSWORD];
    const { lines } = await captureLogs(async () => {
      const user = await register(app, { email });
      secrets.push(user.accessToken, user.refreshToken, hashToken(user.refreshToken));
      const login = await (
        await app.request('/api/v1/auth/login', json({ email, password: PASSWORD }))
      ).json<{ refresh_token: string; access_token: string }>();
      secrets.push(login.refresh_token, login.access_token);
      await app.request('/api/v1/auth/login', json({ email, password: 'wrong password 9' }));
      const rotated = await (
        await app.request('/api/v1/auth/refresh', json({ refresh_token: login.refresh_token }))
      ).json<{ refresh_token: string }>();
      secrets.push(rotated.refresh_token);
      await app.request('/api/v1/auth/me', bearer(user.accessToken));
      await app.request('/api/v1/auth/logout', json({ refresh_token: rotated.refresh_token }));
      await app.request('/api/v1/auth/forgot-password', json({ email }));
      const mail = (await app.outbox(email)).find((m) => m.kind === 'password-reset');
      const resetToken = /code in the app: ([A-Za-z0-9_-]{43})/.exec(mail?.text ?? '')?.[1] ?? 'missing';
      expect(resetToken).not.toBe('missing');
      secrets.push(resetToken, 'reset horse 31');
      await app.request('/api/v1/auth/reset-password', json({ token: resetToken, new_password: 'reset horse 31' }));
      const [row] = await app.sql`select password_hash from users where email = ${email}`;
      secrets.push(String(row?.password_hash));
    });
    expect(lines.length).toBeGreaterThan(5);
    const all = [...lines, ...consoleErrors()].join('\n');
    for (const secret of secrets) expect(all).not.toContain(secret);
    expect(all).not.toMatch(/\$pbkdf2-sha256\$/);
  });

  it('no response but the token responses carries a token or a hash', async () => {
    const app = await setupTestApp();
    const user = await register(app);
    const me = await (await app.request('/api/v1/auth/me', bearer(user.accessToken))).text();
    expect(me).not.toContain(user.refreshToken);
    expect(me).not.toContain('pbkdf2');
    expect(me).not.toMatch(/password|failed_login|locked_until/);
  });

  it('auth bodies over 4 KiB are refused with 413 before anything else', async () => {
    const app = await setupTestApp();
    const res = await app.request('/api/v1/auth/login', json({ email: uniqueEmail(), password: 'x'.repeat(5000) }));
    expect(res.status).toBe(413);
  });
});

describe('round trips per auth route', () => {
  it('stays within its budget: one Upstash call (the limit) and one Neon call; two Neon for login and resend, two Upstash for ending sessions', async () => {
    const app = await setupTestApp();
    const email = uniqueEmail('trips');
    const measure = async (path: string, init: RequestInit) => {
      await app.resetCounters();
      const res = await app.request(path, init);
      const counters = await app.counters();
      return { status: res.status, neon: counters.neon.requests, upstash: counters.upstash.requests, res };
    };
    const registered = await measure('/api/v1/auth/register', json({ email, password: PASSWORD, full_name: 'Trips' }));
    // The second Upstash call is the per-address email cap, after the response (src/features/auth/email-cap.ts).
    expect(registered).toMatchObject({ status: 201, neon: 1, upstash: 2 });
    const tokens = await registered.res.json<{ access_token: string; refresh_token: string }>();
    expect(await measure('/api/v1/auth/login', json({ email, password: PASSWORD }))).toMatchObject({
      status: 200,
      neon: 2,
      upstash: 1,
    });
    expect(await measure('/api/v1/auth/login', json({ email: uniqueEmail(), password: PASSWORD }))).toMatchObject({
      status: 401,
      neon: 1,
      upstash: 1,
    });
    // Refresh is limited per session family in its own statement: no Upstash call (0015).
    expect(await measure('/api/v1/auth/refresh', json({ refresh_token: tokens.refresh_token }))).toMatchObject({
      status: 200,
      neon: 1,
      upstash: 0,
    });
    expect(await measure('/api/v1/auth/me', bearer(tokens.access_token))).toMatchObject({
      status: 200,
      neon: 1,
      upstash: 1,
    });
    expect(
      await measure('/api/v1/auth/resend-verification', bearer(tokens.access_token, { method: 'POST' })),
    ).toMatchObject({ status: 202, neon: 2, upstash: 2 });
    const token = /code in the app: ([A-Za-z0-9_-]{43})/.exec((await app.outbox(email)).at(-1)?.text ?? '')?.[1] ?? '';
    expect(await measure('/api/v1/auth/verify-email', json({ token }))).toMatchObject({
      status: 200,
      neon: 1,
      upstash: 1,
    });
    // Ending sessions writes their ids to the access-token denylist: one more Upstash call.
    expect(await measure('/api/v1/auth/logout-all', bearer(tokens.access_token, { method: 'POST' }))).toMatchObject({
      status: 204,
      neon: 1,
      upstash: 2,
    });
    // Nothing left to end: no denylist write.
    expect(await measure('/api/v1/auth/logout', json({ refresh_token: tokens.refresh_token }))).toMatchObject({
      status: 204,
      neon: 1,
      upstash: 1,
    });
  });
});

describe('the scheduled cleanup', () => {
  it('deletes dead sessions and old verification tokens, and keeps live families with their rotated tokens', async () => {
    const clock = new TestClock();
    const app = await setupTestApp({ deps: () => ({ clock }) });
    const live = await register(app);
    const rotated = await (
      await app.request('/api/v1/auth/refresh', json({ refresh_token: live.refreshToken }))
    ).json<{ refresh_token: string }>();
    const dead = await register(app);
    await app.request('/api/v1/auth/logout', json({ refresh_token: dead.refreshToken }));
    // An expired reset token, and an old, expired verification token for the live user.
    await app.sql`insert into password_reset_tokens (user_id, token_hash, expires_at) values (${live.userId}, 'expired-reset', now() - interval '1 minute')`;
    await app.sql`update email_verification_tokens set expires_at = now() - interval '1 hour' where user_id = ${live.userId}`;

    const { lines } = await captureLogs(() =>
      worker.scheduled(createScheduledController({ cron: '17 * * * *', scheduledTime: Date.now() }), app.env),
    );
    expect(lines.find((l) => l.includes('scheduled cleanup'))).toContain('"refreshTokens":1');

    const liveRows =
      await app.sql`select revoked_reason from refresh_tokens where user_id = ${live.userId} order by created_at`;
    expect(liveRows.map((r) => r.revoked_reason as string | null)).toEqual(['rotated', null]);
    expect(await app.sql`select 1 from refresh_tokens where user_id = ${dead.userId}`).toEqual([]);
    expect(await app.sql`select 1 from email_verification_tokens where user_id = ${live.userId}`).toEqual([]);
    expect(await app.sql`select 1 from email_verification_tokens where user_id = ${dead.userId}`).toHaveLength(1);
    expect(await app.sql`select 1 from password_reset_tokens where user_id = ${live.userId}`).toEqual([]);
    // The rotated token still triggers reuse detection afterwards.
    clock.advance(60_000);
    expect((await app.request('/api/v1/auth/refresh', json({ refresh_token: live.refreshToken }))).status).toBe(403);
    expect((await app.request('/api/v1/auth/refresh', json({ refresh_token: rotated.refresh_token }))).status).toBe(
      403,
    );
  });
});
