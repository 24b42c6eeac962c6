import { createScheduledController } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../src/index.ts';
import { register, type Registered } from '../helpers/auth.ts';
import { as, createCategory, createTask, type Problem, type TaskBody } from '../helpers/tasks.ts';
import { setupTestApp, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;

beforeAll(async () => {
  app = await setupTestApp();
});

type Change =
  | { type: 'task'; task: TaskBody }
  | { type: 'task_deleted'; task_id: string; version: number; deleted_at: string }
  | { type: 'category_unlinked'; task_id: string; category_id: string; removed_at: string };

interface ChangesPage {
  changes: Change[];
  next_cursor: string;
  has_more: boolean;
}

/** What an offline-first client keeps: its copy of every live task, and where its sync stands. */
class Replica {
  readonly tasks = new Map<string, TaskBody>();
  cursor: string | undefined;
  pages = 0;

  private readonly user: Registered;
  private readonly limit: number;

  constructor(user: Registered, limit = 100) {
    this.user = user;
    this.limit = limit;
  }

  async sync(): Promise<void> {
    for (;;) {
      const query = new URLSearchParams({ limit: String(this.limit) });
      if (this.cursor) query.set('cursor', this.cursor);
      const res = await as(app, this.user.accessToken).get(`/api/v1/tasks/changes?${query.toString()}`);
      expect(res.status, await res.clone().text()).toBe(200);
      const page = await res.json<ChangesPage>();
      expect(page.changes.length).toBeLessThanOrEqual(this.limit);
      for (const change of page.changes) this.apply(change);
      this.cursor = page.next_cursor;
      this.pages++;
      if (!page.has_more) return;
    }
  }

  private apply(change: Change): void {
    if (change.type === 'task') this.tasks.set(change.task.id, change.task);
    else if (change.type === 'task_deleted') this.tasks.delete(change.task_id);
    else {
      const task = this.tasks.get(change.task_id);
      if (task) task.categories = task.categories.filter((c) => c.id !== change.category_id);
    }
  }
}

/** The server's truth, read the ordinary way. */
async function serverState(user: Registered): Promise<Map<string, TaskBody>> {
  const state = new Map<string, TaskBody>();
  for (let page = 1; ; page++) {
    const res = await as(app, user.accessToken).get(`/api/v1/tasks?limit=100&page=${page}&sort=created_at`);
    const body = await res.json<{ items: TaskBody[]; total: number }>();
    for (const task of body.items) state.set(task.id, task);
    if (page * 100 >= body.total) return state;
  }
}

const sorted = (state: Map<string, TaskBody>) => [...state.values()].sort((a, b) => a.id.localeCompare(b.id));

describe('delta sync', () => {
  it('a sync loop reconstructs exactly the server state across create, change, delete, restore and unlink', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const client = new Replica(user);
    await client.sync();
    expect(client.tasks.size).toBe(0);

    const a = await createTask(app, user.accessToken, { title: 'Alpha' });
    const b = await createTask(app, user.accessToken, { title: 'Bravo' });
    const c = await createTask(app, user.accessToken, { title: 'Charlie' });
    const work = await createCategory(app, user.accessToken, 'Work');
    const home = await createCategory(app, user.accessToken, 'Home');
    await api.post(`/api/v1/tasks/${a.id}/categories/${work.id}`);
    await api.post(`/api/v1/tasks/${a.id}/categories/${home.id}`);
    await client.sync();
    expect(sorted(client.tasks)).toEqual(sorted(await serverState(user)));
    expect(client.tasks.get(a.id)?.categories.map((x) => x.name)).toEqual(['Home', 'Work']);

    await api.patch(`/api/v1/tasks/${a.id}`, { status: 'done', version: 3 });
    expect((await api.delete(`/api/v1/tasks/${b.id}`)).status).toBe(204);
    expect((await api.delete(`/api/v1/tasks/${c.id}`)).status).toBe(204);
    expect((await api.post(`/api/v1/tasks/${c.id}/restore`)).status).toBe(200);
    expect((await api.delete(`/api/v1/tasks/${a.id}/categories/${work.id}`)).status).toBe(204);
    await client.sync();
    expect(sorted(client.tasks)).toEqual(sorted(await serverState(user)));
    expect(client.tasks.has(b.id)).toBe(false);
    expect(client.tasks.get(a.id)?.categories.map((x) => x.name)).toEqual(['Home']);

    // Deleting a category unlinks it everywhere: one change number for every task it was on.
    await api.post(`/api/v1/tasks/${c.id}/categories/${home.id}`);
    await client.sync();
    expect((await api.delete(`/api/v1/categories/${home.id}`)).status).toBe(204);
    const res = await api.get(`/api/v1/tasks/changes?cursor=${client.cursor}`);
    const page = await res.json<ChangesPage>();
    expect(
      page.changes
        .filter((x) => x.type === 'category_unlinked')
        .map((x) => x.task_id)
        .sort(),
    ).toEqual([a.id, c.id].sort());
    await client.sync();
    expect(sorted(client.tasks)).toEqual(sorted(await serverState(user)));
    expect([...client.tasks.values()].every((t) => t.categories.length === 0)).toBe(true);

    // Nothing new: an empty page and the same cursor.
    const before = client.cursor;
    const idle = await (await api.get(`/api/v1/tasks/changes?cursor=${before}`)).json<ChangesPage>();
    expect(idle).toEqual({ changes: [], next_cursor: before, has_more: false });
  });

  it('a first sync without a cursor sends tombstones too, and small pages add up to the same state', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await createTask(app, user.accessToken, { title: `Paged ${i}` })).id);
    await api.delete(`/api/v1/tasks/${ids[0]}`);
    const whole = await (await api.get('/api/v1/tasks/changes')).json<ChangesPage>();
    expect(whole.changes).toHaveLength(7);
    expect(whole.changes.at(-1)).toMatchObject({ type: 'task_deleted', task_id: ids[0], version: 2 });
    const client = new Replica(user, 2);
    await client.sync();
    expect(client.pages).toBe(4);
    expect(sorted(client.tasks)).toEqual(sorted(await serverState(user)));
  });

  it('never skips a change made while a client syncs in small pages under concurrent writers', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const seeded = await Promise.all(
      Array.from({ length: 12 }, (_, i) => createTask(app, user.accessToken, { title: `Seed ${i}` })),
    );
    const client = new Replica(user, 3);
    let writing = true;
    const writer = (async () => {
      const jobs: Promise<unknown>[] = [];
      for (let i = 0; i < 12; i++) {
        const task = seeded[i] as TaskBody;
        jobs.push(api.post('/api/v1/tasks', { title: `Concurrent ${i}` }));
        if (i % 3 === 0) jobs.push(api.delete(`/api/v1/tasks/${task.id}`));
        else jobs.push(api.patch(`/api/v1/tasks/${task.id}`, { title: `Changed ${i}`, version: 1 }));
        if (i % 4 === 0) await Promise.all(jobs.splice(0));
      }
      await Promise.all(jobs);
      writing = false;
    })();
    while (writing) await client.sync();
    await writer;
    await client.sync();
    expect(sorted(client.tasks)).toEqual(sorted(await serverState(user)));
    expect(client.tasks.size).toBe(12 + 12 - 4);
  });

  it('is one Neon and one Upstash request', async () => {
    const user = await register(app);
    await createTask(app, user.accessToken, { title: 'Counted sync' });
    const res = await as(app, user.accessToken).get('/api/v1/tasks/changes');
    expect(res.headers.get('server-timing')).toMatch(/Neon x1.*Upstash x1/);
  });

  it('refuses a cursor it did not make and a limit out of range (400), and never shows another user’s tasks', async () => {
    const user = await register(app);
    const other = await register(app);
    await createTask(app, other.accessToken, { title: 'Not yours' });
    const api = as(app, user.accessToken);
    expect((await (await api.get('/api/v1/tasks/changes')).json<ChangesPage>()).changes).toEqual([]);
    const forged = btoa('s1.-1.0.x.y');
    for (const cursor of ['nope', forged, 'czEuMS4yLjMuNA', '%00', 'a'.repeat(201)]) {
      const res = await api.get(`/api/v1/tasks/changes?cursor=${encodeURIComponent(cursor)}`);
      expect(res.status, cursor).toBe(400);
      expect((await res.json<Problem>()).errors?.[0]?.pointer).toBe('/query/cursor');
    }
    for (const limit of ['0', '501', 'x']) {
      expect((await api.get(`/api/v1/tasks/changes?limit=${limit}`)).status).toBe(400);
    }
  });

  it('answers 410 to a cursor older than a purged tombstone; a fresh sync then matches the server', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const kept = await createTask(app, user.accessToken, { title: 'Kept' });
    const client = new Replica(user);
    await client.sync();
    const gone = await createTask(app, user.accessToken, { title: 'Gone for good' });
    await api.delete(`/api/v1/tasks/${gone.id}`);
    await app.sql`update tasks set deleted_at = now() - interval '31 days' where id = ${gone.id}`;
    const up = new Replica(user);
    await up.sync();
    await worker.scheduled(createScheduledController({ cron: '17 * * * *', scheduledTime: Date.now() }), app.env);

    const res = await api.get(`/api/v1/tasks/changes?cursor=${client.cursor}`);
    expect(res.status).toBe(410);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect((await res.json<Problem>()).code).toBe('SYNC_CURSOR_EXPIRED');
    // A client that had seen the tombstone before the purge goes on.
    expect((await api.get(`/api/v1/tasks/changes?cursor=${up.cursor}`)).status).toBe(200);
    const fresh = new Replica(user);
    await fresh.sync();
    expect([...fresh.tasks.keys()]).toEqual([kept.id]);
  });

  it('purges link tombstones past the retention period too, and a cursor older than them is 410', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const task = await createTask(app, user.accessToken, { title: 'Linked' });
    const category = await createCategory(app, user.accessToken, 'Old link');
    await api.post(`/api/v1/tasks/${task.id}/categories/${category.id}`);
    const client = new Replica(user);
    await client.sync();
    await api.delete(`/api/v1/tasks/${task.id}/categories/${category.id}`);
    await app.sql`update task_link_removals set removed_at = now() - interval '31 days' where task_id = ${task.id}`;
    await worker.scheduled(createScheduledController({ cron: '17 * * * *', scheduledTime: Date.now() }), app.env);
    expect(await app.sql`select 1 from task_link_removals where task_id = ${task.id}`).toEqual([]);
    expect((await api.get(`/api/v1/tasks/changes?cursor=${client.cursor}`)).status).toBe(410);
  });
});
