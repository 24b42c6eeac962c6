import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, PASSWORD, register, uniqueEmail } from '../helpers/auth.ts';
import { json, setupTestApp, type TestApp } from '../helpers/test-app.ts';

interface UserBody {
  id: string;
  full_name: string;
  time_zone: string;
  updated_at: string;
}
interface ProblemBody {
  code: string;
  status: number;
  errors?: { pointer: string; detail: string }[];
}

const patchMe = (app: TestApp, token: string, body: unknown) =>
  app.request('/api/v1/auth/me', bearer(token, { ...json(body), method: 'PATCH' }));

describe("the user's time zone", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await setupTestApp();
  });

  it('is UTC for a new account, shown by /auth/me and stored', async () => {
    const user = await register(app);
    const me = await (await app.request('/api/v1/auth/me', bearer(user.accessToken))).json<UserBody>();
    expect(me.time_zone).toBe('UTC');
    expect(await app.sql`select time_zone from users where id = ${user.userId}`).toEqual([{ time_zone: 'UTC' }]);
  });

  it('can be given at registration, spelled as the runtime spells it', async () => {
    const res = await app.request(
      '/api/v1/auth/register',
      json({ email: uniqueEmail('tz'), password: PASSWORD, full_name: 'Zoe Zone', time_zone: 'america/new_york' }),
    );
    expect(res.status).toBe(201);
    const body = await res.json<{ user: UserBody }>();
    expect(body.user.time_zone).toBe('America/New_York');
    expect(await app.sql`select time_zone from users where id = ${body.user.id}`).toEqual([
      { time_zone: 'America/New_York' },
    ]);
  });

  it("keeps a link's own spelling (ICU would answer Asia/Calcutta for Asia/Kolkata)", async () => {
    const user = await register(app);
    const res = await patchMe(app, user.accessToken, { time_zone: 'Asia/Kolkata' });
    expect(await res.json<UserBody>()).toMatchObject({ time_zone: 'Asia/Kolkata' });
    expect(await app.sql`select time_zone from users where id = ${user.userId}`).toEqual([
      { time_zone: 'Asia/Kolkata' },
    ]);
  });

  it('PATCH /auth/me changes it and the name, and only for this user', async () => {
    const ann = await register(app);
    const bob = await register(app);
    const res = await patchMe(app, ann.accessToken, { time_zone: 'Europe/Berlin', full_name: 'Ann Berlin' });
    expect(res.status).toBe(200);
    const body = await res.json<UserBody>();
    expect(body).toMatchObject({ id: ann.userId, time_zone: 'Europe/Berlin', full_name: 'Ann Berlin' });
    expect(await app.sql`select time_zone, full_name from users where id = ${ann.userId}`).toEqual([
      { time_zone: 'Europe/Berlin', full_name: 'Ann Berlin' },
    ]);
    const me = await (await app.request('/api/v1/auth/me', bearer(ann.accessToken))).json<UserBody>();
    expect(me.time_zone).toBe('Europe/Berlin');
    expect(await app.sql`select time_zone from users where id = ${bob.userId}`).toEqual([{ time_zone: 'UTC' }]);

    const nameOnly = await patchMe(app, ann.accessToken, { full_name: 'Ann B.' });
    expect(await nameOnly.json<UserBody>()).toMatchObject({ time_zone: 'Europe/Berlin', full_name: 'Ann B.' });
  });

  it.each([
    ['an unknown zone', 'Mars/Olympus_Mons'],
    ['a UTC offset', '+05:00'],
    ['an empty name', ''],
    ['a name with a space', 'Europe/ Berlin'],
    ['a very long name', `Europe/${'A'.repeat(80)}`],
    ['a path', '../../etc/passwd'],
  ])('refuses %s with 400 naming the field, and changes nothing', async (_, zone) => {
    const user = await register(app);
    const res = await patchMe(app, user.accessToken, { time_zone: zone });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = await res.json<ProblemBody>();
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.errors?.map((e) => e.pointer)).toEqual(['/body/time_zone']);
    expect(await app.sql`select time_zone from users where id = ${user.userId}`).toEqual([{ time_zone: 'UTC' }]);
  });

  it('refuses an empty change, an unknown field and a non-string zone', async () => {
    const user = await register(app);
    for (const body of [{}, { email: 'x@example.com' }, { time_zone: 5 }, { time_zone: null }]) {
      const res = await patchMe(app, user.accessToken, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(await app.sql`select time_zone from users where id = ${user.userId}`).toEqual([{ time_zone: 'UTC' }]);
  });

  it('rides in the access token: from registration, login and refresh, the new zone after a change', async () => {
    const tzOf = (token: string) =>
      (JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { tz?: string }).tz;
    const email = uniqueEmail('tz-token');
    const registered = await (
      await app.request(
        '/api/v1/auth/register',
        json({ email, password: PASSWORD, full_name: 'Tia', time_zone: 'Asia/Tokyo' }),
      )
    ).json<{ access_token: string; refresh_token: string }>();
    expect(tzOf(registered.access_token)).toBe('Asia/Tokyo');

    expect((await patchMe(app, registered.access_token, { time_zone: 'Europe/Lisbon' })).status).toBe(200);
    const refreshed = await (
      await app.request('/api/v1/auth/refresh', json({ refresh_token: registered.refresh_token }))
    ).json<{ access_token: string }>();
    expect(tzOf(refreshed.access_token)).toBe('Europe/Lisbon');
    const login = await (
      await app.request('/api/v1/auth/login', json({ email, password: PASSWORD }))
    ).json<{
      access_token: string;
    }>();
    expect(tzOf(login.access_token)).toBe('Europe/Lisbon');
  });

  it('needs a token, and a deleted account is 401', async () => {
    expect((await app.request('/api/v1/auth/me', { ...json({ time_zone: 'UTC' }), method: 'PATCH' })).status).toBe(401);
    const user = await register(app);
    await app.sql`delete from users where id = ${user.userId}`;
    const res = await patchMe(app, user.accessToken, { time_zone: 'Asia/Tokyo' });
    expect(res.status).toBe(401);
  });
});
