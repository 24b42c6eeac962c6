import { beforeAll, describe, expect, it } from 'vitest';
import { appWithTwoUsers, register, type Registered } from '../helpers/auth.ts';
import { as, createCategory, createTask, inDays, type Problem, type TaskBody } from '../helpers/tasks.ts';
import type { TestApp } from '../helpers/test-app.ts';

interface Page {
  items: TaskBody[];
  total: number;
  page: number;
  limit: number;
}

let app: TestApp;
let ann: Registered;
let bob: Registered;

beforeAll(async () => {
  ({ app, ann, bob } = await appWithTwoUsers());
});

describe('POST /api/v1/tasks', () => {
  it('creates with defaults and answers 201 with Location and the task', async () => {
    const res = await as(app, ann.accessToken).post('/api/v1/tasks', { title: 'Buy milk' });
    expect(res.status).toBe(201);
    const task = await res.json<TaskBody>();
    expect(res.headers.get('location')).toBe(`/api/v1/tasks/${task.id}`);
    expect(task).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
      user_id: ann.userId,
      parent_id: null,
      // Ann's first task, so the first key of the manual order.
      position: 'a0',
      title: 'Buy milk',
      description: null,
      status: 'todo',
      priority: 'medium',
      due_date: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as string,
      updated_at: task.created_at,
      deleted_at: null,
      recurrence: null,
      completed_occurrences: 0,
      reminders: [],
      version: 1,
      subtask_count: 0,
      categories: [],
    });
    const [row] = await app.sql`select user_id, title, status, priority, version from tasks where id = ${task.id}`;
    expect(row).toEqual({ user_id: ann.userId, title: 'Buy milk', status: 'todo', priority: 'medium', version: 1 });
  });

  it('takes description, due date and priority', async () => {
    const due = inDays(3);
    const task = await createTask(app, ann.accessToken, {
      title: 'Report',
      description: 'Q4 numbers',
      due_date: due,
      priority: 'urgent',
    });
    expect(task).toMatchObject({ description: 'Q4 numbers', priority: 'urgent', due_date: due });
  });

  it.each([
    ['a 2-character title', { title: 'ab' }, '/body/title'],
    ['a 201-character title', { title: 'x'.repeat(201) }, '/body/title'],
    ['a 2001-character description', { description: 'x'.repeat(2001) }, '/body/description'],
    ['a due date in the past', { due_date: '2020-01-01T00:00:00Z' }, '/body/due_date'],
    ['a date that is not RFC 3339', { due_date: 'tomorrow' }, '/body/due_date'],
    ['an unknown priority', { priority: 'whenever' }, '/body/priority'],
    ['a status (not settable at creation)', { status: 'done' }, '/body'],
    ['user_id', { user_id: '00000000-0000-4000-8000-000000000000' }, '/body'],
    ['id', { id: '00000000-0000-4000-8000-000000000000' }, '/body'],
    ['deleted_at', { deleted_at: '2030-01-01T00:00:00Z' }, '/body'],
    ['version', { version: 7 }, '/body'],
    ['a NUL in the title', { title: 'abc\u0000def' }, '/body/title'],
  ])('400 for %s, and nothing written', async (_what, change, pointer) => {
    const before = await app.sql`select count(*)::int as n from tasks where user_id = ${ann.userId}`;
    const res = await as(app, ann.accessToken).post('/api/v1/tasks', { title: 'Valid title', ...change });
    expect(res.status).toBe(400);
    const body = await res.json<Problem>();
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.errors?.map((e) => e.pointer)).toContain(pointer);
    const after = await app.sql`select count(*)::int as n from tasks where user_id = ${ann.userId}`;
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  it('401 without a token', async () => {
    expect((await app.request('/api/v1/tasks', { method: 'POST' })).status).toBe(401);
  });
});

