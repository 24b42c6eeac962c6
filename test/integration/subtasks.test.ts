import { createScheduledController } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../src/index.ts';
import { appWithTwoUsers, bearer, register, type Registered } from '../helpers/auth.ts';
import { as, createTask, type Problem, type TaskBody, type TaskPage } from '../helpers/tasks.ts';
import type { TestApp } from '../helpers/test-app.ts';

/** Issue 15, step 1: subtasks (parent_id, subtask_count, the subtree in the trash, completion). */

let app: TestApp;
let ann: Registered;
let bob: Registered;

beforeAll(async () => {
  ({ app, ann, bob } = await appWithTwoUsers());
});

type Change =
  | { type: 'task'; task: TaskBody }
  | { type: 'task_deleted'; task_id: string; version: number; deleted_at: string }
  | { type: 'category_unlinked'; task_id: string; category_id: string; removed_at: string };

const get = async (user: Registered, id: string) => {
  const res = await as(app, user.accessToken).get(`/api/v1/tasks/${id}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<TaskBody>();
};

const restore = (user: Registered, id: string) =>
  app.request(`/api/v1/tasks/${id}/restore`, bearer(user.accessToken, { method: 'POST' }));

/** The rows as Postgres holds them, by id. */
async function rows(ids: string[]) {
  const found = await app.sql`
    select id, parent_id, status, version, deleted_at, change_seq::int as seq from tasks where id = any(${ids}::uuid[])`;
  return new Map(
    found.map((r) => [
      r.id as string,
      r as { parent_id: string | null; status: string; version: number; deleted_at: Date | null; seq: number },
    ]),
  );
}

const taskCount = async (user: Registered) =>
  (await app.sql`select count(*)::int as n from tasks where user_id = ${user.userId}`)[0]?.n as number;

/** A chain of `levels` tasks, each a subtask of the one before: [level 1, level 2, ...]. */
async function chain(user: Registered, levels: number): Promise<TaskBody[]> {
  const tasks: TaskBody[] = [];
  for (let level = 1; level <= levels; level++) {
    tasks.push(
      await createTask(app, user.accessToken, { title: `Level ${level}`, parent_id: tasks.at(-1)?.id ?? null }),
    );
  }
  return tasks;
}

/** One Neon round trip: the counters of the stand-in for this file. */
async function measured(send: () => Promise<Response>) {
  await app.resetCounters();
  const res = await send();
  const counters = await app.counters();
  return { res, neon: counters.neon.requests };
}

describe('creating a subtask', () => {
  it('stores parent_id, shows it, and gives the parent a new version with the new subtask_count', async () => {
    const parent = await createTask(app, ann.accessToken, { title: 'Plan the trip' });
    expect(parent).toMatchObject({ parent_id: null, subtask_count: 0, version: 1 });
    const before = await as(app, ann.accessToken).get(`/api/v1/tasks/${parent.id}`);
    const etag = before.headers.get('etag');
    expect(etag).toBe(`"${parent.id}.1"`);

    const { res, neon } = await measured(() =>
      as(app, ann.accessToken).post('/api/v1/tasks', { title: 'Book the train', parent_id: parent.id }),
    );
    expect(res.status, await res.clone().text()).toBe(201);
    expect(neon).toBe(1);
    const child = await res.json<TaskBody>();
    expect(child).toMatchObject({ parent_id: parent.id, subtask_count: 0, version: 1, title: 'Book the train' });

    // The parent changed: its version, ETag, count and change number moved.
    const reread = await as(app, ann.accessToken).get(`/api/v1/tasks/${parent.id}`);
    expect(reread.status).toBe(200);
    expect(reread.headers.get('etag')).toBe(`"${parent.id}.2"`);
    expect(await reread.json<TaskBody>()).toMatchObject({ subtask_count: 1, version: 2 });
    const stale = await app.request(
      `/api/v1/tasks/${parent.id}`,
      bearer(ann.accessToken, { headers: { 'if-none-match': etag ?? '' } }),
    );
    expect(stale.status).toBe(200);
    const stored = await rows([parent.id, child.id]);
    expect(stored.get(child.id)?.parent_id).toBe(parent.id);
    expect(stored.get(parent.id)?.seq).toBe(stored.get(child.id)?.seq);

    // A second subtask counts too; a subtask's own subtask changes only its direct parent.
    const second = await createTask(app, ann.accessToken, { title: 'Book the hotel', parent_id: parent.id });
    await createTask(app, ann.accessToken, { title: 'Pick the room', parent_id: second.id });
    expect(await get(ann, parent.id)).toMatchObject({ subtask_count: 2, version: 3 });
    expect(await get(ann, second.id)).toMatchObject({ subtask_count: 1, version: 2 });
  });

  it('takes parent_id null as a top-level task', async () => {
    const task = await createTask(app, ann.accessToken, { title: 'On its own', parent_id: null });
    expect(task).toMatchObject({ parent_id: null, subtask_count: 0 });
  });

  it('accepts 4 levels and refuses a 5th with 409 naming parent_id; nothing is written', async () => {
    const user = await register(app);
    const levels = await chain(user, 4);
    expect(levels.map((t) => t.parent_id)).toEqual([null, levels[0]!.id, levels[1]!.id, levels[2]!.id]);
    const before = await taskCount(user);
    const deepest = await get(user, levels[3]!.id);

    const res = await as(app, user.accessToken).post('/api/v1/tasks', { title: 'Level 5', parent_id: levels[3]!.id });
    expect(res.status).toBe(409);
    const problem = await res.json<Problem>();
    expect(problem.code).toBe('CONFLICT');
    expect(problem.detail).toMatch(/at most 4 levels/);
    expect(problem.errors?.map((e) => e.pointer)).toEqual(['/body/parent_id']);
    expect(await taskCount(user)).toBe(before);
    expect(await get(user, levels[3]!.id)).toEqual(deepest);
    // A subtask of level 3 is still fine.
    await createTask(app, user.accessToken, { title: 'Another level 4', parent_id: levels[2]!.id });
  });

  it('is 403 for another user’s parent and 404 for a missing or trashed one, naming parent_id; nothing is written', async () => {
    const bobs = await createTask(app, bob.accessToken, { title: 'Bob’s task' });
    const trashed = await createTask(app, ann.accessToken, { title: 'Deleted parent' });
    expect((await as(app, ann.accessToken).delete(`/api/v1/tasks/${trashed.id}`)).status).toBe(204);
    const bobsTrashed = await createTask(app, bob.accessToken, { title: 'Bob’s deleted' });
    await as(app, bob.accessToken).delete(`/api/v1/tasks/${bobsTrashed.id}`);
    const before = await taskCount(ann);

    const cases: [string, number, string, RegExp][] = [
      [bobs.id, 403, 'FORBIDDEN', /another user/],
      [crypto.randomUUID(), 404, 'NOT_FOUND', /No such parent task/],
      [trashed.id, 404, 'NOT_FOUND', /in the trash/],
      // Someone else's deleted task does not exist for you.
      [bobsTrashed.id, 404, 'NOT_FOUND', /No such parent task/],
    ];
    for (const [parentId, status, code, detail] of cases) {
      const res = await as(app, ann.accessToken).post('/api/v1/tasks', { title: 'Orphan', parent_id: parentId });
      expect(res.status, parentId).toBe(status);
      const problem = await res.json<Problem>();
      expect(problem).toMatchObject({ code });
      expect(problem.detail).toMatch(detail);
      expect(problem.errors?.map((e) => e.pointer)).toEqual(['/body/parent_id']);
    }
    expect(await taskCount(ann)).toBe(before);
    expect((await rows([bobs.id])).get(bobs.id)?.version).toBe(1);

    const malformed = await as(app, ann.accessToken).post('/api/v1/tasks', { title: 'Orphan', parent_id: 'nope' });
    expect(malformed.status).toBe(400);
    expect((await malformed.json<Problem>()).errors?.map((e) => e.pointer)).toContain('/body/parent_id');
  });

  it('PATCH does not re-parent: parent_id stays an unknown field (400)', async () => {
    const [a, b] = [await createTask(app, ann.accessToken), await createTask(app, ann.accessToken)];
    const res = await as(app, ann.accessToken).patch(`/api/v1/tasks/${b.id}`, { version: 1, parent_id: a.id });
    expect(res.status).toBe(400);
    expect((await res.json<Problem>()).code).toBe('VALIDATION_FAILED');
    expect((await rows([b.id])).get(b.id)).toMatchObject({ parent_id: null, version: 1 });
  });
});

describe('deleting and restoring a subtree', () => {
  /** root > parent > (child > grandchild, sibling), and an earlier-deleted child of parent. */
  async function tree(user: Registered) {
    const root = await createTask(app, user.accessToken, { title: 'Root' });
    const parent = await createTask(app, user.accessToken, { title: 'Parent', parent_id: root.id });
    const child = await createTask(app, user.accessToken, { title: 'Child', parent_id: parent.id });
    const grandchild = await createTask(app, user.accessToken, { title: 'Grandchild', parent_id: child.id });
    const sibling = await createTask(app, user.accessToken, { title: 'Sibling', parent_id: parent.id });
    const early = await createTask(app, user.accessToken, { title: 'Deleted before', parent_id: parent.id });
    expect((await as(app, user.accessToken).delete(`/api/v1/tasks/${early.id}`)).status).toBe(204);
    return { root, parent, child, grandchild, sibling, early };
  }

  it('puts the whole live subtree in the trash with one deleted_at; the parent above gets a new version', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const t = await tree(user);
    const subtree = [t.parent.id, t.child.id, t.grandchild.id, t.sibling.id];
    const before = await rows([t.root.id, t.early.id, ...subtree]);
    expect(await get(user, t.root.id)).toMatchObject({ subtask_count: 1 });
    expect(await get(user, t.parent.id)).toMatchObject({ subtask_count: 2 });

    const { res, neon } = await measured(() => api.delete(`/api/v1/tasks/${t.parent.id}`));
    expect(res.status).toBe(204);
    expect(neon).toBe(1);

    const after = await rows([t.root.id, t.early.id, ...subtree]);
    const deletedAt = after.get(t.parent.id)?.deleted_at;
    expect(deletedAt).not.toBeNull();
    for (const id of subtree) {
      expect(after.get(id)?.deleted_at, id).toEqual(deletedAt);
      expect(after.get(id)?.version, id).toBe(before.get(id)!.version + 1);
      expect(after.get(id)?.seq, id).toBe(after.get(t.parent.id)?.seq);
      expect((await api.get(`/api/v1/tasks/${id}`)).status, id).toBe(404);
    }
    // The task deleted earlier keeps its own deletion.
    expect(after.get(t.early.id)).toEqual(before.get(t.early.id));
    // The root lost its only subtask.
    const root = await get(user, t.root.id);
    expect(root).toMatchObject({ subtask_count: 0, version: before.get(t.root.id)!.version + 1 });
    expect(after.get(t.root.id)?.seq).toBe(after.get(t.parent.id)?.seq);

    const trash = await (await api.get('/api/v1/tasks/trash')).json<{ items: TaskBody[]; total: number }>();
    expect(trash.total).toBe(5);
    const shown = new Map(trash.items.map((task) => [task.id, task]));
    expect(shown.get(t.grandchild.id)).toMatchObject({ parent_id: t.child.id, subtask_count: 0 });
    expect(shown.get(t.child.id)).toMatchObject({ parent_id: t.parent.id });
    expect(shown.get(t.parent.id)).toMatchObject({ parent_id: t.root.id });
    const live = await (await api.get('/api/v1/tasks')).json<TaskPage>();
    expect(live.items.map((task) => task.id)).toEqual([t.root.id]);
  });

  it('restores what was deleted with the task, not what was deleted before; the parent above gets a new version', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const t = await tree(user);
    expect((await api.delete(`/api/v1/tasks/${t.parent.id}`)).status).toBe(204);
    const subtree = [t.parent.id, t.child.id, t.grandchild.id, t.sibling.id];
    const before = await rows([t.root.id, t.early.id, ...subtree]);

    // A subtask whose parent is in the trash cannot come back alone.
    const orphan = await restore(user, t.child.id);
    expect(orphan.status).toBe(409);
    const problem = await orphan.json<Problem>();
    expect(problem.code).toBe('CONFLICT');
    expect(problem.detail).toMatch(/restore its parent first/);
    expect(await rows([t.root.id, t.early.id, ...subtree])).toEqual(before);

    const { res, neon } = await measured(() => restore(user, t.parent.id));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(neon).toBe(1);
    const restored = await res.json<TaskBody>();
    // Its subtasks came back with it, and the answer counts them.
    expect(restored).toMatchObject({ id: t.parent.id, deleted_at: null, subtask_count: 2 });
    expect(restored).toEqual(await get(user, t.parent.id));
    expect(res.headers.get('etag')).toBe(`"${t.parent.id}.${restored.version}"`);

    const after = await rows([t.root.id, t.early.id, ...subtree]);
    for (const id of subtree) {
      expect(after.get(id)?.deleted_at, id).toBeNull();
      expect(after.get(id)?.version, id).toBe(before.get(id)!.version + 1);
      expect(after.get(id)?.seq, id).toBe(after.get(t.parent.id)?.seq);
    }
    expect(await get(user, t.child.id)).toMatchObject({ subtask_count: 1 });
    expect(after.get(t.early.id)).toEqual(before.get(t.early.id));
    expect(await get(user, t.root.id)).toMatchObject({
      subtask_count: 1,
      version: before.get(t.root.id)!.version + 1,
    });
    const trash = await (await api.get('/api/v1/tasks/trash')).json<{ items: TaskBody[] }>();
    expect(trash.items.map((task) => task.id)).toEqual([t.early.id]);

    // The one deleted before comes back on its own now that its parent is live.
    const early = await restore(user, t.early.id);
    expect(early.status).toBe(200);
    expect(await get(user, t.parent.id)).toMatchObject({ subtask_count: 3 });
  });

  it('counts every task coming back against the cap (409 LIMIT_REACHED, nothing restored)', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const parent = await createTask(app, user.accessToken, { title: 'Big parent' });
    const child = await createTask(app, user.accessToken, { title: 'Its child', parent_id: parent.id });
    expect((await api.delete(`/api/v1/tasks/${parent.id}`)).status).toBe(204);
    // 9,999 live tasks: room for one more, not for two.
    await app.sql`insert into tasks (user_id, title, position) select ${user.userId}, 'Bulk ' || g, 'z' || left(md5(gen_random_uuid()::text), 26) from generate_series(1, 9999) g`;
    const refused = await restore(user, parent.id);
    expect(refused.status).toBe(409);
    expect((await refused.json<Problem>()).code).toBe('LIMIT_REACHED');
    const still = await rows([parent.id, child.id]);
    expect([...still.values()].every((r) => r.deleted_at !== null)).toBe(true);

    await app.sql`delete from tasks where id = (select id from tasks where user_id = ${user.userId} and title = 'Bulk 1')`;
    const ok = await restore(user, parent.id);
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect((await rows([child.id])).get(child.id)?.deleted_at).toBeNull();
  });

  it('purges the subtree with its parent and records the newest purged change', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const parent = await createTask(app, user.accessToken, { title: 'Purged parent' });
    const child = await createTask(app, user.accessToken, { title: 'Purged child', parent_id: parent.id });
    const grandchild = await createTask(app, user.accessToken, { title: 'Purged grandchild', parent_id: child.id });
    expect((await api.delete(`/api/v1/tasks/${parent.id}`)).status).toBe(204);
    await app.sql`update tasks set deleted_at = now() - interval '31 days' where id = ${parent.id}`;
    // Deleted later by another Worker's clock: still purged with its parent, and its change counted.
    await app.sql`update tasks set deleted_at = now() - interval '1 day' where id = ${child.id}`;
    await app.sql`update tasks set change_seq = change_seq + 5 where id = ${grandchild.id}`;
    const [{ seq } = { seq: 0 }] = await app.sql`select change_seq::int as seq from tasks where id = ${grandchild.id}`;

    await worker.scheduled(createScheduledController({ cron: '17 * * * *', scheduledTime: Date.now() }), app.env);

    expect((await rows([parent.id, child.id, grandchild.id])).size).toBe(0);
    const [state] = await app.sql`select purged_seq::int as purged from task_sync_state where user_id = ${user.userId}`;
    expect(state?.purged).toBe(seq);
  });
});

describe('completing a task', () => {
  it('completes its open live descendants in the same statement, each with a new version', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const root = await createTask(app, user.accessToken, { title: 'Root' });
    const task = await createTask(app, user.accessToken, { title: 'Finish me', parent_id: root.id });
    const open = await createTask(app, user.accessToken, { title: 'Open child', parent_id: task.id });
    const done = await createTask(app, user.accessToken, { title: 'Done child', parent_id: task.id });
    const deep = await createTask(app, user.accessToken, { title: 'Deep child', parent_id: open.id });
    const trashed = await createTask(app, user.accessToken, { title: 'Trashed child', parent_id: task.id });
    expect((await api.patch(`/api/v1/tasks/${done.id}`, { version: 1, status: 'done' })).status).toBe(200);
    expect((await api.patch(`/api/v1/tasks/${deep.id}`, { version: 1, status: 'in_progress' })).status).toBe(200);
    expect((await api.delete(`/api/v1/tasks/${trashed.id}`)).status).toBe(204);
    const ids = [root.id, task.id, open.id, done.id, deep.id, trashed.id];
    const before = await rows(ids);

    const current = (await get(user, task.id)).version;
    const { res, neon } = await measured(() =>
      api.patch(`/api/v1/tasks/${task.id}`, { version: current, status: 'done' }),
    );
    expect(res.status, await res.clone().text()).toBe(200);
    expect(neon).toBe(1);
    expect(await res.json<TaskBody>()).toMatchObject({ status: 'done', version: current + 1, subtask_count: 2 });

    const after = await rows(ids);
    const seq = after.get(task.id)?.seq;
    for (const id of [open.id, deep.id]) {
      expect(after.get(id), id).toMatchObject({ status: 'done', version: before.get(id)!.version + 1, seq });
    }
    // Already done, in the trash, or above: untouched (the root's subtask_count did not change).
    for (const id of [done.id, trashed.id, root.id]) expect(after.get(id), id).toEqual(before.get(id));
  });

  it('other status changes touch only the task', async () => {
    const user = await register(app);
    const parent = await createTask(app, user.accessToken, { title: 'Started' });
    const child = await createTask(app, user.accessToken, { title: 'Not started', parent_id: parent.id });
    const res = await as(app, user.accessToken).patch(`/api/v1/tasks/${parent.id}`, {
      version: 2,
      status: 'in_progress',
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await rows([child.id])).get(child.id)).toMatchObject({ status: 'todo', version: 1 });
  });
});

describe('listing by parent', () => {
  it('parent_id lists direct subtasks, top_level the tasks without a parent; both together is 400', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const root = await createTask(app, user.accessToken, { title: 'Trip root' });
    const other = await createTask(app, user.accessToken, { title: 'Other root' });
    const children: TaskBody[] = [];
    for (const title of ['Charlie step', 'Alpha step', 'Bravo step', 'Delta step']) {
      children.push(await createTask(app, user.accessToken, { title, parent_id: root.id }));
    }
    const grandchild = await createTask(app, user.accessToken, { title: 'Echo step', parent_id: children[0]!.id });
    await api.delete(`/api/v1/tasks/${children[3]!.id}`);
    const live = children.slice(0, 3);

    const list = async (query: string) => {
      const res = await api.get(`/api/v1/tasks?${query}`);
      expect(res.status, await res.clone().text()).toBe(200);
      return res.json<TaskPage>();
    };
    const direct = await list(`parent_id=${root.id}&sort=title`);
    expect(direct.items.map((t) => t.title)).toEqual(['Alpha step', 'Bravo step', 'Charlie step']);
    expect(direct.total).toBe(3);
    expect((await list(`parent_id=${children[0]!.id}`)).items.map((t) => t.id)).toEqual([grandchild.id]);
    expect((await list(`parent_id=${crypto.randomUUID()}`)).total).toBe(0);

    const top = await list('top_level=true&sort=created_at');
    expect(top.items.map((t) => t.id)).toEqual([root.id, other.id]);
    const subtasks = await list('top_level=false&sort=created_at');
    expect(subtasks.items.map((t) => t.id)).toEqual([...live.map((t) => t.id), grandchild.id]);

    // Keyset paging, offset paging and search keep the filter.
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const page: TaskPage = await list(`parent_id=${root.id}&sort=-title&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.total).toBe(3);
      walked.push(...page.items.map((t) => t.title));
      cursor = page.next_cursor;
    } while (cursor);
    expect(walked).toEqual(['Charlie step', 'Bravo step', 'Alpha step']);
    expect((await list(`parent_id=${root.id}&sort=title&limit=2&page=2`)).items.map((t) => t.title)).toEqual([
      'Charlie step',
    ]);
    expect((await list(`parent_id=${root.id}&q=bravo`)).items.map((t) => t.id)).toEqual([children[2]!.id]);
    expect((await list('top_level=true&q=step')).total).toBe(0);

    const both = await api.get(`/api/v1/tasks?parent_id=${root.id}&top_level=true`);
    expect(both.status).toBe(400);
    const problem = await both.json<Problem>();
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.errors?.map((e) => e.pointer)).toEqual(['/query/top_level']);
    expect((await api.get('/api/v1/tasks?top_level=yes')).status).toBe(400);
    expect((await api.get('/api/v1/tasks?parent_id=nope')).status).toBe(400);
  });

  it('another user’s parent_id lists nothing', async () => {
    const bobs = await createTask(app, bob.accessToken, { title: 'Bob’s parent' });
    await createTask(app, bob.accessToken, { title: 'Bob’s child', parent_id: bobs.id });
    const res = await as(app, ann.accessToken).get(`/api/v1/tasks?parent_id=${bobs.id}`);
    expect(res.status).toBe(200);
    expect((await res.json<TaskPage>()).total).toBe(0);
  });
});

