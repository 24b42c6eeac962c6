import { createScheduledController } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../src/index.ts';
import { bearer, PASSWORD, uniqueEmail } from '../helpers/auth.ts';
import { as, type Problem, type TaskBody } from '../helpers/tasks.ts';
import { json, setupTestApp, TestClock, type OutboxMessage, type TestApp } from '../helpers/test-app.ts';

/**
 * Task reminders: up to 5 a task, at an instant (`at`) or some minutes before its due date
 * (`minutes_before`, which follows the due date), emailed once by the Worker's scheduled handler
 * (cron every minute) when due, unless the task is done or in the trash, or the reminder is more
 * than an hour overdue.
 *
 * The API runs on a hand-moved clock that starts on Monday 2027-01-04 12:00 UTC; a scheduled run
 * takes its "now" from `scheduledTime`. All the tests of this file share one database, and a run
 * delivers every due reminder in it: each delivery test has a day of its own in February or March
 * 2027, and the tests that run nothing keep their reminders in 2030, so no run sees another
 * test's reminders.
 */

interface Reminder {
  id: string;
  at: string | null;
  minutes_before: number | null;
  remind_at: string | null;
}

interface Task extends TaskBody {
  reminders: Reminder[];
}

interface User {
  email: string;
  userId: string;
  token: string;
}

const START = '2027-01-04T12:00:00.000Z';
const clock = new TestClock(Date.parse(START));
let app: TestApp;

beforeAll(async () => {
  app = await setupTestApp({ deps: () => ({ clock }) });
});

/** The API's spelling of an instant: `2027-03-28T07:00:00.000Z`. */
const at = (instant: string) => new Date(instant).toISOString();
/** `minutes` after (or before, when negative) an instant, spelled like the API. */
const plus = (instant: string, minutes: number) => new Date(Date.parse(instant) + minutes * 60_000).toISOString();
const isoOrNull = (value: unknown) => (value === null ? null : new Date(value as string).toISOString());

