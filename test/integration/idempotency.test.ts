import { beforeAll, describe, expect, it } from 'vitest';
import { appWithTwoUsers, bearer, register, type Registered } from '../helpers/auth.ts';
import { as, createCategory, createTask, type Problem, type TaskBody } from '../helpers/tasks.ts';
import { allowConsoleErrors } from '../helpers/fail-on-console-error.ts';
import { json, setupTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
let ann: Registered;
let bob: Registered;

beforeAll(async () => {
  ({ app, ann, bob } = await appWithTwoUsers());
});

const keyed = (token: string, key: string, body: unknown, init: RequestInit = {}) =>
  json(body, bearer(token, { ...init, headers: { 'idempotency-key': key } }));

const trips = (res: Response) => {
  const timing = res.headers.get('server-timing') ?? '';
  return { neon: Number(/Neon x(\d+)/.exec(timing)?.[1]), upstash: Number(/Upstash x(\d+)/.exec(timing)?.[1]) };
};

async function taskCount(userId: string, title: string): Promise<number> {
  const [row] = await app.sql`select count(*)::int as n from tasks where user_id = ${userId} and title = ${title}`;
  return row?.n as number;
}

describe('Idempotency-Key', () => {
  it('a retried POST with the same key and body gets the same response and creates exactly one task', async () => {
    const key = crypto.randomUUID();
    const first = await app.request('/api/v1/tasks', keyed(ann.accessToken, key, { title: 'Exactly once' }));
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const created = await first.text();
    for (let i = 0; i < 3; i++) {
      const retry = await app.request('/api/v1/tasks', keyed(ann.accessToken, key, { title: 'Exactly once' }));
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(retry.headers.get('location')).toBe(first.headers.get('location'));
      expect(retry.headers.get('etag')).toBe(first.headers.get('etag'));
      expect(retry.headers.get('content-type')).toBe(first.headers.get('content-type'));
      expect(await retry.text()).toBe(created);
      // The replay did no work: no database call.
      expect(trips(retry)).toEqual({ neon: 0, upstash: 1 });
    }
    expect(await taskCount(ann.userId, 'Exactly once')).toBe(1);
  });

  it('the same key with another body is 422 and writes nothing', async () => {
    const key = crypto.randomUUID();
    expect((await app.request('/api/v1/tasks', keyed(ann.accessToken, key, { title: 'Original' }))).status).toBe(201);
    const other = await app.request('/api/v1/tasks', keyed(ann.accessToken, key, { title: 'Something else' }));
    expect(other.status).toBe(422);
    expect(other.headers.get('content-type')).toContain('application/problem+json');
    expect((await other.json<Problem>()).code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await taskCount(ann.userId, 'Something else')).toBe(0);
    // And with the same body on another route.
    const elsewhere = await app.request('/api/v1/categories', keyed(ann.accessToken, key, { title: 'Original' }));
    expect(elsewhere.status).toBe(422);
  });

  it('keys belong to their user: the same key from another user is a new request', async () => {
    const key = crypto.randomUUID();
    expect((await app.request('/api/v1/tasks', keyed(ann.accessToken, key, { title: 'Shared key' }))).status).toBe(201);
    const bobs = await app.request('/api/v1/tasks', keyed(bob.accessToken, key, { title: 'Shared key' }));
    expect(bobs.status).toBe(201);
    expect(bobs.headers.get('idempotent-replayed')).toBeNull();
    expect((await bobs.json<TaskBody>()).user_id).toBe(bob.userId);
  });

  it('two concurrent requests with one key: one does the work, the other gets 409 while it runs', async () => {
    const slow = await setupTestApp();
    const user = await register(slow);
    await slow.latency({ neon: 400 });
    const key = crypto.randomUUID();
    const send = () => slow.request('/api/v1/tasks', keyed(user.accessToken, key, { title: 'Raced' }));
    const first = send();
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = await send();
    expect(second.status).toBe(409);
    expect(second.headers.get('retry-after')).toBe('1');
    expect((await second.json<Problem>()).code).toBe('IDEMPOTENCY_KEY_IN_USE');
    expect((await first).status).toBe(201);
    await slow.latency({ neon: 0 });
    const [row] =
      await slow.sql`select count(*)::int as n from tasks where user_id = ${user.userId} and title = 'Raced'`;
    expect(row?.n).toBe(1);
    // Once it finished, a retry gets the stored answer.
    const later = await send();
    expect(later.status).toBe(201);
    expect(later.headers.get('idempotent-replayed')).toBe('true');
  });

  it('a retried PATCH replays its 200 instead of failing on the version it already moved', async () => {
    const task = await createTask(app, ann.accessToken, { title: 'Patched once' });
    const key = crypto.randomUUID();
    const patch = () =>
      app.request(
        `/api/v1/tasks/${task.id}`,
        keyed(ann.accessToken, key, { status: 'done', version: 1 }, { method: 'PATCH' }),
      );
    const first = await patch();
    expect(first.status).toBe(200);
    const again = await patch();
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await again.json<TaskBody>()).version).toBe(2);
    expect((await app.sql`select version from tasks where id = ${task.id}`)[0]?.version).toBe(2);
  });

  it('covers category creation, category assignment and restore too', async () => {
    const key = crypto.randomUUID();
    const create = () => app.request('/api/v1/categories', keyed(ann.accessToken, key, { name: 'Once only' }));
    expect((await create()).status).toBe(201);
    const retried = await create();
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    const [count] =
      await app.sql`select count(*)::int as n from categories where user_id = ${ann.userId} and name = 'Once only'`;
    expect(count?.n).toBe(1);

    const task = await createTask(app, ann.accessToken, { title: 'Linked once' });
    const category = await createCategory(app, ann.accessToken, 'Link once');
    const linkKey = crypto.randomUUID();
    const link = () =>
      app.request(
        `/api/v1/tasks/${task.id}/categories/${category.id}`,
        bearer(ann.accessToken, { method: 'POST', headers: { 'idempotency-key': linkKey } }),
      );
    expect((await link()).status).toBe(200);
    // Without the key the second assignment would be 409 (already assigned).
    const relinked = await link();
    expect(relinked.status).toBe(200);
    expect(relinked.headers.get('idempotent-replayed')).toBe('true');

    await as(app, ann.accessToken).delete(`/api/v1/tasks/${task.id}`);
    const restoreKey = crypto.randomUUID();
    const restore = () =>
      app.request(
        `/api/v1/tasks/${task.id}/restore`,
        bearer(ann.accessToken, { method: 'POST', headers: { 'idempotency-key': restoreKey } }),
      );
    const restored = await restore();
    expect(restored.status).toBe(200);
    const again = await restore();
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe(await restored.text());
    expect((await app.sql`select version from tasks where id = ${task.id}`)[0]?.version).toBe(4);
  });

  it('keeps 4xx answers too, but not failures of ours: after a 5xx the retry runs again', async () => {
    allowConsoleErrors(/"status":5\d\d|unhandled|database unavailable|Neon/);
    const key = crypto.randomUUID();
    const invalid = () => app.request('/api/v1/tasks', keyed(ann.accessToken, key, { title: 'x' }));
    expect((await invalid()).status).toBe(400);
    const replayed = await invalid();
    expect(replayed.status).toBe(400);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');

    const broken = await setupTestApp();
    const user = await register(broken);
    const brokenKey = crypto.randomUUID();
    const send = () =>
      broken.request('/api/v1/tasks', keyed(user.accessToken, brokenKey, { title: 'After the outage' }));
    await broken.fault({ neon: 'error' });
    const failed = await send();
    expect(failed.status).toBeGreaterThanOrEqual(500);
    await broken.fault({ neon: 'none' });
    const retried = await send();
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
  });

  it('refuses a malformed key with 400, and without Upstash refuses keyed writes (503) rather than risk doing them twice', async () => {
    allowConsoleErrors(/"status":503/);
    // Header values are bytes: é is sent as the single byte 0xE9, outside visible ASCII.
    for (const key of ['', 'a'.repeat(256), 'spaces in key', 'tab\tkey', 'clé']) {
      const res = await app.request('/api/v1/tasks', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ann.accessToken}`,
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body: JSON.stringify({ title: 'Bad key' }),
      });
      expect(res.status, `${JSON.stringify(key)} ${await res.clone().text()}`).toBe(400);
    }
    expect(
      (await app.request('/api/v1/tasks', keyed(ann.accessToken, '"quoted-key"', { title: 'Quoted key' }))).status,
    ).toBe(201);
    expect(await taskCount(ann.userId, 'Bad key')).toBe(0);

    const down = await setupTestApp();
    const user = await register(down);
    await down.fault({ upstash: 'down' });
    const res = await down.request(
      '/api/v1/tasks',
      keyed(user.accessToken, crypto.randomUUID(), { title: 'Not without Upstash' }),
    );
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    // Without a key the write goes on (the per-user limit fails open).
    const unkeyed = await as(down, user.accessToken).post('/api/v1/tasks', { title: 'Unkeyed' });
    expect(unkeyed.status).toBe(201);
    await down.fault({ upstash: 'none' });
    const [row] =
      await down.sql`select count(*)::int as n from tasks where user_id = ${user.userId} and title = 'Not without Upstash'`;
    expect(row?.n).toBe(0);
  });

  it('costs no extra round trip: with or without a key, one Neon and one Upstash request on the request path', async () => {
    const plain = await as(app, ann.accessToken).post('/api/v1/tasks', { title: 'Unkeyed trip' });
    expect(trips(plain)).toEqual({ neon: 1, upstash: 1 });
    const withKey = await app.request(
      '/api/v1/tasks',
      keyed(ann.accessToken, crypto.randomUUID(), { title: 'Keyed trip' }),
    );
    expect(trips(withKey)).toEqual({ neon: 1, upstash: 1 });
  });
});
