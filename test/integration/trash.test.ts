import { createScheduledController } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../src/index.ts';
import { appWithTwoUsers, bearer, register, type Registered } from '../helpers/auth.ts';
import { as, createTask, type Problem, type TaskBody } from '../helpers/tasks.ts';
import { json, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
let ann: Registered;
let bob: Registered;

beforeAll(async () => {
  ({ app, ann, bob } = await appWithTwoUsers());
});

interface TrashPage {
  items: TaskBody[];
  total: number;
  page: number;
  limit: number;
  retention_days: number;
}

const restore = (token: string, id: string, init: RequestInit = {}) =>
  app.request(`/api/v1/tasks/${id}/restore`, bearer(token, { method: 'POST', ...init }));

describe('the trash', () => {
  it('lists deleted tasks newest deletion first; they are gone from the list and from GET', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const [a, b, c] = [
      await createTask(app, user.accessToken, { title: 'First deleted' }),
      await createTask(app, user.accessToken, { title: 'Second deleted' }),
      await createTask(app, user.accessToken, { title: 'Kept' }),
    ];
    expect((await api.delete(`/api/v1/tasks/${a.id}`)).status).toBe(204);
    expect((await api.delete(`/api/v1/tasks/${b.id}`)).status).toBe(204);
    const res = await api.get('/api/v1/tasks/trash');
    expect(res.status).toBe(200);
    const trash = await res.json<TrashPage>();
    expect(trash).toMatchObject({ total: 2, page: 1, limit: 20, retention_days: 30 });
    expect(trash.items.map((t) => t.id)).toEqual([b.id, a.id]);
    expect(trash.items.every((t) => t.deleted_at !== null && t.version === 2)).toBe(true);
    const live = await (await api.get('/api/v1/tasks')).json<{ items: TaskBody[] }>();
    expect(live.items.map((t) => t.id)).toEqual([c.id]);
    expect((await api.get(`/api/v1/tasks/${a.id}`)).status).toBe(404);
    // Another user's trash is their own.
    expect((await (await as(app, bob.accessToken).get('/api/v1/tasks/trash')).json<TrashPage>()).total).toBe(0);
    const paged = await (await api.get('/api/v1/tasks/trash?limit=1&page=2')).json<TrashPage>();
    expect(paged.items.map((t) => t.id)).toEqual([a.id]);
    expect((await api.get('/api/v1/tasks/trash?limit=101')).status).toBe(400);
  });

  it('restores a task with a new version; it is back in the list and out of the trash', async () => {
    const task = await createTask(app, ann.accessToken, { title: 'Come back' });
    await as(app, ann.accessToken).delete(`/api/v1/tasks/${task.id}`);
    const res = await restore(ann.accessToken, task.id);
    expect(res.status, await res.clone().text()).toBe(200);
    const restored = await res.json<TaskBody>();
    expect(restored).toMatchObject({ id: task.id, title: 'Come back', deleted_at: null, version: 3 });
    expect(res.headers.get('etag')).toBe(`"${task.id}.3"`);
    expect((await as(app, ann.accessToken).get(`/api/v1/tasks/${task.id}`)).status).toBe(200);
    const [row] = await app.sql`select deleted_at, version from tasks where id = ${task.id}`;
    expect(row).toEqual({ deleted_at: null, version: 3 });
  });

  it('restoring a task that is not in the trash returns it unchanged (a retry succeeds)', async () => {
    const task = await createTask(app, ann.accessToken, { title: 'Never deleted' });
    const res = await restore(ann.accessToken, task.id);
    expect(res.status).toBe(200);
    expect((await res.json<TaskBody>()).version).toBe(1);
  });

  it('checks the version when given: If-Match (412) or body version (409); nothing changes', async () => {
    const task = await createTask(app, ann.accessToken, { title: 'Checked restore' });
    await as(app, ann.accessToken).delete(`/api/v1/tasks/${task.id}`);
    const stale = await restore(ann.accessToken, task.id, { headers: { 'if-match': `"${task.id}.1"` } });
    expect(stale.status).toBe(412);
    expect(await stale.json<Problem>()).toMatchObject({ code: 'PRECONDITION_FAILED', current_version: 2 });
    const staleBody = await app.request(
      `/api/v1/tasks/${task.id}/restore`,
      json({ version: 1 }, bearer(ann.accessToken)),
    );
    expect(staleBody.status).toBe(409);
    expect((await app.sql`select deleted_at from tasks where id = ${task.id}`)[0]?.deleted_at).not.toBeNull();
    const ok = await app.request(`/api/v1/tasks/${task.id}/restore`, json({ version: 2 }, bearer(ann.accessToken)));
    expect(ok.status).toBe(200);
    const unknown = await app.request(
      `/api/v1/tasks/${task.id}/restore`,
      json({ version: 2, extra: true }, bearer(ann.accessToken)),
    );
    expect(unknown.status).toBe(400);
  });

  it('is 403 for another user’s task and 404 for a task that never was', async () => {
    const task = await createTask(app, bob.accessToken, { title: 'Bob’s deleted' });
    await as(app, bob.accessToken).delete(`/api/v1/tasks/${task.id}`);
    expect((await restore(ann.accessToken, task.id)).status).toBe(403);
    expect((await restore(ann.accessToken, crypto.randomUUID())).status).toBe(404);
    expect((await app.sql`select deleted_at from tasks where id = ${task.id}`)[0]?.deleted_at).not.toBeNull();
  });

  it('refuses a restore past the live-task cap with 409 LIMIT_REACHED', async () => {
    const user = await register(app);
    const task = await createTask(app, user.accessToken, { title: 'Over the cap' });
    await as(app, user.accessToken).delete(`/api/v1/tasks/${task.id}`);
    await app.sql`insert into tasks (user_id, title, position) select ${user.userId}, 'Bulk ' || g, 'z' || left(md5(gen_random_uuid()::text), 26) from generate_series(1, 10000) g`;
    const res = await restore(user.accessToken, task.id);
    expect(res.status).toBe(409);
    expect((await res.json<Problem>()).code).toBe('LIMIT_REACHED');
  });
});

