import { beforeAll, describe, expect, it } from 'vitest';
import { appWithTwoUsers, bearer, register, type Registered } from '../helpers/auth.ts';
import { as, createTask, type Problem, type TaskBody, type TaskPage } from '../helpers/tasks.ts';
import { json, type TestApp } from '../helpers/test-app.ts';

/** Issue 15, step 2: the manual order (position, sort=position, POST /tasks/{id}/move). */

let app: TestApp;
let ann: Registered;
let bob: Registered;

beforeAll(async () => {
  ({ app, ann, bob } = await appWithTwoUsers());
});

const move = (user: Registered, id: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  app.request(`/api/v1/tasks/${id}/move`, json(body, bearer(user.accessToken, { headers })));

async function moved(user: Registered, id: string, body: Record<string, unknown>): Promise<TaskBody> {
  const res = await move(user, id, body);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<TaskBody>();
}

async function problem(res: Response, status: number, code: string): Promise<Problem> {
  expect(res.status, await res.clone().text()).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = await res.json<Problem>();
  expect(body.code).toBe(code);
  return body;
}

/** Every page of `query` (sort=position), walked by cursor, as titles. */
async function ordered(user: Registered, query: string, limit = 100): Promise<string[]> {
  const titles: string[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/api/v1/tasks?${query}&sort=position&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await as(app, user.accessToken).get(url);
    expect(res.status, await res.clone().text()).toBe(200);
    const page = await res.json<TaskPage>();
    titles.push(...page.items.map((t) => t.title));
    cursor = page.next_cursor;
  } while (cursor);
  return titles;
}

/** The rows as Postgres holds them, by id. */
async function rows(ids: string[]) {
  const found = await app.sql`
    select id, parent_id, position, version, change_seq::int as seq from tasks where id = any(${ids}::uuid[])`;
  return new Map(
    found.map((r) => [
      r.id as string,
      r as { parent_id: string | null; position: string; version: number; seq: number },
    ]),
  );
}

async function tasks(user: Registered, titles: string[], parent_id: string | null = null): Promise<TaskBody[]> {
  const made: TaskBody[] = [];
  for (const title of titles) made.push(await createTask(app, user.accessToken, { title, parent_id }));
  return made;
}

describe('position', () => {
  it('puts a new task last among its siblings, and sort=position lists them in that order', async () => {
    const user = await register(app);
    const [a, b, c] = await tasks(user, ['Task A', 'Task B', 'Task C']);
    expect(a!.position < b!.position && b!.position < c!.position).toBe(true);
    const [sub1, sub2] = await tasks(user, ['Sub 1', 'Sub 2'], b!.id);
    expect(sub1!.position < sub2!.position).toBe(true);

    expect(await ordered(user, 'top_level=true')).toEqual(['Task A', 'Task B', 'Task C']);
    expect(await ordered(user, `parent_id=${b!.id}`)).toEqual(['Sub 1', 'Sub 2']);
    const reversed = await as(app, user.accessToken).get('/api/v1/tasks?top_level=true&sort=-position');
    expect((await reversed.json<TaskPage>()).items.map((t) => t.title)).toEqual(['Task C', 'Task B', 'Task A']);
  });

  it('refuses sort=position without parent_id or top_level=true (400 naming sort)', async () => {
    for (const query of ['sort=position', 'sort=-position&top_level=false', 'sort=position&status=todo']) {
      const res = await as(app, ann.accessToken).get(`/api/v1/tasks?${query}`);
      const body = await problem(res, 400, 'VALIDATION_FAILED');
      expect(body.errors?.map((e) => e.pointer)).toContain('/query/sort');
    }
  });

  it('pages by cursor in position order, and refuses a forged position in a cursor', async () => {
    const user = await register(app);
    const parent = await createTask(app, user.accessToken, { title: 'Parent' });
    const titles = Array.from({ length: 7 }, (_, i) => `Step ${i}`);
    await tasks(user, titles, parent.id);
    expect(await ordered(user, `parent_id=${parent.id}`, 2)).toEqual(titles);
    const forged = btoa(JSON.stringify({ v: 1, s: 'position', k: "a0' or 1=1", i: parent.id }))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
    const res = await as(app, user.accessToken).get(`/api/v1/tasks?top_level=true&sort=position&cursor=${forged}`);
    await problem(res, 400, 'VALIDATION_FAILED');
  });
});

describe('moving a task among its siblings', () => {
  it('writes the moved row only: its position and version; the siblings keep theirs', async () => {
    const user = await register(app);
    const [a, b, c, d] = await tasks(user, ['Task A', 'Task B', 'Task C', 'Task D']);
    const ids = [a!.id, b!.id, c!.id, d!.id];
    const before = await rows(ids);

    await app.resetCounters();
    const res = await move(user, d!.id, { before: a!.id });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await app.counters()).neon.requests).toBe(1);
    const task = await res.json<TaskBody>();
    expect(res.headers.get('etag')).toBe(`"${d!.id}.2"`);
    expect(task).toMatchObject({ id: d!.id, version: 2, parent_id: null });
    expect(task.position < a!.position).toBe(true);
    expect(await ordered(user, 'top_level=true')).toEqual(['Task D', 'Task A', 'Task B', 'Task C']);

    const after = await rows(ids);
    for (const id of [a!.id, b!.id, c!.id]) expect(after.get(id)).toEqual(before.get(id));
    expect(after.get(d!.id)).toMatchObject({ position: task.position, version: 2 });
    expect(after.get(d!.id)!.seq).toBeGreaterThan(before.get(d!.id)!.seq);

    // after: between the neighbour and the next one
    await moved(user, a!.id, { after: b!.id });
    expect(await ordered(user, 'top_level=true')).toEqual(['Task D', 'Task B', 'Task A', 'Task C']);
    await moved(user, c!.id, { before: b!.id });
    expect(await ordered(user, 'top_level=true')).toEqual(['Task D', 'Task C', 'Task B', 'Task A']);
    // neither: last
    await moved(user, d!.id, {});
    expect(await ordered(user, 'top_level=true')).toEqual(['Task C', 'Task B', 'Task A', 'Task D']);
    // where it already is: still a write (new version), same order
    const again = await moved(user, d!.id, { after: a!.id });
    expect(again.version).toBe(4);
    expect(await ordered(user, 'top_level=true')).toEqual(['Task C', 'Task B', 'Task A', 'Task D']);
  });

  it('keeps the order in many moves into the same gap, with keys that stay short', async () => {
    const user = await register(app);
    const [first, , last] = await tasks(user, ['First', 'Middle', 'Last']);
    const titles = ['First'];
    let previous = first!;
    for (let i = 0; i < 30; i++) {
      const task = await createTask(app, user.accessToken, { title: `Squeezed ${i}` });
      // Each goes right before the last one: always into the same, shrinking gap.
      previous = await moved(user, task.id, { before: last!.id });
      titles.push(`Squeezed ${i}`);
    }
    expect(previous.position.length).toBeLessThan(12);
    // Each went right before Last, after the one squeezed in before it.
    expect(await ordered(user, 'top_level=true')).toEqual(['First', 'Middle', ...titles.slice(1), 'Last']);
  });
});