async function userIn(timeZone = 'UTC'): Promise<User> {
  const email = uniqueEmail('remind');
  const res = await app.request(
    '/api/v1/auth/register',
    json({ email, password: PASSWORD, full_name: 'Remy Reminder', time_zone: timeZone }),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  const body = await res.json<{ access_token: string; user: { id: string } }>();
  return { email: email.toLowerCase(), userId: body.user.id, token: body.access_token };
}

async function create(user: User, body: Record<string, unknown>): Promise<Task> {
  const res = await as(app, user.token).post('/api/v1/tasks', { title: 'A task to be reminded of', ...body });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<Task>();
}

async function patch(user: User, task: { id: string; version: number }, body: Record<string, unknown>): Promise<Task> {
  const res = await as(app, user.token).patch(`/api/v1/tasks/${task.id}`, { version: task.version, ...body });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<Task>();
}

async function read(user: User, id: string): Promise<Task> {
  const res = await as(app, user.token).get(`/api/v1/tasks/${id}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<Task>();
}

/** A reminder without its id: what a test can predict. */
const shape = (reminders: Reminder[]) =>
  reminders.map((r) => ({ at: r.at, minutes_before: r.minutes_before, remind_at: r.remind_at }));

/** The task's reminder rows, soonest first, instants as ISO strings. */
async function reminderRows(taskId: string) {
  const rows = await app.sql`
    select id, user_id, task_id, at, minutes_before, remind_at, sent_at from task_reminders
     where task_id = ${taskId} order by remind_at nulls last, id`;
  return rows.map((r) => ({
    id: String(r.id),
    user_id: String(r.user_id),
    task_id: String(r.task_id),
    at: isoOrNull(r.at),
    minutes_before: r.minutes_before as number | null,
    remind_at: isoOrNull(r.remind_at),
    sent_at: isoOrNull(r.sent_at),
  }));
}

async function reminderCount(userId: string): Promise<number> {
  const [row] = await app.sql`select count(*)::int as n from task_reminders where user_id = ${userId}`;
  return row?.n as number;
}

/** One run of the Worker's every-minute cron, as if it started at `instant`. */
async function run(instant: string): Promise<void> {
  await worker.scheduled(createScheduledController({ cron: '* * * * *', scheduledTime: Date.parse(instant) }), app.env);
}

/** The reminder emails the user got, oldest first. */
async function reminderMail(user: User): Promise<OutboxMessage[]> {
  return (await app.outbox(user.email)).filter((m) => m.kind === 'task-reminder');
}

const pointers = (problem: Problem) => problem.errors?.map((e) => e.pointer) ?? [];

describe('a task’s reminders', () => {
  it('are stored with when each fires, soonest first, in one Neon request; GET, the list and the table agree', async () => {
    const user = await userIn();
    const due = '2030-06-15T12:00:00Z';
    await app.resetCounters();
    const task = await create(user, {
      title: 'Five reminders',
      due_date: due,
      reminders: [
        { at: '2030-06-20T08:00:00+02:00' },
        { minutes_before: 0 },
        { minutes_before: 40_320 },
        { minutes_before: 90 },
        { at: '2030-06-01T00:00:00Z' },
      ],
    });
    expect((await app.counters()).neon.requests).toBe(1);
    expect(task.version).toBe(1);
    expect(shape(task.reminders)).toEqual([
      { at: null, minutes_before: 40_320, remind_at: at('2030-05-18T12:00:00Z') },
      { at: at('2030-06-01T00:00:00Z'), minutes_before: null, remind_at: at('2030-06-01T00:00:00Z') },
      { at: null, minutes_before: 90, remind_at: at('2030-06-15T10:30:00Z') },
      { at: null, minutes_before: 0, remind_at: at(due) },
      { at: at('2030-06-20T06:00:00Z'), minutes_before: null, remind_at: at('2030-06-20T06:00:00Z') },
    ]);
    expect(new Set(task.reminders.map((r) => r.id)).size).toBe(5);

    expect((await read(user, task.id)).reminders).toEqual(task.reminders);
    const list = await (await as(app, user.token).get('/api/v1/tasks')).json<{ items: Task[] }>();
    expect(list.items.find((t) => t.id === task.id)?.reminders).toEqual(task.reminders);
    expect(await reminderRows(task.id)).toEqual(
      task.reminders.map((r) => ({ ...r, user_id: user.userId, task_id: task.id, sent_at: null })),
    );

    const plain = await create(user, { title: 'No reminders' });
    expect(plain.reminders).toEqual([]);
  });

  it('before a due date the task does not have, waits (remind_at null, listed last) until one is set', async () => {
    const user = await userIn();
    const task = await create(user, { reminders: [{ minutes_before: 30 }, { at: '2030-07-01T09:00:00Z' }] });
    expect(shape(task.reminders)).toEqual([
      { at: at('2030-07-01T09:00:00Z'), minutes_before: null, remind_at: at('2030-07-01T09:00:00Z') },
      { at: null, minutes_before: 30, remind_at: null },
    ]);

    const dated = await patch(user, task, { due_date: '2030-07-10T10:00:00Z' });
    expect(shape(dated.reminders)).toEqual([
      { at: at('2030-07-01T09:00:00Z'), minutes_before: null, remind_at: at('2030-07-01T09:00:00Z') },
      { at: null, minutes_before: 30, remind_at: at('2030-07-10T09:30:00Z') },
    ]);
    expect(dated.reminders.map((r) => r.id)).toEqual(task.reminders.map((r) => r.id));

    const undated = await patch(user, dated, { due_date: null });
    expect(shape(undated.reminders)).toEqual(shape(task.reminders));
    expect((await reminderRows(task.id)).map((r) => r.remind_at)).toEqual([at('2030-07-01T09:00:00Z'), null]);
  });

  it.each<{ what: string; reminders: unknown[]; pointer: string; exact: boolean }>([
    {
      what: 'an `at` in the past (the second item)',
      reminders: [{ minutes_before: 5 }, { at: '2027-01-04T11:59:00Z' }],
      pointer: '/body/reminders/1/at',
      exact: true,
    },
    { what: 'an `at` that is now', reminders: [{ at: START }], pointer: '/body/reminders/0/at', exact: true },
    {
      what: 'six reminders',
      reminders: [1, 2, 3, 4, 5, 6].map((m) => ({ minutes_before: m })),
      pointer: '/body/reminders',
      exact: true,
    },
    {
      what: 'an item with both fields',
      reminders: [{ at: '2030-01-01T00:00:00Z', minutes_before: 5 }],
      pointer: '/body/reminders/0',
      exact: false,
    },
    { what: 'an item with neither field', reminders: [{}], pointer: '/body/reminders/0', exact: false },
    {
      what: 'minutes_before over four weeks',
      reminders: [{ minutes_before: 40_321 }],
      pointer: '/body/reminders/0',
      exact: false,
    },
    {
      what: 'a negative minutes_before',
      reminders: [{ minutes_before: -1 }],
      pointer: '/body/reminders/0',
      exact: false,
    },
    {
      what: 'a fractional minutes_before',
      reminders: [{ minutes_before: 1.5 }],
      pointer: '/body/reminders/0',
      exact: false,
    },
    { what: 'an `at` that is no instant', reminders: [{ at: 'tomorrow' }], pointer: '/body/reminders/0', exact: false },
  ])('400 for $what, pointing at $pointer, and nothing stored', async ({ reminders, pointer, exact }) => {
    const user = await userIn();
    const res = await as(app, user.token).post('/api/v1/tasks', {
      title: 'Never stored',
      due_date: '2030-02-01T09:00:00Z',
      reminders,
    });
    expect(res.status, await res.clone().text()).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = await res.json<Problem>();
    expect(problem.code).toBe('VALIDATION_FAILED');
    if (exact) expect(pointers(problem)).toContain(pointer);
    else
      expect(
        pointers(problem).some((p) => p === pointer || p.startsWith(`${pointer}/`)),
        pointers(problem).join(),
      ).toBe(true);
    expect(await app.sql`select count(*)::int as n from tasks where user_id = ${user.userId}`).toEqual([{ n: 0 }]);
    expect(await reminderCount(user.userId)).toBe(0);
  });
});

describe('PATCH reminders', () => {
  it('replaces the whole list, leaves it when absent, and [] clears it; each change is a new version in one Neon request', async () => {
    const user = await userIn();
    const task = await create(user, {
      due_date: '2030-03-01T09:00:00Z',
      reminders: [{ minutes_before: 60 }, { at: '2030-02-27T09:00:00Z' }],
    });
    await app.resetCounters();
    const replaced = await patch(user, task, { reminders: [{ minutes_before: 5 }] });
    expect((await app.counters()).neon.requests).toBe(1);
    expect(replaced.version).toBe(2);
    expect(shape(replaced.reminders)).toEqual([{ at: null, minutes_before: 5, remind_at: at('2030-03-01T08:55:00Z') }]);
    expect((await reminderRows(task.id)).map((r) => [r.id, r.minutes_before, r.at])).toEqual([
      [replaced.reminders[0]!.id, 5, null],
    ]);

    const renamed = await patch(user, replaced, { title: 'Renamed, reminders kept' });
    expect(renamed.version).toBe(3);
    expect(renamed.reminders).toEqual(replaced.reminders);

    const cleared = await patch(user, renamed, { reminders: [] });
    expect(cleared).toMatchObject({ version: 4, reminders: [] });
    expect(await reminderRows(task.id)).toEqual([]);
    expect((await read(user, task.id)).reminders).toEqual([]);
  });

  it('400 for an `at` in the past or a sixth reminder, and the task keeps its list and its version', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2030-03-01T09:00:00Z', reminders: [{ minutes_before: 15 }] });
    const before = await reminderRows(task.id);

    const past = await as(app, user.token).patch(`/api/v1/tasks/${task.id}`, {
      version: 1,
      reminders: [{ minutes_before: 10 }, { minutes_before: 20 }, { at: '2026-12-31T00:00:00Z' }],
    });
    expect(past.status, await past.clone().text()).toBe(400);
    expect(pointers(await past.json<Problem>())).toContain('/body/reminders/2/at');

    const six = await as(app, user.token).patch(`/api/v1/tasks/${task.id}`, {
      version: 1,
      reminders: Array.from({ length: 6 }, (_, i) => ({ minutes_before: i })),
    });
    expect(six.status, await six.clone().text()).toBe(400);
    expect(pointers(await six.json<Problem>())).toContain('/body/reminders');

    expect(await reminderRows(task.id)).toEqual(before);
    expect(await read(user, task.id)).toMatchObject({ version: 1, reminders: task.reminders });
  });

  it('reach the ETag, a cached GET and the cached list: the old ETag answers 200, not 304', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2030-04-01T09:00:00Z', reminders: [{ minutes_before: 10 }] });
    const first = await as(app, user.token).get(`/api/v1/tasks/${task.id}`);
    const oldTag = first.headers.get('etag') ?? '';
    expect(oldTag).toBe(`"${task.id}.1"`);
    // Warm the caches of the single read and of the list.
    await as(app, user.token).get(`/api/v1/tasks/${task.id}`);
    await as(app, user.token).get('/api/v1/tasks');

    const res = await as(app, user.token).patch(`/api/v1/tasks/${task.id}`, {
      version: 1,
      reminders: [{ at: '2030-03-31T18:00:00Z' }],
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${task.id}.2"`);

    const again = await app.request(
      `/api/v1/tasks/${task.id}`,
      bearer(user.token, { headers: { 'if-none-match': oldTag } }),
    );
    expect(again.status).toBe(200);
    expect(again.headers.get('etag')).toBe(`"${task.id}.2"`);
    const expected = [{ at: at('2030-03-31T18:00:00Z'), minutes_before: null, remind_at: at('2030-03-31T18:00:00Z') }];
    expect(shape((await again.json<Task>()).reminders)).toEqual(expected);
    const list = await (await as(app, user.token).get('/api/v1/tasks')).json<{ items: Task[] }>();
    expect(shape(list.items.find((t) => t.id === task.id)?.reminders ?? [])).toEqual(expected);
  });
});