describe('delta sync and export', () => {
  it('sends the changed parent with its children after each write', async () => {
    const user = await register(app);
    const api = as(app, user.accessToken);
    const changes = async (cursor: string) => {
      const res = await api.get(`/api/v1/tasks/changes?cursor=${cursor}`);
      expect(res.status, await res.clone().text()).toBe(200);
      return res.json<{ changes: Change[]; next_cursor: string }>();
    };
    const start = (await (await api.get('/api/v1/tasks/changes')).json<{ next_cursor: string }>()).next_cursor;
    const parent = await createTask(app, user.accessToken, { title: 'Synced parent' });
    const afterParent = (await changes(start)).next_cursor;

    const child = await createTask(app, user.accessToken, { title: 'Synced child', parent_id: parent.id });
    const created = await changes(afterParent);
    expect(created.changes).toEqual(
      expect.arrayContaining([
        { type: 'task', task: expect.objectContaining({ id: parent.id, subtask_count: 1, version: 2 }) as TaskBody },
        { type: 'task', task: expect.objectContaining({ id: child.id, parent_id: parent.id }) as TaskBody },
      ]),
    );
    expect(created.changes).toHaveLength(2);

    const grandchild = await createTask(app, user.accessToken, { title: 'Synced grandchild', parent_id: child.id });
    const beforeDone = (await changes(created.next_cursor)).next_cursor;
    const current = (await get(user, parent.id)).version;
    expect((await api.patch(`/api/v1/tasks/${parent.id}`, { version: current, status: 'done' })).status).toBe(200);
    const completed = await changes(beforeDone);
    expect(completed.changes.map((c) => (c.type === 'task' ? [c.task.id, c.task.status] : c.type)).sort()).toEqual(
      [
        [parent.id, 'done'],
        [child.id, 'done'],
        [grandchild.id, 'done'],
      ].sort(),
    );

    expect((await api.delete(`/api/v1/tasks/${child.id}`)).status).toBe(204);
    const deleted = await changes(completed.next_cursor);
    expect(deleted.changes).toHaveLength(3);
    expect(
      deleted.changes
        .filter((c) => c.type === 'task_deleted')
        .map((c) => c.task_id)
        .sort(),
    ).toEqual([child.id, grandchild.id].sort());
    expect(deleted.changes).toContainEqual({
      type: 'task',
      task: expect.objectContaining({ id: parent.id, subtask_count: 0 }) as TaskBody,
    });

    expect((await restore(user, child.id)).status).toBe(200);
    const restored = await changes(deleted.next_cursor);
    expect(restored.changes.map((c) => (c.type === 'task' ? c.task.id : c.type)).sort()).toEqual(
      [parent.id, child.id, grandchild.id].sort(),
    );
  });

  it('the export carries parent_id and subtask_count', async () => {
    const user = await register(app);
    const parent = await createTask(app, user.accessToken, { title: 'Exported parent' });
    const child = await createTask(app, user.accessToken, { title: 'Exported child', parent_id: parent.id });
    const res = await as(app, user.accessToken).get('/api/v1/account/export');
    expect(res.status).toBe(200);
    const doc = await res.json<{ tasks: TaskBody[] }>();
    // Oldest first: a parent always comes before its subtasks.
    expect(doc.tasks.map((t) => [t.id, t.parent_id, t.subtask_count])).toEqual([
      [parent.id, null, 1],
      [child.id, parent.id, 0],
    ]);
  });
});