describe('GET /api/v1/tasks/{task_id}', () => {
  it('returns the task with its categories', async () => {
    const task = await createTask(app, ann.accessToken);
    const category = await createCategory(app, ann.accessToken, `Home ${crypto.randomUUID().slice(0, 4)}`);
    await as(app, ann.accessToken).post(`/api/v1/tasks/${task.id}/categories/${category.id}`);
    const res = await as(app, ann.accessToken).get(`/api/v1/tasks/${task.id}`);
    expect(res.status).toBe(200);
    expect((await res.json<TaskBody>()).categories).toEqual([
      { id: category.id, name: category.name, color: '#6B7280' },
    ]);
  });

  it("403 for another user's task, 404 for a missing or deleted one, 400 for a non-UUID id", async () => {
    const task = await createTask(app, ann.accessToken);
    const forbidden = await as(app, bob.accessToken).get(`/api/v1/tasks/${task.id}`);
    expect(forbidden.status).toBe(403);
    const body = await forbidden.text();
    expect(body).toContain('FORBIDDEN');
    expect(body).not.toContain(task.title);
    expect((await as(app, ann.accessToken).get(`/api/v1/tasks/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await as(app, ann.accessToken).delete(`/api/v1/tasks/${task.id}`)).status).toBe(204);
    expect((await as(app, ann.accessToken).get(`/api/v1/tasks/${task.id}`)).status).toBe(404);
    expect((await as(app, bob.accessToken).get(`/api/v1/tasks/${task.id}`)).status).toBe(404);
    expect((await as(app, ann.accessToken).get('/api/v1/tasks/12345')).status).toBe(400);
  });
});

describe('PATCH /api/v1/tasks/{task_id}', () => {
  it('applies a partial change when the version matches, and increments it', async () => {
    const task = await createTask(app, ann.accessToken, { description: 'keep me' });
    const res = await as(app, ann.accessToken).patch(`/api/v1/tasks/${task.id}`, {
      status: 'in_progress',
      title: 'Renamed',
      version: 1,
    });
    expect(res.status).toBe(200);
    const updated = await res.json<TaskBody>();
    expect(updated).toMatchObject({ status: 'in_progress', title: 'Renamed', description: 'keep me', version: 2 });
    expect(Date.parse(updated.updated_at)).toBeGreaterThanOrEqual(Date.parse(task.updated_at));
    const [row] = await app.sql`select title, status, version from tasks where id = ${task.id}`;
    expect(row).toEqual({ title: 'Renamed', status: 'in_progress', version: 2 });
  });

  it('clears a nullable field with null', async () => {
    const task = await createTask(app, ann.accessToken, { description: 'x', due_date: inDays(1) });
    const res = await as(app, ann.accessToken).patch(`/api/v1/tasks/${task.id}`, {
      description: null,
      due_date: null,
      version: 1,
    });
    expect(await res.json()).toMatchObject({ description: null, due_date: null, version: 2 });
  });

  it('409 for a stale version, with the current version, and nothing changed', async () => {
    const task = await createTask(app, ann.accessToken);
    await as(app, ann.accessToken).patch(`/api/v1/tasks/${task.id}`, { title: 'First edit', version: 1 });
    const res = await as(app, ann.accessToken).patch(`/api/v1/tasks/${task.id}`, { title: 'Stale edit', version: 1 });
    expect(res.status).toBe(409);
    const body = await res.json<Problem>();
    expect(body).toMatchObject({ code: 'CONFLICT', current_version: 2 });
    const [row] = await app.sql`select title, version from tasks where id = ${task.id}`;
    expect(row).toEqual({ title: 'First edit', version: 2 });
  });

  it('N concurrent PATCHes with the same version: exactly one succeeds, the rest get 409', async () => {
    const task = await createTask(app, ann.accessToken);
    const titles = Array.from({ length: 8 }, (_, i) => `Concurrent edit ${i}`);
    const results = await Promise.all(
      titles.map((title) => as(app, ann.accessToken).patch(`/api/v1/tasks/${task.id}`, { title, version: 1 })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
    // Every loser learns the version that is current now (the winner's), not the one it sent.
    for (const loser of results.filter((r) => r.status === 409)) {
      expect((await loser.json<Problem>()).current_version).toBe(2);
    }
    const winner = await results.find((r) => r.status === 200)!.json<TaskBody>();
    const [row] = await app.sql`select title, version from tasks where id = ${task.id}`;
    expect(row).toEqual({ title: winner.title, version: 2 });
  });

  it('400 without a version, with only a version, with a past due date or an unknown field', async () => {
    const task = await createTask(app, ann.accessToken);
    for (const body of [
      { title: 'No version' },
      { version: 1 },
      { due_date: '2001-01-01T00:00:00Z', version: 1 },
      { version: 1, user_id: bob.userId },
      { version: 0, title: 'abc' },
    ]) {
      const res = await as(app, ann.accessToken).patch(`/api/v1/tasks/${task.id}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const [row] = await app.sql`select version, user_id from tasks where id = ${task.id}`;
    expect(row).toEqual({ version: 1, user_id: ann.userId });
  });

  it("403 for another user's task and nothing changed; 404 for a missing one", async () => {
    const task = await createTask(app, ann.accessToken);
    expect(
      (await as(app, bob.accessToken).patch(`/api/v1/tasks/${task.id}`, { title: 'Hijacked', version: 1 })).status,
    ).toBe(403);
    const [row] = await app.sql`select title, version from tasks where id = ${task.id}`;
    expect(row).toEqual({ title: task.title, version: 1 });
    expect(
      (await as(app, ann.accessToken).patch(`/api/v1/tasks/${crypto.randomUUID()}`, { title: 'Ghost', version: 1 }))
        .status,
    ).toBe(404);
  });
});

describe('DELETE /api/v1/tasks/{task_id}', () => {
  it('soft-deletes: 204, the row stays with deleted_at, and the task disappears everywhere', async () => {
    const task = await createTask(app, ann.accessToken, { title: 'Soon gone' });
    const res = await as(app, ann.accessToken).delete(`/api/v1/tasks/${task.id}`);
    expect(res.status).toBe(204);
    const [row] = await app.sql`select deleted_at from tasks where id = ${task.id}`;
    expect(row?.deleted_at).not.toBeNull();
    const list = await (await as(app, ann.accessToken).get('/api/v1/tasks?limit=100')).json<Page>();
    expect(list.items.map((t) => t.id)).not.toContain(task.id);
    expect(
      (await as(app, ann.accessToken).patch(`/api/v1/tasks/${task.id}`, { title: 'Zombie', version: 2 })).status,
    ).toBe(404);
    expect((await as(app, ann.accessToken).delete(`/api/v1/tasks/${task.id}`)).status).toBe(404);
  });

  it("403 for another user's task, which survives", async () => {
    const task = await createTask(app, ann.accessToken);
    expect((await as(app, bob.accessToken).delete(`/api/v1/tasks/${task.id}`)).status).toBe(403);
    const [row] = await app.sql`select deleted_at from tasks where id = ${task.id}`;
    expect(row?.deleted_at).toBeNull();
  });
});

describe('GET /api/v1/tasks: filters, sorting, pagination', () => {
  let user: Registered;
  let tasks: TaskBody[];
  let work: { id: string };

  beforeAll(async () => {
    user = await register(app);
    work = await createCategory(app, user.accessToken, 'Work');
    const specs = [
      { title: 'Alpha', priority: 'low', due_date: inDays(1) },
      { title: 'bravo', priority: 'urgent', due_date: inDays(5) },
      { title: 'Charlie', priority: 'high' },
      { title: 'Delta', priority: 'medium', due_date: inDays(10) },
      { title: 'Echo', priority: 'urgent', due_date: inDays(2) },
    ];
    tasks = [];
    for (const spec of specs) tasks.push(await createTask(app, user.accessToken, spec));
    await as(app, user.accessToken).patch(`/api/v1/tasks/${tasks[2]!.id}`, { status: 'done', version: 1 });
    await as(app, user.accessToken).post(`/api/v1/tasks/${tasks[1]!.id}/categories/${work.id}`);
    await as(app, user.accessToken).post(`/api/v1/tasks/${tasks[3]!.id}/categories/${work.id}`);
  });

  const list = async (query: string) => {
    const res = await as(app, user.accessToken).get(`/api/v1/tasks${query}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return res.json<Page>();
  };
  const titles = (page: Page) => page.items.map((t) => t.title);

  it('defaults: newest first, page 1, limit 20, with the total', async () => {
    const page = await list('');
    expect(page).toMatchObject({ total: 5, page: 1, limit: 20 });
    expect(titles(page)).toEqual(['Echo', 'Delta', 'Charlie', 'bravo', 'Alpha']);
  });

  it.each([
    ['?status=done', ['Charlie']],
    ['?status=todo&priority=urgent', ['Echo', 'bravo']],
    ['?priority=low', ['Alpha']],
    [`?category_id=CAT`, ['Delta', 'bravo']],
    [`?due_from=${encodeURIComponent(inDays(1.5))}`, ['Echo', 'Delta', 'bravo']],
    [`?due_to=${encodeURIComponent(inDays(3))}`, ['Echo', 'Alpha']],
    [
      `?due_from=${encodeURIComponent(inDays(1.5))}&due_to=${encodeURIComponent(inDays(6))}&priority=urgent`,
      ['Echo', 'bravo'],
    ],
  ])('filters %s', async (query, expected) => {
    const page = await list(query.replace('CAT', work.id));
    expect(titles(page)).toEqual(expected);
    expect(page.total).toBe(expected.length);
  });

  it.each([
    ['due_date', ['Alpha', 'Echo', 'bravo', 'Delta', 'Charlie']],
    ['-due_date', ['Delta', 'bravo', 'Echo', 'Alpha', 'Charlie']],
    ['title', ['Alpha', 'bravo', 'Charlie', 'Delta', 'Echo']],
    ['-title', ['Echo', 'Delta', 'Charlie', 'bravo', 'Alpha']],
    ['created_at', ['Alpha', 'bravo', 'Charlie', 'Delta', 'Echo']],
    ['-created_at', ['Echo', 'Delta', 'Charlie', 'bravo', 'Alpha']],
  ])('sorts by %s (title ignoring case; tasks without a due date last)', async (sort, expected) => {
    expect(titles(await list(`?sort=${sort}`))).toEqual(expected);
  });

  it.each([
    ['priority', ['low', 'medium', 'high', 'urgent']],
    ['-priority', ['urgent', 'high', 'medium', 'low']],
    ['status', ['todo', 'in_progress', 'done']],
    ['-status', ['done', 'in_progress', 'todo']],
    ['updated_at', null],
  ] as const)('sorts by %s in enum order, equal keys by id in the same direction', async (sort, order) => {
    const page = await list(`?sort=${sort}`);
    const field = sort.replace('-', '') as 'priority' | 'status' | 'updated_at';
    const desc = sort.startsWith('-');
    const key = (t: TaskBody) =>
      order ? (order as readonly string[]).indexOf(t[field as 'priority' | 'status']) : Date.parse(t.updated_at);
    for (let i = 1; i < page.items.length; i++) {
      const [a, b] = [page.items[i - 1]!, page.items[i]!];
      const byKey = order ? key(a) - key(b) : (key(a) - key(b)) * (desc ? -1 : 1);
      expect(byKey, `${a.title} before ${b.title}`).toBeLessThanOrEqual(0);
      if (byKey === 0) expect(desc ? a.id > b.id : a.id < b.id, `${a.title} before ${b.title} by id`).toBe(true);
    }
    if (sort === 'priority') expect(titles(page)).toEqual(['Alpha', 'Delta', 'Charlie', 'bravo', 'Echo']);
  });

  it('paginates: limit 1, the last page, past the end, limit 100', async () => {
    const first = await list('?limit=2&page=1&sort=title');
    const last = await list('?limit=2&page=3&sort=title');
    const beyond = await list('?limit=2&page=4&sort=title');
    expect(titles(first)).toEqual(['Alpha', 'bravo']);
    expect(titles(last)).toEqual(['Echo']);
    expect(beyond).toEqual({ items: [], total: 5, page: 4, limit: 2, next_cursor: null });
    expect(titles(await list('?limit=1&page=3&sort=title'))).toEqual(['Charlie']);
    expect((await list('?limit=100')).items).toHaveLength(5);
  });

  it("shows an empty list to a user without tasks, and never another user's tasks", async () => {
    const empty = await register(app);
    expect(await (await as(app, empty.accessToken).get('/api/v1/tasks')).json()).toEqual({
      items: [],
      total: 0,
      page: 1,
      limit: 20,
      next_cursor: null,
    });
  });

  it.each([
    'limit=101',
    'limit=0',
    'limit=1e309',
    'page=0',
    'page=abc',
    'sort=password_hash',
    'sort=-',
    'status=archived',
    'priority=HIGH',
    'due_from=yesterday',
    'category_id=nope',
    `due_from=${inDays(5)}&due_to=${inDays(1)}`,
    'status=todo&status=done',
  ])('400 for %s', async (query) => {
    const res = await as(app, user.accessToken).get(`/api/v1/tasks?${query}`);
    expect(res.status).toBe(400);
    expect((await res.json<Problem>()).code).toBe('VALIDATION_FAILED');
  });
});
