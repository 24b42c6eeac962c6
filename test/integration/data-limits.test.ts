import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, register, type Registered } from '../helpers/auth.ts';
import { as, createTask, type Problem, type TaskBody } from '../helpers/tasks.ts';
import { setupTestApp, type TestApp } from '../helpers/test-app.ts';

/** Issue 12: the limits of the data routes hold, and none of them is a 500. */

let app: TestApp;
let ann: Registered;

beforeAll(async () => {
  app = await setupTestApp();
  ann = await register(app);
});

describe('search too complex for Postgres (item 3)', () => {
  it.each([
    ['33 dashes', '-'.repeat(33)],
    ['a pasted separator line between words', `notes ${'-'.repeat(80)} todo`],
    ['dashes with spaces', `${'- '.repeat(40)}a`],
    ['200 dashes', '-'.repeat(200)],
  ])('%s: 400 VALIDATION_FAILED naming q, never 500', async (_what, q) => {
    await createTask(app, ann.accessToken, { title: 'notes todo' });
    const res = await app.request(`/api/v1/tasks?q=${encodeURIComponent(q)}`, bearer(ann.accessToken));
    expect(res.status).toBe(400);
    const problem = await res.json<Problem>();
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.errors?.map((e) => e.pointer)).toEqual(['/query/q']);
  });

  it('32 dashes still run', async () => {
    const res = await app.request(`/api/v1/tasks?q=${'-'.repeat(32)}notes`, bearer(ann.accessToken));
    expect(res.status).toBe(200);
  });
});

describe('a task at the highest version (item 15)', () => {
  const MAX_INT32 = 2 ** 31 - 1;
  let task: TaskBody;
  let category: { id: string };

  beforeAll(async () => {
    task = await createTask(app, ann.accessToken, { title: 'Edited two billion times' });
    const res = await as(app, ann.accessToken).post('/api/v1/categories', { name: 'Busy' });
    category = await res.json<{ id: string }>();
    await app.sql`update tasks set version = ${MAX_INT32} where id = ${task.id}`;
  });

  it.each([
    [
      'PATCH',
      () => as(app, ann.accessToken).patch(`/api/v1/tasks/${task.id}`, { title: 'Once more', version: MAX_INT32 }),
    ],
    ['assign a category', () => as(app, ann.accessToken).post(`/api/v1/tasks/${task.id}/categories/${category.id}`)],
    ['DELETE', () => as(app, ann.accessToken).delete(`/api/v1/tasks/${task.id}`)],
  ])('%s answers 409 CONFLICT, never 500, and changes nothing', async (_what, send) => {
    const res = await send();
    expect(res.status).toBe(409);
    const problem = await res.json<Problem>();
    expect(problem).toMatchObject({ code: 'CONFLICT', current_version: MAX_INT32 });
    expect(problem.detail).toMatch(/highest version/);
    const [row] = await app.sql`select version, title, deleted_at from tasks where id = ${task.id}`;
    expect(row).toMatchObject({ version: MAX_INT32, title: 'Edited two billion times', deleted_at: null });
  });

  it('restore of a trashed task at the highest version: 409 too', async () => {
    const trashed = await createTask(app, ann.accessToken, { title: 'In the trash' });
    expect((await as(app, ann.accessToken).delete(`/api/v1/tasks/${trashed.id}`)).status).toBe(204);
    await app.sql`update tasks set version = ${MAX_INT32} where id = ${trashed.id}`;
    const res = await as(app, ann.accessToken).post(`/api/v1/tasks/${trashed.id}/restore`);
    expect(res.status).toBe(409);
    expect((await res.json<Problem>()).detail).toMatch(/highest version/);
  });

  it('deleting a category linked to it: 409, the category stays', async () => {
    const linked = await createTask(app, ann.accessToken, { title: 'Linked and old' });
    const cat = await (
      await as(app, ann.accessToken).post('/api/v1/categories', { name: 'Doomed' })
    ).json<{ id: string }>();
    expect((await as(app, ann.accessToken).post(`/api/v1/tasks/${linked.id}/categories/${cat.id}`)).status).toBe(200);
    await app.sql`update tasks set version = ${MAX_INT32} where id = ${linked.id}`;
    const res = await as(app, ann.accessToken).delete(`/api/v1/categories/${cat.id}`);
    expect(res.status).toBe(409);
    expect(await app.sql`select id from categories where id = ${cat.id}`).toHaveLength(1);
  });
});