describe('delivery by the scheduled handler', () => {
  it('emails the owner once at remind_at, with the title in the subject, and records sent_at; later runs send nothing', async () => {
    const user = await userIn();
    const other = await userIn();
    const when = '2027-02-10T09:00:00.000Z';
    const task = await create(user, { title: 'Renew the passport', reminders: [{ at: when }] });

    await run(plus(when, -1));
    expect(await reminderMail(user)).toEqual([]);
    expect((await reminderRows(task.id)).map((r) => r.sent_at)).toEqual([null]);

    await run(when);
    const mail = await reminderMail(user);
    expect(mail).toHaveLength(1);
    expect(mail[0]).toMatchObject({ to: user.email, kind: 'task-reminder' });
    expect(mail[0]!.subject).toContain('Renew the passport');
    expect(await reminderMail(other)).toEqual([]);
    expect((await reminderRows(task.id)).map((r) => r.sent_at)).toEqual([when]);
    expect(shape((await read(user, task.id)).reminders)).toEqual([{ at: when, minutes_before: null, remind_at: when }]);

    await run(when);
    await run(plus(when, 1));
    await run(plus(when, 5));
    expect(await reminderMail(user)).toHaveLength(1);
    expect((await reminderRows(task.id)).map((r) => r.sent_at)).toEqual([when]);
  });

  it('does not email a reminder of a task in the trash, nor after the task is restored', async () => {
    const user = await userIn();
    const when = '2027-02-12T09:00:00.000Z';
    const task = await create(user, { title: 'Deleted before its reminder', reminders: [{ at: when }] });
    expect((await as(app, user.token).delete(`/api/v1/tasks/${task.id}`)).status).toBe(204);

    await run(when);
    expect(await reminderMail(user)).toEqual([]);

    const restored = await as(app, user.token).post(`/api/v1/tasks/${task.id}/restore`);
    expect(restored.status, await restored.clone().text()).toBe(200);
    await run(plus(when, 1));
    await run(plus(when, 2));
    expect(await reminderMail(user)).toEqual([]);
  });

  it('does not email a reminder of a done task, nor after the task is opened again', async () => {
    const user = await userIn();
    const when = '2027-02-14T09:00:00.000Z';
    const task = await create(user, { title: 'Done before its reminder', reminders: [{ at: when }] });
    const done = await patch(user, task, { status: 'done' });
    expect(done.status).toBe('done');

    await run(when);
    expect(await reminderMail(user)).toEqual([]);

    const reopened = await patch(user, done, { status: 'todo' });
    expect(reopened.status).toBe('todo');
    await run(plus(when, 1));
    await run(plus(when, 2));
    expect(await reminderMail(user)).toEqual([]);
  });

  it('does not email a reminder more than an hour overdue; one 59 minutes overdue still goes', async () => {
    const user = await userIn();
    const first = '2027-02-16T09:00:00.000Z';
    const second = plus(first, 2);
    const task = await create(user, { title: 'After an outage', reminders: [{ at: first }, { at: second }] });
    const runAt = plus(first, 61);

    await run(runAt);
    const mail = await reminderMail(user);
    expect(mail).toHaveLength(1);
    expect(mail[0]!.subject).toContain('After an outage');
    const rows = await reminderRows(task.id);
    expect(rows.map((r) => r.remind_at)).toEqual([first, second]);
    expect(rows[1]!.sent_at).toBe(runAt);

    await run(plus(first, 62));
    await run(plus(first, 120));
    expect(await reminderMail(user)).toHaveLength(1);
  });

  it('minutes_before follows a PATCHed due date and fires again; an `at` reminder stays where it is', async () => {
    const user = await userIn();
    const fixed = '2027-02-18T09:00:00.000Z';
    const task = await create(user, {
      title: 'Dentist',
      due_date: '2027-02-18T10:00:00Z',
      reminders: [{ minutes_before: 30 }, { at: fixed }],
    });
    expect(shape(task.reminders)).toEqual([
      { at: fixed, minutes_before: null, remind_at: fixed },
      { at: null, minutes_before: 30, remind_at: '2027-02-18T09:30:00.000Z' },
    ]);

    await run('2027-02-18T09:30:00.000Z');
    expect(await reminderMail(user)).toHaveLength(2);
    const sent = await read(user, task.id);
    expect((await reminderRows(task.id)).map((r) => r.sent_at)).toEqual([
      '2027-02-18T09:30:00.000Z',
      '2027-02-18T09:30:00.000Z',
    ]);

    const moved = await patch(user, sent, { due_date: '2027-02-18T12:00:00Z' });
    expect(moved.version).toBe(sent.version + 1);
    expect(shape(moved.reminders)).toEqual([
      { at: fixed, minutes_before: null, remind_at: fixed },
      { at: null, minutes_before: 30, remind_at: '2027-02-18T11:30:00.000Z' },
    ]);
    expect((await reminderRows(task.id)).map((r) => [r.remind_at, r.sent_at])).toEqual([
      [fixed, '2027-02-18T09:30:00.000Z'],
      ['2027-02-18T11:30:00.000Z', null],
    ]);

    await run('2027-02-18T11:29:00.000Z');
    expect(await reminderMail(user)).toHaveLength(2);
    await run('2027-02-18T11:30:00.000Z');
    await run('2027-02-18T11:31:00.000Z');
    const mail = await reminderMail(user);
    expect(mail).toHaveLength(3);
    expect(mail[2]!.subject).toContain('Dentist');
    expect((await reminderRows(task.id)).map((r) => r.sent_at)).toEqual([
      '2027-02-18T09:30:00.000Z',
      '2027-02-18T11:30:00.000Z',
    ]);
  });

  it('follows a repeating task to its next occurrence when completed, and fires again before it', async () => {
    const user = await userIn();
    const task = await create(user, {
      title: 'Water the plants',
      due_date: '2027-02-20T09:00:00Z',
      recurrence: 'FREQ=DAILY',
      reminders: [{ minutes_before: 60 }],
    });
    expect(shape(task.reminders)).toEqual([{ at: null, minutes_before: 60, remind_at: '2027-02-20T08:00:00.000Z' }]);
    await run('2027-02-20T08:00:00.000Z');
    expect(await reminderMail(user)).toHaveLength(1);

    const next = await patch(user, await read(user, task.id), { status: 'done' });
    expect(next).toMatchObject({ status: 'todo', due_date: '2027-02-21T09:00:00.000Z', completed_occurrences: 1 });
    expect(shape(next.reminders)).toEqual([{ at: null, minutes_before: 60, remind_at: '2027-02-21T08:00:00.000Z' }]);
    expect((await reminderRows(task.id)).map((r) => [r.remind_at, r.sent_at])).toEqual([
      ['2027-02-21T08:00:00.000Z', null],
    ]);

    await run('2027-02-21T07:59:00.000Z');
    expect(await reminderMail(user)).toHaveLength(1);
    await run('2027-02-21T08:00:00.000Z');
    const mail = await reminderMail(user);
    expect(mail).toHaveLength(2);
    expect(mail.every((m) => m.subject.includes('Water the plants'))).toBe(true);
    expect((await reminderRows(task.id)).map((r) => r.sent_at)).toEqual(['2027-02-21T08:00:00.000Z']);
  });
});

