import { beforeAll, describe, expect, it } from 'vitest';
import { appWithTwoUsers, bearer, register, type Registered } from '../helpers/auth.ts';
import { as, createCategory, createTask, type Problem, type TaskBody } from '../helpers/tasks.ts';
import { json, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
let ann: Registered;
let bob: Registered;

beforeAll(async () => {
  ({ app, ann, bob } = await appWithTwoUsers());
});

describe('categories', () => {
  it('creates with a default colour, lists by name, per user', async () => {
    const res = await as(app, ann.accessToken).post('/api/v1/categories', { name: 'Zeta' });
    expect(res.status).toBe(201);
    const zeta = await res.json<{ id: string; user_id: string; name: string; color: string; created_at: string }>();
    expect(zeta).toMatchObject({ user_id: ann.userId, name: 'Zeta', color: '#6B7280' });
    const alpha = await createCategory(app, ann.accessToken, 'alpha', '#12ab34');
    await createCategory(app, bob.accessToken, 'Bob only');
    const stored =
      await app.sql`select id, user_id, color from categories where id in (${zeta.id}, ${alpha.id}) order by lower(name)`;
    expect(stored).toEqual([
      { id: alpha.id, user_id: ann.userId, color: '#12AB34' },
      { id: zeta.id, user_id: ann.userId, color: '#6B7280' },
    ]);
    const list = await (
      await as(app, ann.accessToken).get('/api/v1/categories')
    ).json<{ items: { name: string; color: string }[] }>();
    expect(list.items.map((c) => [c.name, c.color])).toEqual([
      ['alpha', '#12AB34'],
      ['Zeta', '#6B7280'],
    ]);
    const bobs = await (await as(app, bob.accessToken).get('/api/v1/categories')).json<{ items: { name: string }[] }>();
    expect(bobs.items.map((c) => c.name)).toEqual(['Bob only']);
  });

  it('409 for a name the user already has, in any case; another user may use it', async () => {
    await createCategory(app, ann.accessToken, 'Errands');
    const dup = await as(app, ann.accessToken).post('/api/v1/categories', { name: 'ERRANDS' });
    expect(dup.status).toBe(409);
    expect((await dup.json<Problem>()).code).toBe('CONFLICT');
    await createCategory(app, bob.accessToken, 'Errands');
    const rows = await app.sql`select count(*)::int as n from categories where lower(name) = 'errands'`;
    expect(rows[0]?.n).toBe(2);
  });

  it.each([
    ['a 2-character name', { name: 'ab' }, '/body/name'],
    ['a 51-character name', { name: 'x'.repeat(51) }, '/body/name'],
    ['a bad colour', { name: 'Valid', color: 'red' }, '/body/color'],
    ['a short colour', { name: 'Valid', color: '#fff' }, '/body/color'],
    ['an unknown field', { name: 'Valid', user_id: 'x' }, '/body'],
  ])('400 for %s', async (_what, body, pointer) => {
    const res = await as(app, ann.accessToken).post('/api/v1/categories', body);
    expect(res.status).toBe(400);
    const problem = await res.clone().json<Problem>();
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect((await res.json<Problem>()).errors?.map((e) => e.pointer)).toContain(pointer);
    const rows = await app.sql`select 1 from categories where user_id = ${ann.userId} and name = ${body.name}`;
    expect(rows).toEqual([]);
  });

  it("delete: 204 and its links go, the tasks stay; 403 for another user's, 404 for a missing one", async () => {
    const category = await createCategory(app, ann.accessToken, 'Temporary');
    const task = await createTask(app, ann.accessToken);
    await as(app, ann.accessToken).post(`/api/v1/tasks/${task.id}/categories/${category.id}`);
    const forbidden = await as(app, bob.accessToken).delete(`/api/v1/categories/${category.id}`);
    expect(forbidden.status).toBe(403);
    expect((await forbidden.json<Problem>()).code).toBe('FORBIDDEN');
    expect(await app.sql`select 1 from categories where id = ${category.id}`).toHaveLength(1);
    expect(await app.sql`select 1 from task_categories where category_id = ${category.id}`).toHaveLength(1);
    expect((await as(app, ann.accessToken).delete(`/api/v1/categories/${category.id}`)).status).toBe(204);
    expect(await app.sql`select 1 from task_categories where category_id = ${category.id}`).toEqual([]);
    expect(await app.sql`select 1 from categories where id = ${category.id}`).toEqual([]);
    expect(await app.sql`select deleted_at from tasks where id = ${task.id}`).toEqual([{ deleted_at: null }]);
    const after = await (await as(app, ann.accessToken).get(`/api/v1/tasks/${task.id}`)).json<TaskBody>();
    expect(after.categories).toEqual([]);
    const missing = await as(app, ann.accessToken).delete(`/api/v1/categories/${category.id}`);
    expect(missing.status).toBe(404);
    expect((await missing.json<Problem>()).code).toBe('NOT_FOUND');
    const malformed = await as(app, ann.accessToken).delete('/api/v1/categories/not-a-uuid');
    expect(malformed.status).toBe(400);
    expect((await malformed.json<Problem>()).code).toBe('VALIDATION_FAILED');
  });
});

describe('assigning categories to tasks', () => {
  it('200 with the task and its categories; a second assignment is 409', async () => {
    const task = await createTask(app, ann.accessToken);
    const home = await createCategory(app, ann.accessToken, 'Home');
    const garden = await createCategory(app, ann.accessToken, 'garden');
    await as(app, ann.accessToken).post(`/api/v1/tasks/${task.id}/categories/${home.id}`);
    const res = await as(app, ann.accessToken).post(`/api/v1/tasks/${task.id}/categories/${garden.id}`);
    expect(res.status).toBe(200);
    const body = await res.json<TaskBody>();
    expect(body.id).toBe(task.id);
    expect(body.categories.map((c) => c.name)).toEqual(['garden', 'Home']);
    const again = await as(app, ann.accessToken).post(`/api/v1/tasks/${task.id}/categories/${home.id}`);
    expect(again.status).toBe(409);
    expect((await again.json<Problem>()).code).toBe('CONFLICT');
    expect(await app.sql`select 1 from task_categories where task_id = ${task.id}`).toHaveLength(2);
  });

  it("checks both sides: 403 for another user's task or category, 404 for missing ones, nothing linked", async () => {
    const annTask = await createTask(app, ann.accessToken);
    const annCategory = await createCategory(app, ann.accessToken, 'Mine');
    const bobTask = await createTask(app, bob.accessToken);
    const bobCategory = await createCategory(app, bob.accessToken, 'Theirs');
    const cases: [string, string, number][] = [
      [annTask.id, bobCategory.id, 403],
      [bobTask.id, annCategory.id, 403],
      [bobTask.id, bobCategory.id, 403],
      [crypto.randomUUID(), annCategory.id, 404],
      [annTask.id, crypto.randomUUID(), 404],
    ];
    for (const [taskId, categoryId, status] of cases) {
      const assigned = await as(app, ann.accessToken).post(`/api/v1/tasks/${taskId}/categories/${categoryId}`);
      expect(assigned.status, `${taskId}/${categoryId}`).toBe(status);
      const removed = await as(app, ann.accessToken).delete(`/api/v1/tasks/${taskId}/categories/${categoryId}`);
      expect(removed.status).toBe(status);
      const code = status === 403 ? 'FORBIDDEN' : 'NOT_FOUND';
      expect((await assigned.json<Problem>()).code, `${taskId}/${categoryId}`).toBe(code);
      expect((await removed.json<Problem>()).code, `${taskId}/${categoryId}`).toBe(code);
    }
    const links = await app.sql`select 1 from task_categories where task_id in (${annTask.id}, ${bobTask.id})`;
    expect(links).toEqual([]);
  });

  it('a deleted task cannot be linked (404)', async () => {
    const task = await createTask(app, ann.accessToken);
    const category = await createCategory(app, ann.accessToken, 'Late');
    await as(app, ann.accessToken).delete(`/api/v1/tasks/${task.id}`);
    const res = await as(app, ann.accessToken).post(`/api/v1/tasks/${task.id}/categories/${category.id}`);
    expect(res.status).toBe(404);
    expect((await res.json<Problem>()).code).toBe('NOT_FOUND');
    expect(await app.sql`select 1 from task_categories where task_id = ${task.id}`).toEqual([]);
  });

  it('remove: 204, then 404 because the link is gone', async () => {
    const task = await createTask(app, ann.accessToken);
    const category = await createCategory(app, ann.accessToken, 'Removable');
    await as(app, ann.accessToken).post(`/api/v1/tasks/${task.id}/categories/${category.id}`);
    expect((await as(app, ann.accessToken).delete(`/api/v1/tasks/${task.id}/categories/${category.id}`)).status).toBe(
      204,
    );
    expect(await app.sql`select 1 from task_categories where task_id = ${task.id}`).toEqual([]);
    const gone = await as(app, ann.accessToken).delete(`/api/v1/tasks/${task.id}/categories/${category.id}`);
    expect(gone.status).toBe(404);
    expect((await gone.json<Problem>()).code).toBe('NOT_FOUND');
  });
});

describe('round trips per task and category endpoint', () => {
  it('each costs exactly one Neon and one Upstash request', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    // The request path is what Server-Timing reports (work after the response, like filling the
    // cache or the second invalidation, is not); the stand-ins see both.
    const measure = async (call: () => Promise<Response>, status: number) => {
      await app.resetCounters();
      const res = await call();
      expect(res.status, await res.clone().text()).toBe(status);
      const timing = res.headers.get('server-timing') ?? '';
      const neon = Number(/Neon x(\d+)/.exec(timing)?.[1]);
      const upstash = Number(/Upstash x(\d+)/.exec(timing)?.[1]);
      const counters = await app.counters();
      expect(counters.neon.requests).toBe(neon);
      expect(counters.upstash.requests).toBeLessThanOrEqual(upstash + 1);
      return { neon, upstash, res };
    };
    const created = await measure(() => api.post('/api/v1/tasks', { title: 'Counted' }), 201);
    const task = await created.res.json<TaskBody>();
    const category = await (
      await measure(() => api.post('/api/v1/categories', { name: 'Counted' }), 201)
    ).res.json<{ id: string }>();
    const budgets = [
      created,
      await measure(() => api.get('/api/v1/tasks?status=todo&sort=-due_date'), 200),
      await measure(() => api.get(`/api/v1/tasks/${task.id}`), 200),
      await measure(() => api.patch(`/api/v1/tasks/${task.id}`, { title: 'Counted twice', version: 1 }), 200),
      await measure(() => api.patch(`/api/v1/tasks/${task.id}`, { title: 'Stale', version: 1 }), 409),
      await measure(() => api.post(`/api/v1/tasks/${task.id}/categories/${category.id}`), 200),
      await measure(() => api.delete(`/api/v1/tasks/${task.id}/categories/${category.id}`), 204),
      await measure(() => api.get('/api/v1/categories'), 200),
      await measure(() => api.delete(`/api/v1/categories/${category.id}`), 204),
      await measure(() => api.delete(`/api/v1/tasks/${task.id}`), 204),
      await measure(() => api.get(`/api/v1/tasks/${task.id}`), 404),
      await measure(() => api.get('/api/v1/tasks/trash'), 200),
      await measure(() => api.post(`/api/v1/tasks/${task.id}/restore`), 200),
      await measure(() => api.get('/api/v1/tasks/changes'), 200),
      await measure(
        () =>
          app.request(
            `/api/v1/tasks/${task.id}`,
            json({ title: 'Conditional' }, bearer(user.accessToken, { method: 'PATCH', headers: { 'if-match': '*' } })),
          ),
        200,
      ),
      await measure(
        () =>
          app.request(
            '/api/v1/tasks',
            json({ title: 'Keyed' }, bearer(user.accessToken, { headers: { 'idempotency-key': 'counted-key' } })),
          ),
        201,
      ),
    ];
    expect(budgets.map((b) => [b.neon, b.upstash])).toEqual(budgets.map(() => [1, 1]));
    // A cached read costs no Neon call, and its cache check rides in the rate limiter's request.
    const fresh = await (await api.post('/api/v1/tasks', { title: 'Cached' })).json<TaskBody>();
    expect(await measure(() => api.get(`/api/v1/tasks/${fresh.id}`), 200)).toMatchObject({ neon: 1, upstash: 1 });
    expect(await measure(() => api.get(`/api/v1/tasks/${fresh.id}`), 200)).toMatchObject({ neon: 0, upstash: 1 });
    // A replayed Idempotency-Key does no work, and an unchanged task answers 304 from the cache.
    const notModified = await measure(
      () =>
        app.request(
          `/api/v1/tasks/${fresh.id}`,
          bearer(user.accessToken, { headers: { 'if-none-match': `"${fresh.id}.1"` } }),
        ),
      304,
    );
    expect(notModified).toMatchObject({ neon: 0, upstash: 1 });
    const replay = await measure(
      () =>
        app.request(
          '/api/v1/tasks',
          json({ title: 'Keyed' }, bearer(user.accessToken, { headers: { 'idempotency-key': 'counted-key' } })),
        ),
      201,
    );
    expect(replay).toMatchObject({ neon: 0, upstash: 1 });
  });
});

