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

const etagOf = (task: { id: string; version: number }) => `"${task.id}.${task.version}"`;

function withHeaders(token: string, headers: Record<string, string>, init: RequestInit = {}): RequestInit {
  return bearer(token, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...headers } });
}

const patch = (token: string, id: string, body: unknown, headers: Record<string, string> = {}) =>
  app.request(`/api/v1/tasks/${id}`, json(body, withHeaders(token, headers, { method: 'PATCH' })));

describe('ETag', () => {
  it('every task response carries the id-and-version tag, and it moves with each change', async () => {
    const created = await as(app, ann.accessToken).post('/api/v1/tasks', { title: 'Tagged' });
    const task = await created.json<TaskBody>();
    expect(created.headers.get('etag')).toBe(etagOf(task));
    const read = await as(app, ann.accessToken).get(`/api/v1/tasks/${task.id}`);
    expect(read.headers.get('etag')).toBe(`"${task.id}.1"`);
    const updated = await patch(ann.accessToken, task.id, { title: 'Tagged again', version: 1 });
    expect(updated.headers.get('etag')).toBe(`"${task.id}.2"`);
    // A category link changes what a GET shows, so it is a new version too.
    const category = await createCategory(app, ann.accessToken, 'Tagging');
    const linked = await as(app, ann.accessToken).post(`/api/v1/tasks/${task.id}/categories/${category.id}`);
    expect(linked.status).toBe(200);
    expect((await linked.json<TaskBody>()).version).toBe(3);
    expect(linked.headers.get('etag')).toBe(`"${task.id}.3"`);
    expect((await as(app, ann.accessToken).delete(`/api/v1/tasks/${task.id}/categories/${category.id}`)).status).toBe(
      204,
    );
    const after = await as(app, ann.accessToken).get(`/api/v1/tasks/${task.id}`);
    expect(after.headers.get('etag')).toBe(`"${task.id}.4"`);
    expect((await after.json<TaskBody>()).categories).toEqual([]);
  });
});

describe('If-None-Match', () => {
  it('answers 304 without a body while the task is unchanged, from the cache or not, and 200 once it changed', async () => {
    const task = await createTask(app, ann.accessToken, { title: 'Revalidated' });
    const get = (tag: string) =>
      app.request(`/api/v1/tasks/${task.id}`, withHeaders(ann.accessToken, { 'if-none-match': tag }));
    for (let i = 0; i < 2; i++) {
      const res = await get(etagOf(task));
      expect(res.status).toBe(304);
      expect(res.headers.get('etag')).toBe(etagOf(task));
      expect(await res.text()).toBe('');
    }
    expect((await get(`W/${etagOf(task)}`)).status).toBe(304);
    expect((await get(`"other", ${etagOf(task)}`)).status).toBe(304);
    expect((await get('*')).status).toBe(304);
    expect((await get('"not-it"')).status).toBe(200);
    // Malformed: ignored, as if absent.
    expect((await get('not a tag')).status).toBe(200);
    await patch(ann.accessToken, task.id, { status: 'done', version: 1 });
    const changed = await get(etagOf(task));
    expect(changed.status).toBe(200);
    expect((await changed.json<TaskBody>()).status).toBe('done');
  });

  it('on a list: 304 for the same page, 200 once anything in it changed', async () => {
    const user = (await register(app)).accessToken;
    const task = await createTask(app, user, { title: 'Listed' });
    const first = await as(app, user).get('/api/v1/tasks');
    const tag = first.headers.get('etag') ?? '';
    expect(tag).toMatch(/^"l\.[A-Za-z0-9_-]{22}"$/);
    const again = await app.request('/api/v1/tasks', withHeaders(user, { 'if-none-match': tag }));
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    await patch(user, task.id, { title: 'Listed and changed', version: 1 });
    const changed = await app.request('/api/v1/tasks', withHeaders(user, { 'if-none-match': tag }));
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(tag);
  });
});