describe('delivery, more cases', () => {
  it('changes neither the version nor the ETag: an edit queued offline before the delivery still applies', async () => {
    const user = await userIn();
    const when = '2027-03-04T09:00:00.000Z';
    const task = await create(user, { title: 'Read before delivery', reminders: [{ at: when }] });
    const before = await as(app, user.token).get(`/api/v1/tasks/${task.id}`);
    const etag = before.headers.get('etag')!;

    await run(when);
    expect(await reminderMail(user)).toHaveLength(1);
    expect((await reminderRows(task.id)).map((r) => r.sent_at)).toEqual([when]);
    const again = await app.request(
      `/api/v1/tasks/${task.id}`,
      bearer(user.token, { headers: { 'if-none-match': etag } }),
    );
    expect(again.status).toBe(304);
    const edited = await patch(user, task, { title: 'Edited offline' });
    expect(edited.version).toBe(task.version + 1);
  });

  it('follows a completion whose schedule the Worker computes (none stored), and fires again', async () => {
    const user = await userIn();
    const task = await create(user, {
      title: 'Feed the cat',
      due_date: '2027-03-06T09:00:00Z',
      recurrence: 'FREQ=DAILY',
      reminders: [{ minutes_before: 30 }],
    });
    await run('2027-03-06T08:30:00.000Z');
    expect(await reminderMail(user)).toHaveLength(1);
    await app.sql`update tasks set recurrence_upcoming = null, recurrence_zone = null where id = ${task.id}`;

    const next = await patch(user, await read(user, task.id), { status: 'done' });
    expect(next).toMatchObject({ status: 'todo', due_date: '2027-03-07T09:00:00.000Z', completed_occurrences: 1 });
    expect(shape(next.reminders)).toEqual([{ at: null, minutes_before: 30, remind_at: '2027-03-07T08:30:00.000Z' }]);
    expect((await reminderRows(task.id)).map((r) => [r.remind_at, r.sent_at])).toEqual([
      ['2027-03-07T08:30:00.000Z', null],
    ]);
    await run('2027-03-07T08:30:00.000Z');
    expect(await reminderMail(user)).toHaveLength(2);
  });

  it('follows a completion sent in a batch, and fires again', async () => {
    const user = await userIn();
    const task = await create(user, {
      title: 'Batch-completed chore',
      due_date: '2027-03-08T09:00:00Z',
      recurrence: 'FREQ=WEEKLY',
      reminders: [{ minutes_before: 60 }],
    });
    await run('2027-03-08T08:00:00.000Z');
    expect(await reminderMail(user)).toHaveLength(1);
    const current = await read(user, task.id);

    const res = await app.request(
      '/api/v1/batch',
      json(
        {
          mode: 'atomic',
          commands: [
            {
              id: crypto.randomUUID(),
              type: 'task.update',
              task_id: task.id,
              args: { status: 'done', version: current.version },
            },
          ],
        },
        bearer(user.token),
      ),
    );
    expect(res.status, await res.clone().text()).toBe(200);
    const answer = await res.json<{ results: { status: number; task?: Task }[] }>();
    expect(answer.results.map((r) => r.status)).toEqual([200]);
    expect(answer.results[0]!.task).toMatchObject({ status: 'todo', due_date: '2027-03-15T09:00:00.000Z' });
    expect(shape(answer.results[0]!.task!.reminders)).toEqual([
      { at: null, minutes_before: 60, remind_at: '2027-03-15T08:00:00.000Z' },
    ]);
    await run('2027-03-15T08:00:00.000Z');
    expect(await reminderMail(user)).toHaveLength(2);
  });
});

