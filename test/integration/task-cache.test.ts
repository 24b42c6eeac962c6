import { Redis } from '@upstash/redis/cloudflare';
import { beforeAll, describe, expect, it } from 'vitest';
import { bumpGeneration, readCache, writeCache } from '../../src/lib/cache.ts';
import { bearer, register, type Registered } from '../helpers/auth.ts';
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
    // The entry is the answer as sent: the same bytes, tag and media type.
    expect(await second.text()).toBe(await first.text());
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(second.headers.get('content-type')).toBe('application/json');
  });

  it('serves a cached list as the same bytes under the same tag, and answers 304 to it', async () => {
    const user = await register(app);
    await createTask(app, user.accessToken, { title: 'Listed' });
    const api = as(app, user.accessToken);
    const first = await api.get('/api/v1/tasks?sort=title');
    const second = await api.get('/api/v1/tasks?sort=title');
    expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['miss', 'hit']);
    expect(await second.text()).toBe(await first.text());
    expect(second.headers.get('etag')).toMatch(/^"l\.[A-Za-z0-9_-]{22}"$/);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    const revalidated = await app.request(
      '/api/v1/tasks?sort=title',
      bearer(user.accessToken, { headers: { 'If-None-Match': first.headers.get('etag')! } }),
    );
    expect([revalidated.status, revalidated.headers.get('x-cache')]).toEqual([304, 'hit']);
  });

  it('an entry of another shape (an older Worker wrote it) is a miss, then refilled', async () => {
    const user = await register(app);
    const task = await createTask(app, user.accessToken, { title: 'Old entry' });
    const store = new Redis({ url: app.env.UPSTASH_REDIS_REST_URL, token: app.env.UPSTASH_REDIS_REST_TOKEN ?? '' });
    const generation = (await readCache(store, user.userId, `task:${task.id}`)).generation;
    await writeCache(store, user.userId, generation, `task:${task.id}`, { ...task, title: 'Stale shape' });
    const api = as(app, user.accessToken);
    const read = await api.get(`/api/v1/tasks/${task.id}`);
    expect(read.headers.get('x-cache')).toBe('miss');
    expect(await read.json()).toMatchObject({ title: 'Old entry' });
    expect((await api.get(`/api/v1/tasks/${task.id}`)).headers.get('x-cache')).toBe('hit');
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

describe('cache entries and generations (src/lib/cache.ts, against the Upstash stand-in)', () => {
  const redis = () => new Redis({ url: app.env.UPSTASH_REDIS_REST_URL, token: app.env.UPSTASH_REDIS_REST_TOKEN ?? '' });
  const userId = () => crypto.randomUUID();

  it('an entry is served under the generation it was read in, and is a miss once a write moved it', async () => {
    const user = userId();
    const first = await readCache(redis(), user, 'task:a');
    expect(first).toEqual({ generation: '0', value: null });
    await writeCache(redis(), user, first.generation, 'task:a', { title: 'cached' });
    expect(await readCache(redis(), user, 'task:a')).toEqual({ generation: '0', value: { title: 'cached' } });
    await bumpGeneration(redis(), user);
    expect(await readCache(redis(), user, 'task:a')).toEqual({ generation: '1', value: null });
  });

  it('a fill from data read before a write is never served after it (the racing read)', async () => {
    const user = userId();
    // A read starts: generation 0. A write moves the generation (before and after it runs).
    const racing = await readCache(redis(), user, 'list:sort=title');
    await bumpGeneration(redis(), user);
    await bumpGeneration(redis(), user);
    // The racing read fills the cache with what it read before the write.
    await writeCache(redis(), user, racing.generation, 'list:sort=title', ['old']);
    expect(await readCache(redis(), user, 'list:sort=title')).toEqual({ generation: '2', value: null });
    // A read after the write fills it with the new data, which is then served.
    await writeCache(redis(), user, '2', 'list:sort=title', ['new']);
    expect((await readCache(redis(), user, 'list:sort=title')).value).toEqual(['new']);
  });

  it("users' entries and generations are apart", async () => {
    const [ann, bob] = [userId(), userId()];
    await writeCache(redis(), ann, '0', 'task:x', 'ann');
    await bumpGeneration(redis(), bob);
    expect(await readCache(redis(), ann, 'task:x')).toEqual({ generation: '0', value: 'ann' });
    expect(await readCache(redis(), bob, 'task:x')).toEqual({ generation: '1', value: null });
  });
});