describe('moving a task to another parent', () => {
  it('moves it with its subtasks; the old and the new parent get new versions and counts', async () => {
    const user = await register(app);
    const [home, work] = await tasks(user, ['Home', 'Work']);
    const [paint] = await tasks(user, ['Paint the fence'], home!.id);
    await tasks(user, ['Buy paint'], paint!.id);
    const [email] = await tasks(user, ['Answer email'], work!.id);

    const task = await moved(user, paint!.id, { parent_id: work!.id, before: email!.id });
    // Version 2 came with its own subtask; the move gives it 3.
    expect(task).toMatchObject({ parent_id: work!.id, subtask_count: 1, version: 3 });
    expect(await ordered(user, `parent_id=${work!.id}`)).toEqual(['Paint the fence', 'Answer email']);
    expect(await ordered(user, `parent_id=${home!.id}`)).toEqual([]);
    const reread = async (id: string) => (await as(app, user.accessToken).get(`/api/v1/tasks/${id}`)).json<TaskBody>();
    expect(await reread(home!.id)).toMatchObject({ subtask_count: 0, version: 3 });
    expect(await reread(work!.id)).toMatchObject({ subtask_count: 2, version: 3 });
    const stored = await rows([home!.id, work!.id, paint!.id]);
    expect(stored.get(home!.id)!.seq).toBe(stored.get(paint!.id)!.seq);
    expect(stored.get(work!.id)!.seq).toBe(stored.get(paint!.id)!.seq);

    // To the top level, last there.
    const top = await moved(user, paint!.id, { parent_id: null });
    expect(top.parent_id).toBeNull();
    expect(await ordered(user, 'top_level=true')).toEqual(['Home', 'Work', 'Paint the fence']);
    expect(await reread(work!.id)).toMatchObject({ subtask_count: 1, version: 4 });
  });

  it('goes under the parent of the neighbour when parent_id is left out', async () => {
    const user = await register(app);
    const [list, loose] = await tasks(user, ['Groceries', 'Milk']);
    const [bread] = await tasks(user, ['Bread'], list!.id);
    const task = await moved(user, loose!.id, { after: bread!.id });
    expect(task.parent_id).toBe(list!.id);
    expect(await ordered(user, `parent_id=${list!.id}`)).toEqual(['Bread', 'Milk']);
  });

  it('refuses a cycle with 409 naming parent_id, and its own id as parent with 400; nothing is written', async () => {
    const user = await register(app);
    const [root] = await tasks(user, ['Root']);
    const [child] = await tasks(user, ['Child'], root!.id);
    const [grandchild] = await tasks(user, ['Grandchild'], child!.id);
    const before = await rows([root!.id, child!.id, grandchild!.id]);

    for (const under of [child!.id, grandchild!.id]) {
      const body = await problem(await move(user, root!.id, { parent_id: under }), 409, 'CONFLICT');
      expect(body.detail).toMatch(/its own subtasks/);
      expect(body.errors?.map((e) => e.pointer)).toEqual(['/body/parent_id']);
    }
    const self = await problem(await move(user, root!.id, { parent_id: root!.id }), 400, 'VALIDATION_FAILED');
    expect(self.errors?.map((e) => e.pointer)).toEqual(['/body/parent_id']);
    expect(await rows([root!.id, child!.id, grandchild!.id])).toEqual(before);
  });

  it('refuses a move that would nest deeper than 4 levels, counting the subtasks that come along', async () => {
    const user = await register(app);
    const [l1] = await tasks(user, ['Level 1']);
    const [l2] = await tasks(user, ['Level 2'], l1!.id);
    const [l3] = await tasks(user, ['Level 3'], l2!.id);
    const [mover] = await tasks(user, ['Has a subtask']);
    await tasks(user, ['Its subtask'], mover!.id);

    const body = await problem(await move(user, mover!.id, { parent_id: l3!.id }), 409, 'CONFLICT');
    expect(body.detail).toMatch(/at most 4 levels.*level 3.*brings 2 levels/);
    expect(body.errors?.map((e) => e.pointer)).toEqual(['/body/parent_id']);
    expect((await rows([mover!.id])).get(mover!.id)).toMatchObject({ parent_id: null, version: 2 });
    // Under level 2 it ends at level 4: fine.
    expect((await moved(user, mover!.id, { parent_id: l2!.id })).parent_id).toBe(l2!.id);
  });
});

