import { beforeAll, describe, expect, it } from 'vitest';
import { appWithTwoUsers, bearer, register, type Registered } from '../helpers/auth.ts';
import { as, createTask, type Problem, type TaskBody } from '../helpers/tasks.ts';
import { json, type TestApp } from '../helpers/test-app.ts';

/** Issue 15, step 3: POST /api/v1/batch (commands, temp ids, modes, replays, sync position). */

let app: TestApp;
let ann: Registered;
let bob: Registered;

beforeAll(async () => {
  ({ app, ann, bob } = await appWithTwoUsers());
});

interface Result {
  id: string;
  status: number;
  replayed: boolean;
  task?: TaskBody;
  category?: { id: string; name: string };
  problem?: Problem;
}
interface Answer {
  mode: 'independent' | 'atomic';
  applied: boolean;
  results: Result[];
  temp_ids: { temp_id: string; id: string }[];
  sync: { next_cursor: string; caught_up: boolean } | null;
}

type Command = {
  id?: string;
  type: string;
  temp_id?: string;
  task_id?: string;
  category_id?: string;
  args?: Record<string, unknown>;
};

/** Commands get fresh ids unless they bring one. */
const withIds = (commands: Command[]) => commands.map((c) => ({ id: crypto.randomUUID(), ...c }));