describe('exactly once', () => {
  it('two runs started at the same time send one email per due reminder', async () => {
    const ann = await userIn();
    const bob = await userIn();
    const when = '2027-02-24T09:00:00.000Z';
    const annTask = await create(ann, {
      title: 'Ann’s overlap',
      due_date: plus(when, 10),
      reminders: [{ at: when }, { minutes_before: 15 }],
    });
    const bobTask = await create(bob, { title: 'Bob’s overlap', reminders: [{ at: plus(when, -3) }] });

    await Promise.all([run(when), run(when)]);
    const annMail = await reminderMail(ann);
    const bobMail = await reminderMail(bob);
    expect(annMail).toHaveLength(2);
    expect(annMail.every((m) => m.to === ann.email && m.subject.includes('Ann’s overlap'))).toBe(true);
    expect(bobMail).toHaveLength(1);
    expect(bobMail[0]).toMatchObject({ to: bob.email });
    expect(bobMail[0]!.subject).toContain('Bob’s overlap');
    expect((await reminderRows(annTask.id)).map((r) => r.sent_at)).toEqual([when, when]);
    expect((await reminderRows(bobTask.id)).map((r) => r.sent_at)).toEqual([when]);

    await Promise.all([run(plus(when, 1)), run(plus(when, 1))]);
    expect(await reminderMail(ann)).toHaveLength(2);
    expect(await reminderMail(bob)).toHaveLength(1);
  });

  it('a run that died after claiming: not sent while its claim holds, then sent once by a run a minute later', async () => {
    const user = await userIn();
    const when = '2027-02-26T09:00:00.000Z';
    const task = await create(user, { title: 'Claimed, then the run died', reminders: [{ at: when }] });
    const claimedUntil = new Date(Date.parse(when) + 50_000);
    await app.sql`update task_reminders set claimed_until = ${claimedUntil} where task_id = ${task.id}`;

    await run(when);
    expect(await reminderMail(user)).toEqual([]);
    expect((await reminderRows(task.id)).map((r) => r.sent_at)).toEqual([null]);

    const later = plus(when, 1);
    await run(later);
    await run(plus(when, 2));
    const mail = await reminderMail(user);
    expect(mail).toHaveLength(1);
    expect(mail[0]!.subject).toContain('Claimed, then the run died');
    expect((await reminderRows(task.id)).map((r) => r.sent_at)).toEqual([later]);
  });

  it('a run that died after sending: the next run records it as sent, and the outbox holds one message', async () => {
    const user = await userIn();
    const when = '2027-02-28T09:00:00.000Z';
    const task = await create(user, { title: 'Sent, then the run died', reminders: [{ at: when }] });
    const [reminder] = task.reminders;
    const key = `reminder:${reminder!.id}:${new Date(reminder!.remind_at!).toISOString()}`;
    const posted = await fetch(String(app.env.EMAIL_OUTBOX_URL), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({
        to: user.email,
        subject: 'Reminder: Sent, then the run died',
        text: 'Sent by the run that died.',
        kind: 'task-reminder',
      }),
    });
    expect(posted.ok, await posted.text()).toBe(true);

    await run(when);
    const mail = await reminderMail(user);
    expect(mail).toHaveLength(1);
    expect(mail[0]!.text).toBe('Sent by the run that died.');
    expect((await reminderRows(task.id)).map((r) => r.sent_at)).toEqual([when]);
    await run(plus(when, 1));
    expect(await reminderMail(user)).toHaveLength(1);
  });
});