describe('refusals', () => {
  it('answers 404/403 for the task, the parent and the neighbour, naming the field', async () => {
    const [mine, other] = await tasks(ann, ['Mine', 'Other']);
    const bobs = await createTask(app, bob.accessToken, { title: 'Bob’s task' });
    const trashed = await createTask(app, ann.accessToken, { title: 'Trashed' });
    expect((await as(app, ann.accessToken).delete(`/api/v1/tasks/${trashed.id}`)).status).toBe(204);
    const missing = crypto.randomUUID();

    await problem(await move(ann, missing, {}), 404, 'NOT_FOUND');
    await problem(await move(ann, bobs.id, {}), 403, 'FORBIDDEN');
    await problem(await move(ann, trashed.id, {}), 404, 'NOT_FOUND');
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ parent_id: missing }, 404, 'NOT_FOUND', '/body/parent_id'],
      [{ parent_id: bobs.id }, 403, 'FORBIDDEN', '/body/parent_id'],
      [{ parent_id: trashed.id }, 404, 'NOT_FOUND', '/body/parent_id'],
      [{ after: missing }, 404, 'NOT_FOUND', '/body/after'],
      [{ before: bobs.id }, 403, 'FORBIDDEN', '/body/before'],
      [{ after: trashed.id }, 404, 'NOT_FOUND', '/body/after'],
      // A sibling, but not under the parent asked for.
      [{ parent_id: other!.id, before: other!.id }, 409, 'CONFLICT', '/body/before'],
      [{ after: mine!.id }, 400, 'VALIDATION_FAILED', '/body/after'],
      [{ before: other!.id, after: other!.id }, 400, 'VALIDATION_FAILED', '/body/after'],
      [{ after: 'not-a-uuid' }, 400, 'VALIDATION_FAILED', '/body/after'],
      [{ position: 'a0' }, 400, 'VALIDATION_FAILED', '/body'],
    ];
    const before = await rows([mine!.id, other!.id]);
    for (const [body, status, code, pointer] of cases) {
      const answer = await problem(await move(ann, mine!.id, body), status, code);
      expect(answer.errors?.map((e) => e.pointer).join(), JSON.stringify(body)).toContain(pointer);
    }
    expect(await rows([mine!.id, other!.id])).toEqual(before);
  });

  it('applies the version check: 409 with current_version for a body version, 412 for If-Match', async () => {
    const [a, b] = await tasks(ann, ['Versioned A', 'Versioned B']);
    const stale = await problem(await move(ann, a!.id, { before: b!.id, version: 7 }), 409, 'CONFLICT');
    expect(stale.current_version).toBe(1);
    const res = await move(ann, a!.id, { after: b!.id }, { 'if-match': `"${a!.id}.5"` });
    expect(res.status).toBe(412);
    expect((await moved(ann, a!.id, { after: b!.id, version: 1 })).version).toBe(2);
  });

  it('refuses with 409 a place split so often that its key would pass 512 characters', async () => {
    const user = await register(app);
    const [a, b, c] = await tasks(user, ['Left', 'Right', 'Mover']);
    // As if thousands of moves had gone into this one gap: two neighbours 512 characters long.
    const left = `a0${'1'.repeat(510)}`;
    const right = `a0${'1'.repeat(509)}2`;
    await app.sql`update tasks set position = ${left} where id = ${a!.id}`;
    await app.sql`update tasks set position = ${right} where id = ${b!.id}`;
    const body = await problem(await move(user, c!.id, { after: a!.id }), 409, 'CONFLICT');
    expect(body.detail).toMatch(/No room left/);
    expect((await rows([c!.id])).get(c!.id)).toMatchObject({ version: 1 });
    // Elsewhere is fine.
    expect((await moved(user, c!.id, { before: a!.id })).version).toBe(2);
  });
});

