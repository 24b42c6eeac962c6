import { beforeAll, describe, expect, it } from 'vitest';
import { appWithTwoUsers, bearer, type Registered } from '../helpers/auth.ts';
import { as, createCategory, createTask, type Problem, type TaskBody } from '../helpers/tasks.ts';
import { json, type TestApp } from '../helpers/test-app.ts';

let app: TestApp;
let ann: Registered;
let bob: Registered;

beforeAll(async () => {
  ({ app, ann, bob } = await appWithTwoUsers());
});

interface CategoryBody {
  id: string;
  user_id: string;
  name: string;
  color: string;
  version: number;
  created_at: string;
  updated_at: string;
}

const etagOf = (c: { id: string; version: number }) => `"${c.id}.${c.version}"`;

const patch = (token: string, id: string, body: unknown, headers: Record<string, string> = {}) =>
  app.request(`/api/v1/categories/${id}`, json(body, bearer(token, { method: 'PATCH', headers })));

describe('GET /api/v1/categories/{cat_id}', () => {
  it('200 with the category, its version and ETag; 304 for a current If-None-Match', async () => {
    const created = await createCategory(app, ann.accessToken, 'Reading', '#1a2b3c');
    const res = await as(app, ann.accessToken).get(`/api/v1/categories/${created.id}`);
    expect(res.status).toBe(200);
    const body = await res.json<CategoryBody>();
    expect(body).toMatchObject({ id: created.id, user_id: ann.userId, name: 'Reading', color: '#1A2B3C', version: 1 });
    expect(res.headers.get('etag')).toBe(etagOf(body));
    const again = await app.request(
      `/api/v1/categories/${created.id}`,
      bearer(ann.accessToken, { headers: { 'if-none-match': etagOf(body) } }),
    );
    expect(again.status).toBe(304);
  });

  it("403 for another user's category, 404 for a missing one, 400 for a bad id", async () => {
    const bobs = await createCategory(app, bob.accessToken, 'Bob reads');
    const other = await as(app, ann.accessToken).get(`/api/v1/categories/${bobs.id}`);
    expect(other.status).toBe(403);
    expect((await other.json<Problem>()).code).toBe('FORBIDDEN');
    const missing = await as(app, ann.accessToken).get(`/api/v1/categories/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    expect((await as(app, ann.accessToken).get('/api/v1/categories/nope')).status).toBe(400);
  });
});

describe('PATCH /api/v1/categories/{cat_id}', () => {
  it('renames and recolours with the body version; the version moves, the linked task changes too', async () => {
    const category = await createCategory(app, ann.accessToken, 'Garden');
    const task = await createTask(app, ann.accessToken, { title: 'Plant the roses' });
    await as(app, ann.accessToken).post(`/api/v1/tasks/${task.id}/categories/${category.id}`);
    const res = await patch(ann.accessToken, category.id, { name: 'Backyard', color: '#22aa55', version: 1 });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await res.json<CategoryBody>();
    expect(body).toMatchObject({ name: 'Backyard', color: '#22AA55', version: 2 });
    expect(res.headers.get('etag')).toBe(etagOf(body));
    const rows = await app.sql`select name, color, version from categories where id = ${category.id}`;
    expect(rows[0]).toEqual({ name: 'Backyard', color: '#22AA55', version: 2 });
    // The task shows the category's name: its representation (and so its version) changed.
    const read = await (await as(app, ann.accessToken).get(`/api/v1/tasks/${task.id}`)).json<TaskBody>();
    expect(read.categories).toEqual([{ id: category.id, name: 'Backyard', color: '#22AA55' }]);
    expect(read.version).toBe(3);
  });

  it('409 with current_version for a stale body version, 412 for a stale If-Match; nothing changes', async () => {
    const category = await createCategory(app, ann.accessToken, 'Music');
    expect((await patch(ann.accessToken, category.id, { color: '#000000', version: 1 })).status).toBe(200);
    const stale = await patch(ann.accessToken, category.id, { name: 'Lost update', version: 1 });
    expect(stale.status).toBe(409);
    expect(await stale.json<Problem>()).toMatchObject({ code: 'CONFLICT', current_version: 2 });
    const staleTag = await patch(
      ann.accessToken,
      category.id,
      { name: 'Lost too' },
      { 'if-match': `"${category.id}.1"` },
    );
    expect(staleTag.status).toBe(412);
    expect(await staleTag.json<Problem>()).toMatchObject({ code: 'PRECONDITION_FAILED', current_version: 2 });
    const rows = await app.sql`select name, version from categories where id = ${category.id}`;
    expect(rows[0]).toEqual({ name: 'Music', version: 2 });
    const ok = await patch(ann.accessToken, category.id, { name: 'Songs' }, { 'if-match': `"${category.id}.2"` });
    expect(ok.status).toBe(200);
    expect((await ok.json<CategoryBody>()).version).toBe(3);
  });

  it('409 for a name the user already has (any case); the same name in another case is a rename', async () => {
    await createCategory(app, ann.accessToken, 'Errands');
    const category = await createCategory(app, ann.accessToken, 'Chores');
    const dup = await patch(ann.accessToken, category.id, { name: 'ERRANDS', version: 1 });
    expect(dup.status).toBe(409);
    expect((await dup.json<Problem>()).code).toBe('CONFLICT');
    const recase = await patch(ann.accessToken, category.id, { name: 'CHORES', version: 1 });
    expect(recase.status).toBe(200);
    expect((await recase.json<CategoryBody>()).name).toBe('CHORES');
  });

  it("403 for another user's category (unchanged), 404 for a missing one", async () => {
    const bobs = await createCategory(app, bob.accessToken, 'Bob only here');
    expect((await patch(ann.accessToken, bobs.id, { name: 'Mine now', version: 1 })).status).toBe(403);
    expect((await app.sql`select name from categories where id = ${bobs.id}`)[0]?.name).toBe('Bob only here');
    expect((await patch(ann.accessToken, crypto.randomUUID(), { name: 'Ghost', version: 1 })).status).toBe(404);
  });

  it.each([
    ['no version and no If-Match', { name: 'Valid' }, '/body/version'],
    ['a 2-character name', { name: 'ab', version: 1 }, '/body/name'],
    ['a bad colour', { color: 'red', version: 1 }, '/body/color'],
    ['an unknown field', { user_id: 'x', version: 1 }, '/body'],
  ])('400 for %s', async (_what, body, pointer) => {
    const category = await createCategory(app, ann.accessToken, `Bad input ${crypto.randomUUID().slice(0, 8)}`);
    const res = await patch(ann.accessToken, category.id, body);
    expect(res.status).toBe(400);
    expect((await res.json<Problem>()).errors?.map((e) => e.pointer)).toContain(pointer);
  });

  it('concurrent PATCHes of the same version: exactly one wins, the others get 409', async () => {
    const category = await createCategory(app, ann.accessToken, 'Contested');
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => patch(ann.accessToken, category.id, { name: `Contested ${i}`, version: 1 })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);
    expect((await app.sql`select version from categories where id = ${category.id}`)[0]?.version).toBe(2);
  });
});
