import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
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

/**
 * Another transaction holds row locks, as a concurrent write would, for a while (one Neon
 * transaction: the locks, then a sleep). Resolves once Postgres shows it sleeping.
 */
async function holdLocks(locks: string[], seconds: number): Promise<{ released: Promise<unknown> }> {
  const held = app.sql.transaction([...locks.map((lock) => app.sql.query(lock)), app.sql`select pg_sleep(${seconds})`]);
  for (let i = 0; i < 100; i++) {
    const [row] = await app.sql`
      select count(*)::int as n from pg_stat_activity where query like ${`%pg_sleep%`} and state = 'active'
         and datname = current_database() and pid <> pg_backend_pid()`;
    // Wrapped: an async function returning the promise itself would wait for it.
    if ((row?.n as number) > 0) return { released: held };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the lock holder never started sleeping');
}

const holdRowLock = (taskId: string, seconds: number) =>
  holdLocks([`select id from tasks where id = '${taskId}' for update`], seconds);

/** The user's rows a write may wait on: their account and their change counter. */
const holdUserLocks = (userId: string, seconds: number) =>
  holdLocks(
    [
      `select 1 from users where id = '${userId}' for update`,
      `select 1 from task_sync_state where user_id = '${userId}' for update`,
    ],
    seconds,
  );

// PGlite runs one statement at a time: a held lock would stall every other request, whoever's.
describe.skipIf(env.STANDINS_BACKEND !== 'real')('row locks only on the caller’s rows (item 10)', () => {
  let bob: Registered;
  beforeAll(async () => {
    bob = await register(app);
  });

  it.each([
    ['PATCH', (id: string) => as(app, bob.accessToken).patch(`/api/v1/tasks/${id}`, { title: 'Mine now', version: 1 })],
    ['DELETE', (id: string) => as(app, bob.accessToken).delete(`/api/v1/tasks/${id}`)],
    ['restore', (id: string) => as(app, bob.accessToken).post(`/api/v1/tasks/${id}/restore`)],
  ])('%s of another user’s task answers 403 at once, without waiting for its row lock', async (what, send) => {
    const task = await createTask(app, ann.accessToken, { title: 'Locked by its owner' });
    if (what === 'restore') await as(app, ann.accessToken).delete(`/api/v1/tasks/${task.id}`);
    const { released } = await holdRowLock(task.id, 1.5);
    const started = Date.now();
    const res = await send(task.id);
    const elapsed = Date.now() - started;
    await released;
    expect(res.status).toBe(403);
    expect(elapsed, 'the foreign request waited for the row lock').toBeLessThan(1000);
    const [row] = await app.sql`select title, version from tasks where id = ${task.id}`;
    expect(row).toMatchObject({ title: 'Locked by its owner' });
  });

  it('the owner’s own write still waits for the lock, then applies', async () => {
    const task = await createTask(app, ann.accessToken, { title: 'Contended' });
    const { released } = await holdRowLock(task.id, 1);
    const started = Date.now();
    const res = await as(app, ann.accessToken).patch(`/api/v1/tasks/${task.id}`, {
      title: 'After the lock',
      version: 1,
    });
    const elapsed = Date.now() - started;
    await released;
    expect(res.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(500);
  });
});

/**
 * N parallel requests of one user. They start while another transaction holds the user's rows, so
 * all of them are in flight together when it lets go: the race a cap must survive, every time.
 */
async function parallel(userId: string, n: number, send: (i: number) => Promise<Response>): Promise<number[]> {
  const { released } = await holdUserLocks(userId, 1);
  const answers = await Promise.all([...Array.from({ length: n }, (_, i) => send(i)), released]);
  return answers
    .slice(0, n)
    .map((res) => (res as Response).status)
    .sort();
}

describe.skipIf(env.STANDINS_BACKEND !== 'real')('per-account caps hold under parallel requests (item 9)', () => {
  const PARALLEL = 8;

  it('10,000 live tasks: of 8 parallel creates at 9,999, exactly one succeeds', async () => {
    const user = await register(app);
    // Seeded in the database: 9,999 creates through the API would take minutes.
    await app.sql`
      insert into tasks (user_id, title, position) select ${user.userId}, 'Seeded task ' || g, 'z' || left(md5(gen_random_uuid()::text), 26) from generate_series(1, 9999) g`;
    const statuses = await parallel(user.userId, PARALLEL, (i) =>
      as(app, user.accessToken).post('/api/v1/tasks', { title: `Parallel ${i}` }),
    );
    expect(statuses).toEqual([201, ...Array<number>(PARALLEL - 1).fill(409)]);
    const [row] =
      await app.sql`select count(*)::int as n from tasks where user_id = ${user.userId} and deleted_at is null`;
    expect(row?.n).toBe(10_000);
  });

  it('10,000 live tasks: of 8 parallel restores at 9,999, exactly one succeeds', async () => {
    const user = await register(app);
    await app.sql`
      insert into tasks (user_id, title, position) select ${user.userId}, 'Seeded task ' || g, 'z' || left(md5(gen_random_uuid()::text), 26) from generate_series(1, 9999) g`;
    const trashed = await app.sql`
      insert into tasks (user_id, title, deleted_at, position) select ${user.userId}, 'Trashed ' || g, now(), 'z' || left(md5(gen_random_uuid()::text), 26) from generate_series(1, ${PARALLEL}) g
      returning id`;
    const statuses = await parallel(user.userId, PARALLEL, (i) =>
      as(app, user.accessToken).post(`/api/v1/tasks/${String(trashed[i]?.id)}/restore`),
    );
    expect(statuses).toEqual([200, ...Array<number>(PARALLEL - 1).fill(409)]);
    const [row] =
      await app.sql`select count(*)::int as n from tasks where user_id = ${user.userId} and deleted_at is null`;
    expect(row?.n).toBe(10_000);
  });

  it('200 categories: of 8 parallel creates at 199, exactly one succeeds', async () => {
    const user = await register(app);
    await app.sql`
      insert into categories (user_id, name) select ${user.userId}, 'Seeded ' || g from generate_series(1, 199) g`;
    const statuses = await parallel(user.userId, PARALLEL, (i) =>
      as(app, user.accessToken).post('/api/v1/categories', { name: `Parallel ${i}` }),
    );
    expect(statuses).toEqual([201, ...Array<number>(PARALLEL - 1).fill(409)]);
    const [row] = await app.sql`select count(*)::int as n from categories where user_id = ${user.userId}`;
    expect(row?.n).toBe(200);
  });
});

describe('response arrays bounded by the real caps (item 9)', () => {
  it('a task may carry all 200 categories, as its schema says', async () => {
    const user = await register(app);
    const task = await createTask(app, user.accessToken, { title: 'Everything at once' });
    await app.sql`
      insert into categories (user_id, name) select ${user.userId}, 'Label ' || g from generate_series(1, 200) g`;
    await app.sql`
      insert into task_categories (task_id, category_id) select ${task.id}, id from categories where user_id = ${user.userId}`;
    const res = await as(app, user.accessToken).get(`/api/v1/tasks/${task.id}`);
    expect(res.status).toBe(200);
    expect((await res.json<TaskBody>()).categories).toHaveLength(200);
    const list = await as(app, user.accessToken).get('/api/v1/categories');
    expect((await list.json<{ items: unknown[] }>()).items).toHaveLength(200);
  });
});