describe('per-user caps', () => {
  it('refuses a task past 10,000 live ones and a category past 200 with 409 LIMIT_REACHED; deleted tasks do not count', async () => {
    const user = await register(app);
    await app.sql`insert into tasks (user_id, title, position) select ${user.userId}, 'Bulk ' || g, 'z' || left(md5(gen_random_uuid()::text), 26) from generate_series(1, 10000) g`;
    const refused = await as(app, user.accessToken).post('/api/v1/tasks', { title: 'One too many' });
    expect(refused.status).toBe(409);
    expect((await refused.json<Problem>()).code).toBe('LIMIT_REACHED');
    expect((await app.sql`select count(*)::int as n from tasks where user_id = ${user.userId}`)[0]?.n).toBe(10000);
    await app.sql`update tasks set deleted_at = now() where id = (select id from tasks where user_id = ${user.userId} limit 1)`;
    expect((await as(app, user.accessToken).post('/api/v1/tasks', { title: 'Room again' })).status).toBe(201);

    await app.sql`insert into categories (user_id, name) select ${user.userId}, 'Category ' || g from generate_series(1, 200) g`;
    const tooMany = await as(app, user.accessToken).post('/api/v1/categories', { name: 'Two hundred and one' });
    expect(tooMany.status).toBe(409);
    expect((await tooMany.json<Problem>()).code).toBe('LIMIT_REACHED');
    expect((await app.sql`select count(*)::int as n from categories where user_id = ${user.userId}`)[0]?.n).toBe(200);
  });
});