describe('round trips of a run', () => {
  it('delivering 3 reminders is 2 Neon requests (claim and record) besides the schedule scan, one email each', async () => {
    const user = await userIn();
    const when = '2027-03-02T09:00:00.000Z';
    await create(user, {
      title: 'Counted one',
      due_date: plus(when, 30),
      reminders: [{ minutes_before: 30 }, { at: when }],
    });
    await create(user, { title: 'Counted two', reminders: [{ at: plus(when, -1) }] });

    await app.resetCounters();
    await run(when);
    const counters = await app.counters();
    // Claim and record, and the same run's scan for schedules of repeating tasks to refill (none here).
    expect(counters.neon.requests).toBe(3);
    const mail = await reminderMail(user);
    expect(mail).toHaveLength(3);
    expect(mail.map((m) => m.subject).filter((s) => s.includes('Counted one'))).toHaveLength(2);
  });
});

describe('sync, export, batch', () => {
  it('delta sync sends a task whose reminders changed, with them', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2030-05-01T09:00:00Z', reminders: [{ minutes_before: 45 }] });
    const first = await (
      await as(app, user.token).get('/api/v1/tasks/changes')
    ).json<{ changes: { type: string; task?: Task }[]; next_cursor: string }>();
    expect(shape(first.changes.find((c) => c.task?.id === task.id)?.task?.reminders ?? [])).toEqual([
      { at: null, minutes_before: 45, remind_at: '2030-05-01T08:15:00.000Z' },
    ]);

    await patch(user, task, { reminders: [{ at: '2030-04-30T20:00:00Z' }, { minutes_before: 45 }] });
    const res = await as(app, user.token).get(`/api/v1/tasks/changes?cursor=${first.next_cursor}`);
    expect(res.status, await res.clone().text()).toBe(200);
    const page = await res.json<{ changes: { type: string; task?: Task }[] }>();
    expect(page.changes).toHaveLength(1);
    expect(page.changes[0]).toMatchObject({ type: 'task', task: { id: task.id, version: 2 } });
    expect(shape(page.changes[0]!.task!.reminders)).toEqual([
      { at: '2030-04-30T20:00:00.000Z', minutes_before: null, remind_at: '2030-04-30T20:00:00.000Z' },
      { at: null, minutes_before: 45, remind_at: '2030-05-01T08:15:00.000Z' },
    ]);
  });

  it('the account export holds each task’s reminders, the trashed ones’ too', async () => {
    const user = await userIn();
    const kept = await create(user, { title: 'Exported', reminders: [{ at: '2030-08-01T09:00:00Z' }] });
    const trashed = await create(user, {
      title: 'Exported from the trash',
      due_date: '2030-08-02T09:00:00Z',
      reminders: [{ minutes_before: 120 }],
    });
    expect((await as(app, user.token).delete(`/api/v1/tasks/${trashed.id}`)).status).toBe(204);
    const res = await app.request('/api/v1/account/export', bearer(user.token));
    expect(res.status).toBe(200);
    const doc = await res.json<{ tasks: Task[] }>();
    expect(doc.tasks.find((t) => t.id === kept.id)?.reminders).toEqual(kept.reminders);
    expect(doc.tasks.find((t) => t.id === trashed.id)?.reminders).toEqual(trashed.reminders);
    expect(shape(trashed.reminders)).toEqual([
      { at: null, minutes_before: 120, remind_at: '2030-08-02T07:00:00.000Z' },
    ]);
  });

  it('task.create and task.update in a batch take reminders in their args', async () => {
    const user = await userIn();
    const existing = await create(user, { title: 'Batch updated', reminders: [{ at: '2030-09-01T09:00:00Z' }] });
    const temp = crypto.randomUUID();
    const res = await app.request(
      '/api/v1/batch',
      json(
        {
          mode: 'atomic',
          commands: [
            {
              id: crypto.randomUUID(),
              type: 'task.create',
              temp_id: temp,
              args: {
                title: 'Batch created',
                due_date: '2030-09-10T09:00:00Z',
                reminders: [{ minutes_before: 15 }, { at: '2030-09-09T18:00:00Z' }],
              },
            },
            {
              id: crypto.randomUUID(),
              type: 'task.update',
              task_id: existing.id,
              args: { version: 1, reminders: [{ at: '2030-09-02T10:00:00Z' }, { at: '2030-09-03T10:00:00Z' }] },
            },
          ],
        },
        bearer(user.token),
      ),
    );
    expect(res.status, await res.clone().text()).toBe(200);
    const answer = await res.json<{
      applied: boolean;
      results: { status: number; task?: Task }[];
      temp_ids: { temp_id: string; id: string }[];
    }>();
    expect(answer.applied).toBe(true);
    expect(answer.results.map((r) => r.status)).toEqual([201, 200]);
    const created = answer.results[0]!.task!;
    expect(created.id).toBe(answer.temp_ids.find((t) => t.temp_id === temp)?.id);
    expect(shape(created.reminders)).toEqual([
      { at: '2030-09-09T18:00:00.000Z', minutes_before: null, remind_at: '2030-09-09T18:00:00.000Z' },
      { at: null, minutes_before: 15, remind_at: '2030-09-10T08:45:00.000Z' },
    ]);
    expect(answer.results[1]!.task).toMatchObject({ id: existing.id, version: 2 });
    expect(shape(answer.results[1]!.task!.reminders).map((r) => r.at)).toEqual([
      '2030-09-02T10:00:00.000Z',
      '2030-09-03T10:00:00.000Z',
    ]);
    expect((await reminderRows(created.id)).map((r) => r.remind_at)).toEqual([
      '2030-09-09T18:00:00.000Z',
      '2030-09-10T08:45:00.000Z',
    ]);
    expect((await reminderRows(existing.id)).map((r) => r.at)).toEqual([
      '2030-09-02T10:00:00.000Z',
      '2030-09-03T10:00:00.000Z',
    ]);
    expect((await read(user, existing.id)).reminders).toEqual(answer.results[1]!.task!.reminders);
  });
});