describe('If-Match', () => {
  it('PATCH with the current ETag applies without a body version; a stale one is 412 and changes nothing', async () => {
    const task = await createTask(app, ann.accessToken, { title: 'Guarded' });
    const ok = await patch(ann.accessToken, task.id, { title: 'Guarded once' }, { 'if-match': etagOf(task) });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect((await ok.json<TaskBody>()).version).toBe(2);

    const stale = await patch(ann.accessToken, task.id, { title: 'Lost update' }, { 'if-match': etagOf(task) });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('content-type')).toContain('application/problem+json');
    expect(await stale.json<Problem>()).toMatchObject({ code: 'PRECONDITION_FAILED', current_version: 2 });
    const [row] = await app.sql`select title, version from tasks where id = ${task.id}`;
    expect(row).toEqual({ title: 'Guarded once', version: 2 });
  });

  it('uses the strong comparison: a weak tag never matches; * matches any version; any listed tag may match', async () => {
    const task = await createTask(app, ann.accessToken, { title: 'Compared' });
    expect(
      (await patch(ann.accessToken, task.id, { priority: 'high' }, { 'if-match': `W/${etagOf(task)}` })).status,
    ).toBe(412);
    const listed = await patch(ann.accessToken, task.id, { priority: 'high' }, { 'if-match': `"x", ${etagOf(task)}` });
    expect(listed.status).toBe(200);
    const any = await patch(ann.accessToken, task.id, { priority: 'low' }, { 'if-match': '*' });
    expect(any.status).toBe(200);
    expect((await any.json<TaskBody>()).version).toBe(3);
    // Another task's tag with the right version number is still another task's.
    const other = await createTask(app, ann.accessToken, { title: 'Other' });
    expect((await patch(ann.accessToken, task.id, { priority: 'low' }, { 'if-match': `"${other.id}.3"` })).status).toBe(
      412,
    );
  });

  it('refuses a malformed header, a disagreeing body version, and a PATCH that names no version (400)', async () => {
    const task = await createTask(app, ann.accessToken, { title: 'Refused' });
    const malformed = await patch(ann.accessToken, task.id, { title: 'Nope' }, { 'if-match': 'no quotes' });
    expect(malformed.status).toBe(400);
    expect((await malformed.json<Problem>()).errors?.[0]?.pointer).toBe('/header/If-Match');
    const disagree = await patch(ann.accessToken, task.id, { title: 'Nope', version: 7 }, { 'if-match': etagOf(task) });
    expect(disagree.status).toBe(400);
    expect((await disagree.json<Problem>()).errors?.[0]?.pointer).toBe('/body/version');
    const neither = await patch(ann.accessToken, task.id, { title: 'Nope' });
    expect(neither.status).toBe(400);
    expect((await neither.json<Problem>()).errors?.[0]?.pointer).toBe('/body/version');
    expect((await app.sql`select version from tasks where id = ${task.id}`)[0]?.version).toBe(1);
  });

  it('existence and ownership come first: 404 for a missing task, 403 for another user’s, whatever the tag', async () => {
    const missing = crypto.randomUUID();
    expect((await patch(ann.accessToken, missing, { title: 'Ghost' }, { 'if-match': `"${missing}.1"` })).status).toBe(
      404,
    );
    const bobs = await createTask(app, bob.accessToken, { title: 'Bob owns it' });
    expect((await patch(ann.accessToken, bobs.id, { title: 'Mine now' }, { 'if-match': etagOf(bobs) })).status).toBe(
      403,
    );
  });

  it('DELETE with a stale ETag is 412 and the task stays; with the current one it goes to the trash', async () => {
    const task = await createTask(app, ann.accessToken, { title: 'Delete me carefully' });
    await patch(ann.accessToken, task.id, { title: 'Changed elsewhere', version: 1 });
    const del = (tag: string) =>
      app.request(`/api/v1/tasks/${task.id}`, withHeaders(ann.accessToken, { 'if-match': tag }, { method: 'DELETE' }));
    const stale = await del(etagOf(task));
    expect(stale.status).toBe(412);
    expect(await stale.json<Problem>()).toMatchObject({ code: 'PRECONDITION_FAILED', current_version: 2 });
    expect((await app.sql`select deleted_at from tasks where id = ${task.id}`)[0]?.deleted_at).toBeNull();
    expect((await del(`"${task.id}.2"`)).status).toBe(204);
    expect((await app.sql`select deleted_at from tasks where id = ${task.id}`)[0]?.deleted_at).not.toBeNull();
  });
});