describe('the scheduled purge', () => {
  it('removes only tasks deleted longer ago than the retention period, and records the newest purged change', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const old = await createTask(app, user.accessToken, { title: 'Deleted long ago' });
    const recent = await createTask(app, user.accessToken, { title: 'Deleted yesterday' });
    const live = await createTask(app, user.accessToken, { title: 'Alive' });
    await api.delete(`/api/v1/tasks/${old.id}`);
    await api.delete(`/api/v1/tasks/${recent.id}`);
    await app.sql`update tasks set deleted_at = now() - interval '30 days 1 minute' where id = ${old.id}`;
    await app.sql`update tasks set deleted_at = now() - interval '29 days 23 hours' where id = ${recent.id}`;
    const [{ seq: oldSeq } = { seq: 0 }] = await app.sql`select change_seq::int as seq from tasks where id = ${old.id}`;

    await worker.scheduled(createScheduledController({ cron: '17 * * * *', scheduledTime: Date.now() }), app.env);

    const ids = (await app.sql`select id from tasks where user_id = ${user.userId} order by title`).map(
      (r) => r.id as string,
    );
    expect(ids.sort()).toEqual([recent.id, live.id].sort());
    const [state] = await app.sql`select purged_seq::int as purged from task_sync_state where user_id = ${user.userId}`;
    expect(state?.purged).toBe(oldSeq);
    expect((await restore(user.accessToken, old.id)).status).toBe(404);
    const trash = await (await api.get('/api/v1/tasks/trash')).json<TrashPage>();
    expect(trash.items.map((t) => t.id)).toEqual([recent.id]);
  });
});