describe('a batch that would store a past reminder', () => {
  it('is refused and stores nothing', async () => {
    const user = await userIn();
    const res = await app.request(
      '/api/v1/batch',
      json(
        {
          mode: 'atomic',
          commands: [
            {
              id: crypto.randomUUID(),
              type: 'task.create',
              args: { title: 'Reminded in the past', reminders: [{ at: '2027-01-04T11:00:00Z' }] },
            },
          ],
        },
        bearer(user.token),
      ),
    );
    // Either the whole body is refused (400) or the command is (200 with its own 400).
    if (res.status === 400) {
      expect(pointers(await res.json<Problem>())).toContain('/body/reminders/0/at');
    } else {
      expect(res.status, await res.clone().text()).toBe(200);
      const answer = await res.json<{ applied: boolean; results: { status: number; problem?: Problem }[] }>();
      expect(answer.applied).toBe(false);
      expect(answer.results[0]!.status).toBe(400);
      expect(pointers(answer.results[0]!.problem!).join(' ')).toContain('reminders');
    }
    expect(await app.sql`select count(*)::int as n from tasks where user_id = ${user.userId}`).toEqual([{ n: 0 }]);
    expect(await reminderCount(user.userId)).toBe(0);
  });
});

describe('reminder rows go', () => {
  it('with their task when the trash is purged, and with the user when the account is deleted', async () => {
    const user = await userIn();
    const purged = await create(user, { title: 'Purged', reminders: [{ at: '2030-10-01T09:00:00Z' }] });
    const kept = await create(user, { title: 'Kept', reminders: [{ at: '2030-10-02T09:00:00Z' }] });
    expect((await as(app, user.token).delete(`/api/v1/tasks/${purged.id}`)).status).toBe(204);
    await app.sql`update tasks set deleted_at = now() - interval '31 days' where id = ${purged.id}`;
    await worker.scheduled(createScheduledController({ cron: '17 * * * *', scheduledTime: Date.now() }), app.env);
    expect(await app.sql`select id from tasks where id = ${purged.id}`).toEqual([]);
    expect(await reminderRows(purged.id)).toEqual([]);
    expect(await reminderRows(kept.id)).toHaveLength(1);

    const res = await app.request(
      '/api/v1/account',
      json({ password: PASSWORD }, bearer(user.token, { method: 'DELETE' })),
    );
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await reminderCount(user.userId)).toBe(0);
  });
});

describe('a minute when many reminders fall together', () => {
  it('delivers more than one batch (100) in the same run, each once', async () => {
    const user = await userIn();
    const when = '2027-03-20T09:00:00.000Z';
    // 150 reminders: 30 tasks of 5, a millisecond apart so each one is its own.
    const tasks: Task[] = [];
    for (let i = 0; i < 30; i++) {
      const reminders = Array.from({ length: 5 }, (_, k) => ({
        at: new Date(Date.parse(when) + i * 5 + k).toISOString(),
      }));
      tasks.push(await create(user, { title: `Morning task ${i}`, reminders }));
    }
    await run(plus(when, 1));
    expect(await reminderMail(user)).toHaveLength(150);
    const unsent = await app.sql`
      select count(*)::int as n from task_reminders where task_id = any(${tasks.map((t) => t.id)}) and sent_at is null`;
    expect(unsent).toEqual([{ n: 0 }]);
    await run(plus(when, 2));
    expect(await reminderMail(user)).toHaveLength(150);
  });
});