const send = (user: Registered, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  app.request('/api/v1/batch', json(body, bearer(user.accessToken, { headers })));

async function batch(user: Registered, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await send(user, body, headers);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<Answer>();
}

const statuses = (answer: Answer) => answer.results.map((r) => r.status);
/** The real id the answer gives for a temp id. */
const realId = (answer: Answer, temp: string) => answer.temp_ids.find((t) => t.temp_id === temp)?.id;

interface TaskRow {
  id: string;
  parent_id: string | null;
  title: string;
  status: string;
  version: number;
  trashed: boolean;
}

async function taskRows(user: Registered): Promise<TaskRow[]> {
  return (await app.sql`
    select id, parent_id, title, status, version, deleted_at is not null as trashed from tasks
     where user_id = ${user.userId} order by created_at, parent_id nulls first, position collate "C"`) as TaskRow[];
}

describe('POST /api/v1/batch', () => {
  it('runs commands in order, with temp ids across commands, in one Neon round trip', async () => {
    const user = await register(app);
    const [project, step, label] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await app.resetCounters();
    const res = await send(user, {
      commands: withIds([
        { type: 'task.create', temp_id: project, args: { title: 'Move house', priority: 'high' } },
        { type: 'task.create', temp_id: step, args: { title: 'Pack the books', parent_id: project } },
        { type: 'task.create', args: { title: 'Label the boxes', parent_id: project } },
        { type: 'category.create', temp_id: label, args: { name: 'Home', color: '#2563eb' } },
        { type: 'task.link', task_id: step, category_id: label },
        { type: 'task.update', task_id: step, args: { status: 'in_progress', version: 2 } },
        { type: 'task.move', task_id: step, args: { parent_id: project } },
      ]),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const counters = await app.counters();
    expect(counters.neon.requests).toBe(1);
    const answer = await res.json<Answer>();
    expect(statuses(answer)).toEqual([201, 201, 201, 201, 200, 200, 200]);
    expect(answer.applied).toBe(true);
    expect(answer.results.every((r) => !r.replayed)).toBe(true);

    const projectId = realId(answer, project)!;
    const stepId = realId(answer, step)!;
    expect(answer.results[0]!.task!.id).toBe(projectId);
    expect(answer.results[1]!.task).toMatchObject({ id: stepId, parent_id: projectId });
    expect(realId(answer, label)).toBe(answer.results[3]!.category!.id);
    // Linked (version 2), updated (3), moved last under the same parent (4).
    const moved = answer.results[6]!.task!;
    expect(moved).toMatchObject({ id: stepId, status: 'in_progress', version: 4, parent_id: projectId });
    expect(moved.categories.map((c) => c.name)).toEqual(['Home']);

    const rows = await taskRows(user);
    expect(rows.map((r) => [r.title, r.parent_id, r.status])).toEqual([
      ['Move house', null, 'todo'],
      // The move without a neighbour put it last among its siblings.
      ['Label the boxes', projectId, 'todo'],
      ['Pack the books', projectId, 'in_progress'],
    ]);
    // The single routes agree with what the batch answered.
    const read = await as(app, user.accessToken).get(`/api/v1/tasks/${stepId}`);
    expect(await read.json<TaskBody>()).toEqual(moved);
  });

  it('answers each command as its route would: failures stand alone in independent mode', async () => {
    const mine = await createTask(app, ann.accessToken, { title: 'Ann’s task' });
    const bobs = await createTask(app, bob.accessToken, { title: 'Bob’s task' });
    const answer = await batch(ann, {
      commands: withIds([
        { type: 'task.update', task_id: mine.id, args: { title: 'Stale edit', version: 7 } },
        { type: 'task.delete', task_id: bobs.id },
        { type: 'task.create', args: { title: 'Orphan', parent_id: crypto.randomUUID() } },
        { type: 'task.create', args: { title: 'Too late', due_date: '2020-01-01T00:00:00Z' } },
        { type: 'task.update', task_id: mine.id, args: { title: 'Fresh edit', version: 1 } },
        { type: 'task.delete', task_id: crypto.randomUUID() },
        { type: 'task.update', task_id: mine.id, args: { title: 'No version' } },
      ]),
    });
    expect(statuses(answer)).toEqual([409, 403, 404, 400, 200, 404, 400]);
    expect(answer.results[6]!.problem?.errors?.map((e) => e.pointer)).toEqual(['/body/commands/6/args/version']);
    expect(answer.applied).toBe(false);
    const [stale, foreign, orphan, late] = answer.results;
    expect(stale!.problem).toMatchObject({ code: 'CONFLICT', current_version: 1, status: 409 });
    expect(foreign!.problem?.code).toBe('FORBIDDEN');
    expect(orphan!.problem?.errors?.map((e) => e.pointer)).toEqual(['/body/commands/2/args/parent_id']);
    expect(late!.problem?.errors?.map((e) => e.pointer)).toEqual(['/body/commands/3/args/due_date']);
    expect(answer.results[4]!.task).toMatchObject({ title: 'Fresh edit', version: 2 });
    const bobsRow = await app.sql`select deleted_at from tasks where id = ${bobs.id}`;
    expect(bobsRow[0]?.deleted_at).toBeNull();
  });

  it('refuses a body that does not match the schema whole (400, nothing written)', async () => {
    const user = await register(app);
    const cases: [unknown, string][] = [
      [{ commands: [] }, '/body/commands'],
      [
        {
          commands: withIds([
            { type: 'task.create', args: { title: 'Fine' } },
            { type: 'task.create', args: { title: 'x' } },
          ]),
        },
        '/body/commands/1/args/title',
      ],
      [{ commands: withIds([{ type: 'task.explode', args: {} }]) }, '/body/commands/0/type'],
      [{ commands: withIds([{ type: 'task.delete', task_id: 'nope' }]) }, '/body/commands/0/task_id'],
      [
        {
          commands: [
            { id: 'same', type: 'task.create', args: { title: 'One' } },
            { id: 'same', type: 'task.create', args: { title: 'Two' } },
          ],
        },
        '/body/commands/1/id',
      ],
      [{ commands: withIds([{ type: 'task.create', args: { title: 'One' } }]), mode: 'sometimes' }, '/body/mode'],
      [
        { commands: withIds([{ type: 'task.create', args: { title: 'One' } }]), sync_cursor: 'bm90LWEtY3Vyc29y' },
        '/body/sync_cursor',
      ],
    ];
    for (const [body, pointer] of cases) {
      const res = await send(user, body as Record<string, unknown>);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const problem = await res.json<Problem>();
      expect(problem.errors?.map((e) => e.pointer).join(' '), JSON.stringify(body)).toContain(pointer);
    }
    expect(await taskRows(user)).toHaveLength(0);
  });

  it('takes 100 commands in one round trip and refuses 101', async () => {
    const user = await register(app);
    const hundred = withIds(
      Array.from({ length: 100 }, (_, i) => ({ type: 'task.create', args: { title: `Item ${i}` } })),
    );
    const refused = await send(user, {
      commands: [...hundred, { id: 'one-more', type: 'task.create', args: { title: 'Item 100' } }],
    });
    expect(refused.status).toBe(400);
    expect((await refused.json<Problem>()).errors?.map((e) => e.pointer)).toContain('/body/commands');
    expect(await taskRows(user)).toHaveLength(0);

    await app.resetCounters();
    const answer = await batch(user, { commands: hundred });
    expect((await app.counters()).neon.requests).toBe(1);
    expect(statuses(answer)).toEqual(hundred.map(() => 201));
    const rows = await taskRows(user);
    expect(rows).toHaveLength(100);
    expect(rows.map((r) => r.title)).toEqual(hundred.map((_, i) => `Item ${i}`));
  });
});

describe('creates in a row (one statement per run of creates under one parent)', () => {
  it('keeps command order among siblings, counts the cap command by command, and moves the parent once', async () => {
    const user = await register(app);
    const parent = await createTask(app, user.accessToken, { title: 'Parent' });
    await app.sql`
      insert into tasks (user_id, title, position)
      select ${user.userId}, 'Bulk ' || g, 'z' || left(md5(gen_random_uuid()::text), 26) from generate_series(1, 9996) g`;
    // 9,997 live: three more fit, the fourth and fifth do not.
    const answer = await batch(user, {
      commands: withIds(
        ['One', 'Two', 'Three', 'Four', 'Five'].map((title) => ({
          type: 'task.create',
          args: { title: `Step ${title}`, parent_id: parent.id },
        })),
      ),
    });
    expect(statuses(answer)).toEqual([201, 201, 201, 409, 409]);
    expect(answer.results[3]!.problem?.code).toBe('LIMIT_REACHED');
    const made = answer.results.slice(0, 3).map((r) => r.task!);
    expect(made.map((t) => t.parent_id)).toEqual([parent.id, parent.id, parent.id]);
    expect(made[0]!.position < made[1]!.position && made[1]!.position < made[2]!.position).toBe(true);
    const reread = await (await as(app, user.accessToken).get(`/api/v1/tasks/${parent.id}`)).json<TaskBody>();
    expect(reread).toMatchObject({ subtask_count: 3, version: 2 });
    const live =
      await app.sql`select count(*)::int as n from tasks where user_id = ${user.userId} and deleted_at is null`;
    expect(live[0]?.n).toBe(10_000);
  });

  it('refuses the whole run of an atomic batch past the cap', async () => {
    const user = await register(app);
    await app.sql`
      insert into tasks (user_id, title, position)
      select ${user.userId}, 'Bulk ' || g, 'z' || left(md5(gen_random_uuid()::text), 26) from generate_series(1, 9999) g`;
    const answer = await batch(user, {
      mode: 'atomic',
      commands: withIds([
        { type: 'task.create', args: { title: 'Fits' } },
        { type: 'task.create', args: { title: 'Does not fit' } },
      ]),
    });
    expect(statuses(answer)).toEqual([424, 409]);
    const live = await app.sql`select count(*)::int as n from tasks where user_id = ${user.userId}`;
    expect(live[0]?.n).toBe(9999);
  });
});

describe('atomic mode', () => {
  it('writes nothing when one command fails: that one says why, the others 424', async () => {
    const user = await register(app);
    const task = await createTask(app, user.accessToken, { title: 'Keep me' });
    const before = await taskRows(user);
    const answer = await batch(user, {
      mode: 'atomic',
      commands: withIds([
        { type: 'task.create', args: { title: 'Would be new' } },
        { type: 'task.update', task_id: task.id, args: { title: 'Would be renamed', version: 1 } },
        { type: 'task.update', task_id: task.id, args: { title: 'Stale', version: 1 } },
        { type: 'task.delete', task_id: task.id },
      ]),
    });
    expect(answer).toMatchObject({ mode: 'atomic', applied: false, sync: null, temp_ids: [] });
    expect(statuses(answer)).toEqual([424, 424, 409, 424]);
    expect(answer.results[2]!.problem).toMatchObject({ code: 'CONFLICT', current_version: 2 });
    expect(answer.results[0]!.problem?.code).toBe('NOT_APPLIED');
    expect(await taskRows(user)).toEqual(before);
    const recorded = await app.sql`select count(*)::int as n from batch_commands where user_id = ${user.userId}`;
    expect(recorded[0]?.n).toBe(0);
  });

  it('refuses before the database when a command is invalid on its face', async () => {
    const user = await register(app);
    await app.resetCounters();
    const answer = await batch(user, {
      mode: 'atomic',
      commands: withIds([
        { type: 'task.create', args: { title: 'Would be new' } },
        { type: 'task.create', args: { title: 'Due yesterday', due_date: '2020-01-01T00:00:00Z' } },
      ]),
    });
    expect(statuses(answer)).toEqual([424, 400]);
    expect((await app.counters()).neon.requests).toBe(0);
    expect(await taskRows(user)).toHaveLength(0);
  });

  it('applies everything when every command holds', async () => {
    const user = await register(app);
    const temp = crypto.randomUUID();
    const answer = await batch(user, {
      mode: 'atomic',
      commands: withIds([
        { type: 'task.create', temp_id: temp, args: { title: 'Parent' } },
        { type: 'task.create', args: { title: 'Child', parent_id: temp } },
        { type: 'task.delete', task_id: temp },
        { type: 'task.restore', task_id: temp },
      ]),
    });
    expect(answer.applied).toBe(true);
    expect(statuses(answer)).toEqual([201, 201, 204, 200]);
    expect(answer.results[3]!.task).toMatchObject({ subtask_count: 1, deleted_at: null });
  });
});

describe('replays', () => {
  it('answers a resent batch from the first results without applying anything again', async () => {
    const user = await register(app);
    const temp = crypto.randomUUID();
    const commands = withIds([
      { type: 'task.create', temp_id: temp, args: { title: 'Sent twice' } },
      { type: 'task.update', task_id: temp, args: { title: 'Renamed once', version: 1 } },
      { type: 'task.update', task_id: temp, args: { title: 'Stale', version: 1 } },
    ]);
    const first = await batch(user, { commands });
    expect(statuses(first)).toEqual([201, 200, 409]);
    const rowsAfterFirst = await taskRows(user);

    const again = await batch(user, { commands });
    expect(again.results.map((r) => r.replayed)).toEqual([true, true, true]);
    expect(statuses(again)).toEqual([201, 200, 409]);
    expect(again.results.map((r) => r.task ?? r.problem?.code)).toEqual(
      first.results.map((r) => r.task ?? r.problem?.code),
    );
    expect(again.temp_ids).toEqual(first.temp_ids);
    expect(await taskRows(user)).toEqual(rowsAfterFirst);

    // The queue grew meanwhile: the new command uses the replayed temp id and applies once.
    const grown = await batch(user, {
      commands: [
        ...commands,
        { id: crypto.randomUUID(), type: 'task.update', task_id: temp, args: { status: 'done', version: 2 } },
      ],
    });
    expect(grown.results.map((r) => r.replayed)).toEqual([true, true, true, false]);
    expect(grown.results[3]!.task).toMatchObject({ id: realId(first, temp), status: 'done', version: 3 });
  });

  it('refuses a command id sent again with another command (422), and runs nothing for it', async () => {
    const user = await register(app);
    const id = crypto.randomUUID();
    await batch(user, { commands: [{ id, type: 'task.create', args: { title: 'The first' } }] });
    const answer = await batch(user, { commands: [{ id, type: 'task.create', args: { title: 'Another' } }] });
    expect(statuses(answer)).toEqual([422]);
    expect(answer.results[0]).toMatchObject({ replayed: true, problem: { code: 'COMMAND_ID_REUSED' } });
    expect((await taskRows(user)).map((r) => r.title)).toEqual(['The first']);
  });

  it('replays the whole answer for a repeated Idempotency-Key', async () => {
    const user = await register(app);
    const key = crypto.randomUUID();
    const body = { commands: withIds([{ type: 'task.create', args: { title: 'Keyed' } }]) };
    const first = await send(user, body, { 'idempotency-key': key });
    const again = await send(user, body, { 'idempotency-key': key });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
    expect(await taskRows(user)).toHaveLength(1);
  });
});

describe('the sync position and the rate limit', () => {
  it('says caught_up when nothing changed after the client’s cursor but the batch, and the cursor goes on from there', async () => {
    const user = await register(app);
    await createTask(app, user.accessToken, { title: 'Synced before' });
    const synced = await (await as(app, user.accessToken).get('/api/v1/tasks/changes')).json<{ next_cursor: string }>();

    const answer = await batch(user, {
      sync_cursor: synced.next_cursor,
      commands: withIds([{ type: 'task.create', args: { title: 'Offline edit' } }]),
    });
    expect(answer.sync?.caught_up).toBe(true);
    const after = await as(app, user.accessToken).get(`/api/v1/tasks/changes?cursor=${answer.sync!.next_cursor}`);
    expect((await after.json<{ changes: unknown[] }>()).changes).toEqual([]);
    // Another device writes: the batch after it is not caught up, and the feed from the old cursor has both.
    await createTask(app, user.accessToken, { title: 'Another device' });
    const next = await batch(user, {
      sync_cursor: answer.sync!.next_cursor,
      commands: withIds([{ type: 'task.create', args: { title: 'Second edit' } }]),
    });
    expect(next.sync?.caught_up).toBe(false);
    const feed = await as(app, user.accessToken).get(`/api/v1/tasks/changes?cursor=${answer.sync!.next_cursor}`);
    const titles = (await feed.json<{ changes: { task?: TaskBody }[] }>()).changes.map((c) => c.task?.title);
    expect(titles).toEqual(['Another device', 'Second edit']);
  });

  it('counts one request per 10 commands against the per-user limit', async () => {
    const user = await register(app);
    const res = await send(user, {
      commands: withIds(
        Array.from({ length: 25 }, (_, i) => ({ type: 'task.create', args: { title: `Costed ${i}` } })),
      ),
    });
    expect(res.status).toBe(200);
    // A new user's first counted request: 100 per minute, 3 spent.
    expect(res.headers.get('ratelimit')).toMatch(/^"user";r=97;t=\d+$/);
  });
});
