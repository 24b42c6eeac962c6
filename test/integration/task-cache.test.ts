import { beforeAll, describe, expect, it } from 'vitest';
import { register, type Registered } from '../helpers/auth.ts';
import { as, createCategory, createTask, type TaskBody } from '../helpers/tasks.ts';
import { setupTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
let ann: Registered;

beforeAll(async () => {
  app = await setupTestApp();
  ann = await register(app);
});

const neonCalls = (res: Response) => Number(/Neon x(\d+)/.exec(res.headers.get('server-timing') ?? '')?.[1]);

describe('cache-aside for task reads', () => {
  it('serves the second read of a task from Upstash with no Neon call, identical to the first', async () => {
    const task = await createTask(app, ann.accessToken);
    const first = await as(app, ann.accessToken).get(`/api/v1/tasks/${task.id}`);
    const second = await as(app, ann.accessToken).get(`/api/v1/tasks/${task.id}`);
    expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['miss', 'hit']);
    expect([neonCalls(first), neonCalls(second)]).toEqual([1, 0]);
    expect(await second.json()).toEqual(await first.json());
  });

  it("never serves stale data after the user's own write", async () => {
    const task = await createTask(app, ann.accessToken);
    const api = as(app, ann.accessToken);
    await api.get(`/api/v1/tasks/${task.id}`);
    await api.get('/api/v1/tasks?sort=title');
    await api.patch(`/api/v1/tasks/${task.id}`, { title: 'Renamed after caching', version: 1 });
    const read = await api.get(`/api/v1/tasks/${task.id}`);
    expect(read.headers.get('x-cache')).toBe('miss');
    expect(await read.json()).toMatchObject({ title: 'Renamed after caching', version: 2 });
    const list = await (await api.get('/api/v1/tasks?sort=title')).json<{ items: TaskBody[] }>();
    expect(list.items.find((t) => t.id === task.id)?.title).toBe('Renamed after caching');
  });

  it('a cached list sees a new task and loses a deleted one at once', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const kept = await createTask(app, user.accessToken, { title: 'Kept' });
    await api.get('/api/v1/tasks');
    expect((await api.get('/api/v1/tasks')).headers.get('x-cache')).toBe('hit');
    const added = await createTask(app, user.accessToken, { title: 'Added' });
    expect((await (await api.get('/api/v1/tasks')).json<{ total: number }>()).total).toBe(2);
    await api.delete(`/api/v1/tasks/${added.id}`);
    const after = await (await api.get('/api/v1/tasks')).json<{ items: TaskBody[]; total: number }>();
    expect(after.items.map((t) => t.id)).toEqual([kept.id]);
  });

  it('category changes reach cached tasks: assign, unassign, and deleting the category', async () => {
    const api = as(app, ann.accessToken);
    const task = await createTask(app, ann.accessToken);
    const category = await createCategory(app, ann.accessToken, 'Cache test');
    await api.get(`/api/v1/tasks/${task.id}`);
    await api.post(`/api/v1/tasks/${task.id}/categories/${category.id}`);
    expect((await (await api.get(`/api/v1/tasks/${task.id}`)).json<TaskBody>()).categories).toHaveLength(1);
    await api.delete(`/api/v1/categories/${category.id}`);
    expect((await (await api.get(`/api/v1/tasks/${task.id}`)).json<TaskBody>()).categories).toEqual([]);
  });

  it("is per user: another user gets 403, not the owner's cached copy", async () => {
    const task = await createTask(app, ann.accessToken);
    await as(app, ann.accessToken).get(`/api/v1/tasks/${task.id}`);
    const bob = await register(app);
    const res = await as(app, bob.accessToken).get(`/api/v1/tasks/${task.id}`);
    expect(res.status).toBe(403);
  });

  it('reads from the database when Upstash is down (and the user limit fails open)', async () => {
    const task = await createTask(app, ann.accessToken);
    await as(app, ann.accessToken).get(`/api/v1/tasks/${task.id}`);
    await app.fault({ upstash: 'down' });
    try {
      const res = await as(app, ann.accessToken).get(`/api/v1/tasks/${task.id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-cache')).toBe('miss');
      expect(neonCalls(res)).toBe(1);
    } finally {
      await app.fault({ upstash: 'none' });
    }
  });
});