describe('concurrent moves', () => {
  it('moves sent in parallel into the same gap all land there, in distinct places', async () => {
    const user = await register(app);
    const made = await tasks(user, ['Anchor', 'Next', 'Move 1', 'Move 2', 'Move 3', 'Move 4', 'Move 5', 'Move 6']);
    const [anchor, , ...movers] = made;
    const answers = await Promise.all(movers.map((t) => move(user, t.id, { after: anchor!.id })));
    expect(answers.map((r) => r.status)).toEqual(movers.map(() => 200));
    const positions = (await Promise.all(answers.map((r) => r.json<TaskBody>()))).map((t) => t.position);
    expect(new Set(positions).size).toBe(movers.length);

    const order = await ordered(user, 'top_level=true');
    expect(order).toHaveLength(made.length);
    expect(order[0]).toBe('Anchor');
    expect(order.at(-1)).toBe('Next');
    expect(new Set(order.slice(1, -1))).toEqual(new Set(movers.map((t) => t.title)));
  });

  it('moves of different tasks to different places, in parallel, all hold', async () => {
    const user = await register(app);
    const [t0, t1, t2, t3, t4, t5] = await tasks(user, ['Task 0', 'Task 1', 'Task 2', 'Task 3', 'Task 4', 'Task 5']);
    const answers = await Promise.all([
      move(user, t1!.id, { after: t5!.id }),
      move(user, t2!.id, { before: t0!.id }),
      move(user, t3!.id, { parent_id: t4!.id }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await ordered(user, 'top_level=true')).toEqual(['Task 2', 'Task 0', 'Task 4', 'Task 5', 'Task 1']);
    expect(await ordered(user, `parent_id=${t4!.id}`)).toEqual(['Task 3']);
  });
});

describe('position and the rest of the API', () => {
  it('gives a restored task a new place when another took its key while it was in the trash', async () => {
    const user = await register(app);
    const [, b] = await tasks(user, ['Kept', 'Deleted']);
    expect((await as(app, user.accessToken).delete(`/api/v1/tasks/${b!.id}`)).status).toBe(204);
    const c = await createTask(app, user.accessToken, { title: 'Took its place' });
    expect(c.position).toBe(b!.position);

    const res = await as(app, user.accessToken).post(`/api/v1/tasks/${b!.id}/restore`);
    expect(res.status, await res.clone().text()).toBe(200);
    const restored = await res.json<TaskBody>();
    expect(restored.position > c.position).toBe(true);
    expect(await ordered(user, 'top_level=true')).toEqual(['Kept', 'Took its place', 'Deleted']);

    // Without a collision it keeps its key.
    const [d] = await tasks(user, ['Round trip']);
    await as(app, user.accessToken).delete(`/api/v1/tasks/${d!.id}`);
    const back = await (await as(app, user.accessToken).post(`/api/v1/tasks/${d!.id}/restore`)).json<TaskBody>();
    expect(back.position).toBe(d!.position);
  });

  it('sends a moved task in the delta-sync feed with its new parent and position', async () => {
    const user = await register(app);
    const [p, t] = await tasks(user, ['Parent', 'Moved']);
    const start = await (await as(app, user.accessToken).get('/api/v1/tasks/changes')).json<{ next_cursor: string }>();
    const task = await moved(user, t!.id, { parent_id: p!.id });
    const res = await as(app, user.accessToken).get(`/api/v1/tasks/changes?cursor=${start.next_cursor}`);
    const feed = await res.json<{ changes: { type: string; task?: TaskBody }[] }>();
    const seen = feed.changes.filter((c) => c.type === 'task').map((c) => c.task!);
    expect(seen.find((x) => x.id === t!.id)).toMatchObject({ parent_id: p!.id, position: task.position });
    expect(seen.find((x) => x.id === p!.id)).toMatchObject({ subtask_count: 1 });
  });

  it('replays a move sent again with the same Idempotency-Key', async () => {
    const [a, b] = await tasks(ann, ['Idem A', 'Idem B']);
    const key = crypto.randomUUID();
    const first = await move(ann, a!.id, { after: b!.id }, { 'idempotency-key': key });
    expect(first.status).toBe(200);
    const again = await move(ann, a!.id, { after: b!.id }, { 'idempotency-key': key });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await again.json<TaskBody>()).version).toBe(2);
  });
});
