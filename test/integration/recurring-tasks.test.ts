import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, PASSWORD, uniqueEmail } from '../helpers/auth.ts';
import { as, type Problem, type TaskBody } from '../helpers/tasks.ts';
import { json, setupTestApp, TestClock, type TestApp } from '../helpers/test-app.ts';

/**
 * Recurring tasks: a task with an RRULE (`recurrence`) moves to its next occurrence when completed,
 * in the user's time zone, and keeps a record of each completion (`task_completions`).
 *
 * The app runs on a hand-moved clock that starts on Monday 2027-01-04 12:00 UTC, so every due date
 * below is in the future when created, and "now" at a completion is before the next occurrence
 * unless a test moves the clock on purpose (`during`), logging in again there because access tokens
 * live 15 minutes of that clock.
 */

interface RecurringTask extends TaskBody {
  recurrence: string | null;
  completed_occurrences: number;
}

interface CompletionItem {
  id: string;
  due_date: string;
  completed_at: string;
}

interface CompletionPage {
  items: CompletionItem[];
  total: number;
  page: number;
  limit: number;
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
const iso = (value: unknown) => new Date(value as string).toISOString();

async function login(email: string): Promise<string> {
  const res = await app.request('/api/v1/auth/login', json({ email, password: PASSWORD }));
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json<{ access_token: string }>()).access_token;
}

/** A new account in this time zone (the access token carries it). */
async function userIn(timeZone = 'UTC'): Promise<User> {
  const email = uniqueEmail('recur');
  const res = await app.request(
    '/api/v1/auth/register',
    json({ email, password: PASSWORD, full_name: 'Rita Recurring', time_zone: timeZone }),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  const body = await res.json<{ access_token: string; user: { id: string; time_zone: string } }>();
  expect(body.user.time_zone).toBe(timeZone);
  return { email: email.toLowerCase(), userId: body.user.id, token: body.access_token };
}

async function create(user: User, body: Record<string, unknown>): Promise<RecurringTask> {
  const res = await as(app, user.token).post('/api/v1/tasks', { title: 'A recurring task', ...body });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<RecurringTask>();
}

async function patch(user: User, task: { id: string }, body: Record<string, unknown>): Promise<RecurringTask> {
  const res = await as(app, user.token).patch(`/api/v1/tasks/${task.id}`, body);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<RecurringTask>();
}

/** Marks the task done at the version given (the one the caller last saw). */
const complete = (user: User, task: { id: string; version: number }) =>
  patch(user, task, { status: 'done', version: task.version });

async function read(user: User, id: string): Promise<RecurringTask> {
  const res = await as(app, user.token).get(`/api/v1/tasks/${id}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<RecurringTask>();
}

/** The completion rows of a task, oldest first, as ISO strings. */
async function completionRows(taskId: string) {
  const rows = await app.sql`
    select user_id, task_id, due_date, completed_at from task_completions
     where task_id = ${taskId} order by completed_at, due_date`;
  return rows.map((r) => ({
    user_id: r.user_id as string,
    task_id: r.task_id as string,
    due_date: iso(r.due_date),
    completed_at: iso(r.completed_at),
  }));
}

/** Completes the task again and again, returning each due date it moved to. */
async function completeTimes(user: User, task: RecurringTask, times: number): Promise<RecurringTask[]> {
  const seen: RecurringTask[] = [];
  let current = task;
  for (let i = 0; i < times; i++) {
    current = await complete(user, current);
    seen.push(current);
  }
  return seen;
}

/** Runs `fn` with the clock at `instant` (and a token issued then), then puts the clock back. */
async function during<T>(instant: string, user: User, fn: (u: User) => Promise<T>): Promise<T> {
  const delta = Date.parse(instant) - clock.now().getTime();
  clock.advance(delta);
  try {
    const token = await login(user.email);
    return await fn({ ...user, token });
  } finally {
    clock.advance(-delta);
  }
}

const pointers = (problem: Problem) => problem.errors?.map((e) => e.pointer) ?? [];

describe('creating a recurring task', () => {
  it('stores the canonical rule, with 0 completed occurrences; a plain task has neither', async () => {
    const user = await userIn('Europe/Berlin');
    const task = await create(user, {
      due_date: '2027-02-01T08:00:00Z',
      recurrence: 'byday=mo,we;freq=weekly;interval=1',
    });
    expect(task).toMatchObject({
      recurrence: 'FREQ=WEEKLY;BYDAY=MO,WE',
      completed_occurrences: 0,
      status: 'todo',
      due_date: at('2027-02-01T08:00:00Z'),
      version: 1,
    });
    expect(await read(user, task.id)).toMatchObject({
      recurrence: 'FREQ=WEEKLY;BYDAY=MO,WE',
      completed_occurrences: 0,
    });

    const plain = await create(user, { title: 'Once only' });
    expect(plain).toMatchObject({ recurrence: null, completed_occurrences: 0 });
    const explicitNull = await create(user, { title: 'Also once', recurrence: null, due_date: '2027-02-01T08:00:00Z' });
    expect(explicitNull).toMatchObject({ recurrence: null, completed_occurrences: 0 });
    expect(await completionRows(task.id)).toEqual([]);
  });

  it.each([
    ['no due date', { recurrence: 'FREQ=DAILY' }, null],
    ['a null due date', { recurrence: 'FREQ=DAILY', due_date: null }, null],
    ['an unknown part', { recurrence: 'FREQ=DAILY;BYHOUR=9' }, 'BYHOUR'],
    ['FREQ=HOURLY', { recurrence: 'FREQ=HOURLY' }, 'FREQ'],
    ['BYDAY=XX', { recurrence: 'FREQ=WEEKLY;BYDAY=XX' }, 'BYDAY'],
    ['COUNT=0', { recurrence: 'FREQ=DAILY;COUNT=0' }, 'COUNT'],
    ['UNTIL before the start', { recurrence: 'FREQ=DAILY;UNTIL=20270201' }, 'UNTIL'],
    ['a rule over 500 characters', { recurrence: `FREQ=WEEKLY;BYDAY=${'MO,'.repeat(170)}MO` }, '500'],
    ['an RRULE: prefix', { recurrence: 'RRULE:FREQ=DAILY' }, 'RRULE'],
    ['an empty rule', { recurrence: '' }, null],
    ['no FREQ', { recurrence: 'INTERVAL=2' }, 'FREQ'],
    ['COUNT and UNTIL together', { recurrence: 'FREQ=DAILY;COUNT=3;UNTIL=20280101' }, 'UNTIL'],
  ])('400 for %s, pointing at /body/recurrence, and nothing stored', async (what, change, named) => {
    const user = await userIn();
    const due = what.includes('due date') ? {} : { due_date: '2027-02-05T09:00:00Z' };
    const res = await as(app, user.token).post('/api/v1/tasks', { title: 'Never stored', ...due, ...change });
    expect(res.status, await res.clone().text()).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = await res.json<Problem>();
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(pointers(problem)).toContain('/body/recurrence');
    if (named) {
      const message = problem.errors?.find((e) => e.pointer === '/body/recurrence')?.message ?? '';
      expect(message).toContain(named);
    }
    expect(await app.sql`select count(*)::int as n from tasks where user_id = ${user.userId}`).toEqual([{ n: 0 }]);
  });
});

describe('completing moves the task to its next occurrence', () => {
  it('advances a daily task: todo again, the next due date, one more occurrence and version, a completion row', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    const first = await complete(user, task);
    expect(first).toMatchObject({
      id: task.id,
      status: 'todo',
      due_date: at('2027-02-02T09:00:00Z'),
      completed_occurrences: 1,
      version: 2,
      recurrence: 'FREQ=DAILY',
    });
    const [row] = await app.sql`
      select status::text as status, version, due_date from tasks where id = ${task.id}`;
    expect({ ...row, due_date: iso(row?.due_date) }).toEqual({
      status: 'todo',
      version: 2,
      due_date: at('2027-02-02T09:00:00Z'),
    });
    expect(await completionRows(task.id)).toEqual([
      { user_id: user.userId, task_id: task.id, due_date: at('2027-02-01T09:00:00Z'), completed_at: START },
    ]);
    const second = await complete(user, first);
    expect(second).toMatchObject({ status: 'todo', due_date: at('2027-02-03T09:00:00Z'), completed_occurrences: 2 });
    expect((await completionRows(task.id)).map((r) => r.due_date)).toEqual([
      at('2027-02-01T09:00:00Z'),
      at('2027-02-02T09:00:00Z'),
    ]);
  });

  it('Europe/Berlin: keeps 09:00 across spring forward (08:00Z -> 07:00Z) and fall back (07:00Z -> 08:00Z)', async () => {
    const user = await userIn('Europe/Berlin');
    const spring = await create(user, { due_date: '2027-03-27T08:00:00Z', recurrence: 'FREQ=DAILY' });
    const [march28, march29] = await completeTimes(user, spring, 2);
    expect(march28!.due_date).toBe(at('2027-03-28T07:00:00Z'));
    expect(march29!.due_date).toBe(at('2027-03-29T07:00:00Z'));

    const autumn = await create(user, { due_date: '2027-10-30T07:00:00Z', recurrence: 'FREQ=DAILY' });
    const [october31, november1] = await completeTimes(user, autumn, 2);
    expect(october31!.due_date).toBe(at('2027-10-31T08:00:00Z'));
    expect(november1!.due_date).toBe(at('2027-11-01T08:00:00Z'));
    expect((await completionRows(autumn.id)).map((r) => r.due_date)).toEqual([
      at('2027-10-30T07:00:00Z'),
      at('2027-10-31T08:00:00Z'),
    ]);
  });

  it('America/New_York: keeps 09:00 across 2027-03-14 and 2027-11-07, weekly as well as daily', async () => {
    const user = await userIn('America/New_York');
    const spring = await create(user, { due_date: '2027-03-13T14:00:00Z', recurrence: 'FREQ=DAILY' });
    expect((await complete(user, spring)).due_date).toBe(at('2027-03-14T13:00:00Z'));

    const autumn = await create(user, { due_date: '2027-11-06T13:00:00Z', recurrence: 'FREQ=DAILY' });
    expect((await complete(user, autumn)).due_date).toBe(at('2027-11-07T14:00:00Z'));

    // Saturday 2027-03-06 09:00 EST, every Saturday: the next is 09:00 EDT.
    const weekly = await create(user, { due_date: '2027-03-06T14:00:00Z', recurrence: 'FREQ=WEEKLY;BYDAY=SA' });
    expect((await complete(user, weekly)).due_date).toBe(at('2027-03-13T14:00:00Z'));
    const after = await complete(user, await read(user, weekly.id));
    expect(after.due_date).toBe(at('2027-03-20T13:00:00Z'));
  });

  it('America/New_York: 02:30 falls in the spring-forward gap (moves to 03:30); 01:30 happens twice in the fall (the first)', async () => {
    const user = await userIn('America/New_York');
    // 2027-03-13 02:30 EST.
    const gap = await create(user, { due_date: '2027-03-13T07:30:00Z', recurrence: 'FREQ=DAILY' });
    const [inGap, afterGap] = await completeTimes(user, gap, 2);
    expect(inGap!.due_date).toBe(at('2027-03-14T07:30:00Z'));
    expect(afterGap!.due_date).toBe(at('2027-03-15T06:30:00Z'));

    // 2027-11-06 01:30 EDT.
    const twice = await create(user, { due_date: '2027-11-06T05:30:00Z', recurrence: 'FREQ=DAILY' });
    const [ambiguous, afterwards] = await completeTimes(user, twice, 2);
    expect(ambiguous!.due_date).toBe(at('2027-11-07T05:30:00Z'));
    expect(afterwards!.due_date).toBe(at('2027-11-08T06:30:00Z'));
  });

  it('BYMONTHDAY=31 skips the months without a 31st (Berlin, 10:00 in winter and summer)', async () => {
    const user = await userIn('Europe/Berlin');
    const task = await create(user, { due_date: '2027-01-31T09:00:00Z', recurrence: 'FREQ=MONTHLY;BYMONTHDAY=31' });
    const seen = await completeTimes(user, task, 5);
    expect(seen.map((t) => t.due_date)).toEqual([
      at('2027-03-31T08:00:00Z'),
      at('2027-05-31T08:00:00Z'),
      at('2027-07-31T08:00:00Z'),
      at('2027-08-31T08:00:00Z'),
      at('2027-10-31T09:00:00Z'),
    ]);
    expect(seen.map((t) => t.completed_occurrences)).toEqual([1, 2, 3, 4, 5]);
  });

  it('BYMONTHDAY=-1 is the last day of each month, Feb 28 and Feb 29 included', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-01-31T10:00:00Z', recurrence: 'FREQ=MONTHLY;BYMONTHDAY=-1' });
    expect((await completeTimes(user, task, 3)).map((t) => t.due_date)).toEqual([
      at('2027-02-28T10:00:00Z'),
      at('2027-03-31T10:00:00Z'),
      at('2027-04-30T10:00:00Z'),
    ]);
    const leap = await create(user, { due_date: '2028-01-31T10:00:00Z', recurrence: 'FREQ=MONTHLY;BYMONTHDAY=-1' });
    expect((await complete(user, leap)).due_date).toBe(at('2028-02-29T10:00:00Z'));
  });

  it('FREQ=YEARLY from Feb 29 goes to the next leap year', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2028-02-29T12:00:00Z', recurrence: 'FREQ=YEARLY' });
    expect((await completeTimes(user, task, 2)).map((t) => t.due_date)).toEqual([
      at('2032-02-29T12:00:00Z'),
      at('2036-02-29T12:00:00Z'),
    ]);
  });

  it('twelve completions in a row stay right past the stored occurrences (Berlin, across spring forward)', async () => {
    const user = await userIn('Europe/Berlin');
    // 09:00 CET on Saturday 2027-03-20; Europe switches on 2027-03-28.
    const task = await create(user, { due_date: '2027-03-20T08:00:00Z', recurrence: 'FREQ=DAILY' });
    const seen = await completeTimes(user, task, 12);
    const expected = Array.from({ length: 12 }, (_, i) => {
      const day = new Date(Date.UTC(2027, 2, 21 + i, 0, 0, 0));
      day.setUTCHours(day < new Date('2027-03-28T00:00:00Z') ? 8 : 7);
      return day.toISOString();
    });
    expect(seen.map((t) => t.due_date)).toEqual(expected);
    expect(seen.map((t) => [t.status, t.completed_occurrences])).toEqual(
      Array.from({ length: 12 }, (_, i) => ['todo', i + 1]),
    );
    expect(await completionRows(task.id)).toHaveLength(12);
  });
});

describe('the end of a series', () => {
  it('COUNT=3: the third completion is done for good; completing a done task records nothing', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY;COUNT=3' });
    const [second, third, finished] = await completeTimes(user, task, 3);
    expect(second).toMatchObject({ status: 'todo', due_date: at('2027-02-02T09:00:00Z'), completed_occurrences: 1 });
    expect(third).toMatchObject({ status: 'todo', due_date: at('2027-02-03T09:00:00Z'), completed_occurrences: 2 });
    expect(finished).toMatchObject({
      status: 'done',
      due_date: at('2027-02-03T09:00:00Z'),
      completed_occurrences: 3,
      version: 4,
    });
    const rows = await completionRows(task.id);
    expect(rows.map((r) => r.due_date)).toEqual([
      at('2027-02-01T09:00:00Z'),
      at('2027-02-02T09:00:00Z'),
      at('2027-02-03T09:00:00Z'),
    ]);

    const res = await as(app, user.token).patch(`/api/v1/tasks/${task.id}`, { status: 'done', version: 4 });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json<RecurringTask>()).toMatchObject({ status: 'done', completed_occurrences: 3 });
    expect(await completionRows(task.id)).toHaveLength(3);
  });

  it('UNTIL as a date is inclusive of that day; UNTIL as an instant includes an occurrence at that instant', async () => {
    const user = await userIn();
    // Mondays 09:00 until Monday 2027-02-15 (the whole day).
    const byDate = await create(user, {
      due_date: '2027-02-01T09:00:00Z',
      recurrence: 'FREQ=WEEKLY;BYDAY=MO;UNTIL=20270215',
    });
    const seen = await completeTimes(user, byDate, 3);
    expect(seen.map((t) => [t.status, t.due_date, t.completed_occurrences])).toEqual([
      ['todo', at('2027-02-08T09:00:00Z'), 1],
      ['todo', at('2027-02-15T09:00:00Z'), 2],
      ['done', at('2027-02-15T09:00:00Z'), 3],
    ]);
    expect(await completionRows(byDate.id)).toHaveLength(3);

    const byInstant = await create(user, {
      due_date: '2027-02-01T09:00:00Z',
      recurrence: 'FREQ=DAILY;UNTIL=20270202T090000Z',
    });
    const [last, finished] = await completeTimes(user, byInstant, 2);
    expect(last).toMatchObject({ status: 'todo', due_date: at('2027-02-02T09:00:00Z') });
    expect(finished).toMatchObject({ status: 'done', completed_occurrences: 2 });
    expect(await completionRows(byInstant.id)).toHaveLength(2);
  });

  it("UNTIL as a date is the whole of that day in the user's zone (New York evenings are the next day in UTC)", async () => {
    const user = await userIn('America/New_York');
    // 21:00 EST every day until 2027-02-03 (New York): the last one is 2027-02-04T02:00Z.
    const task = await create(user, { due_date: '2027-02-02T02:00:00Z', recurrence: 'FREQ=DAILY;UNTIL=20270203' });
    const seen = await completeTimes(user, task, 3);
    expect(seen.map((t) => [t.status, t.due_date])).toEqual([
      ['todo', at('2027-02-03T02:00:00Z')],
      ['todo', at('2027-02-04T02:00:00Z')],
      ['done', at('2027-02-04T02:00:00Z')],
    ]);
  });
});

describe('missed occurrences', () => {
  it('are skipped: completing days late moves to the first occurrence after now, and counts once', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    const done = await during('2027-02-05T12:00:00Z', user, (late) => complete(late, task));
    expect(done).toMatchObject({
      status: 'todo',
      due_date: at('2027-02-06T09:00:00Z'),
      completed_occurrences: 1,
      version: 2,
    });
    expect(await completionRows(task.id)).toEqual([
      {
        user_id: user.userId,
        task_id: task.id,
        due_date: at('2027-02-01T09:00:00Z'),
        completed_at: at('2027-02-05T12:00:00Z'),
      },
    ]);
  });

  it('a late completion with nothing left after now finishes a COUNT series', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY;COUNT=3' });
    const done = await during('2027-02-10T12:00:00Z', user, (late) => complete(late, task));
    expect(done).toMatchObject({ status: 'done', completed_occurrences: 1 });
    expect(await completionRows(task.id)).toHaveLength(1);
  });

  it('are skipped even when more were missed than the schedule keeps ahead (20 days late)', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    const done = await during('2027-02-21T12:00:00Z', user, (late) => complete(late, task));
    expect(done).toMatchObject({
      status: 'todo',
      due_date: at('2027-02-22T09:00:00Z'),
      completed_occurrences: 1,
      version: 2,
    });
    expect(await completionRows(task.id)).toEqual([
      {
        user_id: user.userId,
        task_id: task.id,
        due_date: at('2027-02-01T09:00:00Z'),
        completed_at: at('2027-02-21T12:00:00Z'),
      },
    ]);
  });

  it('are skipped in a batch too, even 20 days late: 409 SCHEDULE_PENDING first, then sent again it applies', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    // Every occurrence the task stored is past: a batch, built before it runs, cannot compute the
    // next one. The schedule is computed after the response, so the same batch sent again applies.
    const body = {
      mode: 'atomic',
      commands: [
        { id: crypto.randomUUID(), type: 'task.update', task_id: task.id, args: { status: 'done', version: 1 } },
      ],
    };
    const [refused, answer] = await during('2027-02-21T12:00:00Z', user, async (late) => {
      const send = async () => {
        const res = await app.request('/api/v1/batch', json(body, bearer(late.token)));
        expect(res.status, await res.clone().text()).toBe(200);
        return res.json<{ results: { status: number; task?: RecurringTask; problem?: Problem }[] }>();
      };
      return [await send(), await send()];
    });
    expect(refused.results[0]).toMatchObject({ status: 409, problem: { code: 'SCHEDULE_PENDING' } });
    expect(answer.results[0]!.status, JSON.stringify(answer.results[0]!.problem)).toBe(200);
    expect(answer.results[0]!.task).toMatchObject({ due_date: at('2027-02-22T09:00:00Z'), completed_occurrences: 1 });
    expect(await completionRows(task.id)).toHaveLength(1);
  });
});

describe('changing the schedule', () => {
  it('due_date alone reschedules this occurrence only: the next completion follows the rule again', async () => {
    const user = await userIn();
    // Mondays 09:00 from 2027-02-01; this one moved to Wednesday 2027-02-17 15:00.
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=WEEKLY;BYDAY=MO' });
    const moved = await patch(user, task, { due_date: '2027-02-17T15:00:00Z', version: 1 });
    expect(moved).toMatchObject({ recurrence: 'FREQ=WEEKLY;BYDAY=MO', due_date: at('2027-02-17T15:00:00Z') });
    const done = await complete(user, moved);
    expect(done).toMatchObject({ status: 'todo', due_date: at('2027-02-22T09:00:00Z'), completed_occurrences: 1 });
    expect((await completionRows(task.id)).map((r) => r.due_date)).toEqual([at('2027-02-17T15:00:00Z')]);
  });

  it('a new rule with a due date restarts the series there (COUNT counts from the new start)', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY;COUNT=2' });
    const once = await complete(user, task);
    expect(once).toMatchObject({ status: 'todo', due_date: at('2027-02-02T09:00:00Z') });

    const changed = await patch(user, once, {
      recurrence: 'count=2;freq=weekly',
      due_date: '2027-03-01T18:00:00Z',
      version: once.version,
    });
    expect(changed).toMatchObject({ recurrence: 'FREQ=WEEKLY;COUNT=2', due_date: at('2027-03-01T18:00:00Z') });
    const next = await complete(user, changed);
    expect(next).toMatchObject({ status: 'todo', due_date: at('2027-03-08T18:00:00Z') });
    const last = await complete(user, next);
    expect(last).toMatchObject({ status: 'done' });
    expect((await completionRows(task.id)).map((r) => r.due_date)).toEqual([
      at('2027-02-01T09:00:00Z'),
      at('2027-03-01T18:00:00Z'),
      at('2027-03-08T18:00:00Z'),
    ]);
  });

  it('400 for a rule without a due date in the same PATCH, or with a null one, or a bad rule; nothing changes', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z' });
    const cases: [Record<string, unknown>, string][] = [
      [{ recurrence: 'FREQ=DAILY', version: 1 }, '/body/due_date'],
      [{ recurrence: 'FREQ=DAILY', due_date: null, version: 1 }, '/body/due_date'],
      [{ recurrence: 'FREQ=SECONDLY', due_date: '2027-02-02T09:00:00Z', version: 1 }, '/body/recurrence'],
      [{ recurrence: 'FREQ=DAILY;UNTIL=20270201', due_date: '2027-02-02T09:00:00Z', version: 1 }, '/body/recurrence'],
    ];
    for (const [body, pointer] of cases) {
      const res = await as(app, user.token).patch(`/api/v1/tasks/${task.id}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(pointers(await res.json<Problem>()), JSON.stringify(body)).toContain(pointer);
    }
    const [row] = await app.sql`select version, due_date from tasks where id = ${task.id}`;
    expect({ version: row?.version as number, due_date: iso(row?.due_date) }).toEqual({
      version: 1,
      due_date: at('2027-02-01T09:00:00Z'),
    });
    expect((await read(user, task.id)).recurrence).toBeNull();
  });

  it('recurrence: null stops repeating: the next completion is done for good', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    const stopped = await patch(user, task, { recurrence: null, version: 1 });
    expect(stopped).toMatchObject({ recurrence: null, due_date: at('2027-02-01T09:00:00Z'), version: 2 });
    const done = await complete(user, stopped);
    expect(done).toMatchObject({ status: 'done', recurrence: null, due_date: at('2027-02-01T09:00:00Z') });
  });

  it('due_date: null on a recurring task removes the rule too', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    const cleared = await patch(user, task, { due_date: null, version: 1 });
    expect(cleared).toMatchObject({ recurrence: null, due_date: null });
    expect(await read(user, task.id)).toMatchObject({ recurrence: null, due_date: null });
    const done = await complete(user, cleared);
    expect(done).toMatchObject({ status: 'done', due_date: null, recurrence: null });
  });

  it("follows the user's new time zone after PATCH /auth/me and a new token", async () => {
    const user = await userIn('UTC');
    const changed = await app.request(
      '/api/v1/auth/me',
      json({ time_zone: 'America/New_York' }, bearer(user.token, { method: 'PATCH' })),
    );
    expect(changed.status, await changed.clone().text()).toBe(200);
    const fresh: User = { ...user, token: await login(user.email) };
    // 09:00 EST the day before the switch: the next is 09:00 EDT (13:00Z), not 14:00Z as in UTC.
    const task = await create(fresh, { due_date: '2027-03-13T14:00:00Z', recurrence: 'FREQ=DAILY' });
    const done = await complete(fresh, task);
    expect(done.due_date).toBe(at('2027-03-14T13:00:00Z'));

    // Back to Berlin: 09:00 CET the day before Europe switches, then 09:00 CEST.
    await app.request(
      '/api/v1/auth/me',
      json({ time_zone: 'Europe/Berlin' }, bearer(fresh.token, { method: 'PATCH' })),
    );
    const berlin: User = { ...user, token: await login(user.email) };
    const second = await create(berlin, { due_date: '2027-03-27T08:00:00Z', recurrence: 'FREQ=DAILY' });
    expect((await complete(berlin, second)).due_date).toBe(at('2027-03-28T07:00:00Z'));
  });

  it('a task scheduled in the old zone lands at its wall-clock time in the new zone after the change', async () => {
    const user = await userIn('UTC');
    // 14:00 UTC, daily: in UTC the next would be 2027-03-14T14:00Z.
    const task = await create(user, { due_date: '2027-03-13T14:00:00Z', recurrence: 'FREQ=DAILY' });
    const changed = await app.request(
      '/api/v1/auth/me',
      json({ time_zone: 'America/New_York' }, bearer(user.token, { method: 'PATCH' })),
    );
    expect(changed.status, await changed.clone().text()).toBe(200);
    const fresh: User = { ...user, token: await login(user.email) };
    // The start read in New York is 09:00 EST; the next is 09:00 EDT.
    const done = await complete(fresh, task);
    expect(done).toMatchObject({ status: 'todo', due_date: at('2027-03-14T13:00:00Z'), completed_occurrences: 1 });
    expect(await completionRows(task.id)).toHaveLength(1);
  });

  it('due_date alone, far past the occurrences kept ahead: the next completion still follows the rule', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=WEEKLY;BYDAY=MO' });
    // Wednesday 2027-06-16, 19 weeks on.
    const moved = await patch(user, task, { due_date: '2027-06-16T15:00:00Z', version: 1 });
    const done = await complete(user, moved);
    expect(done).toMatchObject({ status: 'todo', due_date: at('2027-06-21T09:00:00Z'), completed_occurrences: 1 });
  });

  it('due_date alone, moved earlier: the next completion is the next occurrence of the rule after the new date', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    const second = await complete(user, task);
    const third = await complete(user, second);
    expect(third.due_date).toBe(at('2027-02-03T09:00:00Z'));
    // Moved from 02-03 09:00 to 02-02 12:00: the rule's next occurrence after that is 02-03 09:00.
    const moved = await patch(user, third, { due_date: '2027-02-02T12:00:00Z', version: third.version });
    const done = await complete(user, moved);
    expect(done).toMatchObject({ status: 'todo', due_date: at('2027-02-03T09:00:00Z') });
  });
});

describe('a replayed completion', () => {
  it('sent twice with the same version advances once: 200 then 409, one completion row', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    const body = { status: 'done', version: 1 };
    const first = await as(app, user.token).patch(`/api/v1/tasks/${task.id}`, body);
    const second = await as(app, user.token).patch(`/api/v1/tasks/${task.id}`, body);
    expect([first.status, second.status]).toEqual([200, 409]);
    expect(await second.json<Problem>()).toMatchObject({ code: 'CONFLICT', current_version: 2 });
    expect(await read(user, task.id)).toMatchObject({
      due_date: at('2027-02-02T09:00:00Z'),
      completed_occurrences: 1,
      version: 2,
    });
    expect(await completionRows(task.id)).toHaveLength(1);
  });

  it('sent in parallel advances once: one 200, the others 409, one completion row', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        as(app, user.token).patch(`/api/v1/tasks/${task.id}`, { status: 'done', version: 1 }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
    expect(await read(user, task.id)).toMatchObject({
      status: 'todo',
      due_date: at('2027-02-02T09:00:00Z'),
      completed_occurrences: 1,
      version: 2,
    });
    expect((await completionRows(task.id)).map((r) => r.due_date)).toEqual([at('2027-02-01T09:00:00Z')]);
  });

  it('with If-Match instead of a body version: advances once, the replay is 412', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    const tag = `"${task.id}.1"`;
    const send = () =>
      app.request(
        `/api/v1/tasks/${task.id}`,
        json({ status: 'done' }, bearer(user.token, { method: 'PATCH', headers: { 'if-match': tag } })),
      );
    const first = await send();
    expect(first.status, await first.clone().text()).toBe(200);
    expect(await first.json<RecurringTask>()).toMatchObject({
      status: 'todo',
      due_date: at('2027-02-02T09:00:00Z'),
      completed_occurrences: 1,
    });
    expect((await send()).status).toBe(412);
    expect(await completionRows(task.id)).toHaveLength(1);
  });
});

describe('GET /api/v1/tasks/{task_id}/completions', () => {
  it('lists the completions newest first, paged, with the total', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    const empty = await as(app, user.token).get(`/api/v1/tasks/${task.id}/completions`);
    expect(empty.status, await empty.clone().text()).toBe(200);
    expect(await empty.json()).toEqual({ items: [], total: 0, page: 1, limit: 20 });

    let current = task;
    let moved = 0;
    try {
      for (let i = 0; i < 3; i++) {
        current = await complete(user, current);
        clock.advance(60_000);
        moved += 60_000;
      }
    } finally {
      clock.advance(-moved);
    }
    const minute = (n: number) => new Date(Date.parse(START) + n * 60_000).toISOString();

    const res = await as(app, user.token).get(`/api/v1/tasks/${task.id}/completions?page=1&limit=20`);
    expect(res.status).toBe(200);
    const page = await res.json<CompletionPage>();
    expect(page).toMatchObject({ total: 3, page: 1, limit: 20 });
    expect(page.items.map((c) => [c.due_date, c.completed_at])).toEqual([
      [at('2027-02-03T09:00:00Z'), minute(2)],
      [at('2027-02-02T09:00:00Z'), minute(1)],
      [at('2027-02-01T09:00:00Z'), minute(0)],
    ]);
    const rows = await app.sql`select id from task_completions where task_id = ${task.id}`;
    expect(page.items.map((c) => c.id).sort()).toEqual(rows.map((r) => String(r.id)).sort());

    const second = await (
      await as(app, user.token).get(`/api/v1/tasks/${task.id}/completions?page=2&limit=2`)
    ).json<CompletionPage>();
    expect(second).toMatchObject({ total: 3, page: 2, limit: 2 });
    expect(second.items.map((c) => c.due_date)).toEqual([at('2027-02-01T09:00:00Z')]);
  });

  it("404 for a missing task, 403 for another user's, and another user's completions stay hidden", async () => {
    const ann = await userIn();
    const bob = await userIn();
    const task = await create(ann, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    await complete(ann, task);
    const missing = await as(app, ann.token).get(`/api/v1/tasks/${crypto.randomUUID()}/completions`);
    expect(missing.status).toBe(404);
    const foreign = await as(app, bob.token).get(`/api/v1/tasks/${task.id}/completions`);
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).not.toContain('2027-02-01');
    expect((await as(app, ann.token).delete(`/api/v1/tasks/${task.id}`)).status).toBe(204);
    expect((await as(app, ann.token).get(`/api/v1/tasks/${task.id}/completions`)).status).toBe(404);
  });
});

describe('POST /api/v1/batch', () => {
  interface BatchAnswer {
    applied: boolean;
    results: { id: string; status: number; task?: RecurringTask; problem?: Problem }[];
    temp_ids: { temp_id: string; id: string }[];
  }
  const batch = async (user: User, body: Record<string, unknown>) => {
    const res = await app.request('/api/v1/batch', json(body, bearer(user.token)));
    expect(res.status, await res.clone().text()).toBe(200);
    return res.json<BatchAnswer>();
  };

  it('an atomic task.update to done advances a recurring task the same way', async () => {
    const user = await userIn('Europe/Berlin');
    const task = await create(user, { due_date: '2027-03-27T08:00:00Z', recurrence: 'FREQ=DAILY' });
    const answer = await batch(user, {
      mode: 'atomic',
      commands: [
        { id: crypto.randomUUID(), type: 'task.update', task_id: task.id, args: { status: 'done', version: 1 } },
      ],
    });
    expect(answer.applied).toBe(true);
    expect(answer.results.map((r) => r.status)).toEqual([200]);
    expect(answer.results[0]!.task).toMatchObject({
      status: 'todo',
      due_date: at('2027-03-28T07:00:00Z'),
      completed_occurrences: 1,
      version: 2,
    });
    expect(await completionRows(task.id)).toEqual([
      { user_id: user.userId, task_id: task.id, due_date: at('2027-03-27T08:00:00Z'), completed_at: START },
    ]);
    expect(await read(user, task.id)).toMatchObject({ due_date: at('2027-03-28T07:00:00Z'), completed_occurrences: 1 });
  });

  it('task.create takes a recurrence (canonical in the answer), and refuses one without a due date', async () => {
    const user = await userIn();
    const temp = crypto.randomUUID();
    const answer = await batch(user, {
      mode: 'atomic',
      commands: [
        {
          id: crypto.randomUUID(),
          type: 'task.create',
          temp_id: temp,
          args: { title: 'Batch recurring', due_date: '2027-02-01T09:00:00Z', recurrence: 'freq=weekly;byday=mo' },
        },
        { id: crypto.randomUUID(), type: 'task.update', task_id: temp, args: { status: 'done', version: 1 } },
      ],
    });
    expect(answer.results.map((r) => r.status)).toEqual([201, 200]);
    expect(answer.results[0]!.task).toMatchObject({ recurrence: 'FREQ=WEEKLY;BYDAY=MO', completed_occurrences: 0 });
    expect(answer.results[1]!.task).toMatchObject({
      status: 'todo',
      due_date: at('2027-02-08T09:00:00Z'),
      completed_occurrences: 1,
    });
    const id = answer.temp_ids.find((t) => t.temp_id === temp)!.id;
    expect(await completionRows(id)).toHaveLength(1);

    const refused = await app.request(
      '/api/v1/batch',
      json(
        {
          mode: 'atomic',
          commands: [
            { id: crypto.randomUUID(), type: 'task.create', args: { title: 'No start', recurrence: 'FREQ=DAILY' } },
          ],
        },
        bearer(user.token),
      ),
    );
    // Either the whole body is refused (400) or the command is (200 with its own 400).
    if (refused.status === 400) {
      expect(pointers(await refused.json<Problem>()).join(' ')).toContain('recurrence');
    } else {
      expect(refused.status).toBe(200);
      const body = await refused.json<BatchAnswer>();
      expect(body.results[0]!.status).toBe(400);
      expect(pointers(body.results[0]!.problem!).join(' ')).toContain('recurrence');
    }
    expect(
      await app.sql`select count(*)::int as n from tasks where user_id = ${user.userId} and title = 'No start'`,
    ).toEqual([{ n: 0 }]);
  });
});

describe('reading a recurring task after a completion', () => {
  it('GET, the list and the ETag show the new state (200 for the old ETag, not 304)', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    const before = await as(app, user.token).get(`/api/v1/tasks/${task.id}`);
    const oldTag = before.headers.get('etag') ?? '';
    expect(oldTag).not.toBe('');
    // Warm whatever caches the list and the single read use.
    await as(app, user.token).get('/api/v1/tasks');
    await complete(user, task);

    const revalidated = await app.request(
      `/api/v1/tasks/${task.id}`,
      bearer(user.token, { headers: { 'if-none-match': oldTag } }),
    );
    expect(revalidated.status).toBe(200);
    expect(revalidated.headers.get('etag')).not.toBe(oldTag);
    expect(await revalidated.json<RecurringTask>()).toMatchObject({
      recurrence: 'FREQ=DAILY',
      completed_occurrences: 1,
      due_date: at('2027-02-02T09:00:00Z'),
      status: 'todo',
    });
    const list = await (await as(app, user.token).get('/api/v1/tasks')).json<{ items: RecurringTask[] }>();
    expect(list.items.find((t) => t.id === task.id)).toMatchObject({
      recurrence: 'FREQ=DAILY',
      completed_occurrences: 1,
      due_date: at('2027-02-02T09:00:00Z'),
    });
  });

  it('delta sync sends the advanced task with recurrence and completed_occurrences', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=WEEKLY;BYDAY=MO,TH' });
    const first = await (
      await as(app, user.token).get('/api/v1/tasks/changes')
    ).json<{
      changes: { type: string; task?: RecurringTask }[];
      next_cursor: string;
    }>();
    expect(first.changes.find((c) => c.task?.id === task.id)?.task).toMatchObject({
      recurrence: 'FREQ=WEEKLY;BYDAY=MO,TH',
      completed_occurrences: 0,
    });
    await complete(user, task);
    const res = await as(app, user.token).get(`/api/v1/tasks/changes?cursor=${first.next_cursor}`);
    expect(res.status, await res.clone().text()).toBe(200);
    const page = await res.json<{ changes: { type: string; task?: RecurringTask }[] }>();
    expect(page.changes).toHaveLength(1);
    expect(page.changes[0]).toMatchObject({
      type: 'task',
      task: {
        id: task.id,
        recurrence: 'FREQ=WEEKLY;BYDAY=MO,TH',
        completed_occurrences: 1,
        // Monday 2027-02-01, then Thursday 2027-02-04.
        due_date: at('2027-02-04T09:00:00Z'),
        status: 'todo',
        version: 2,
      },
    });
  });
});

describe('round trips', () => {
  it('completing a recurring task is one Neon request', async () => {
    const user = await userIn('Europe/Berlin');
    const task = await create(user, { due_date: '2027-03-27T08:00:00Z', recurrence: 'FREQ=DAILY' });
    await app.resetCounters();
    const done = await complete(user, task);
    const counters = await app.counters();
    expect(done.due_date).toBe(at('2027-03-28T07:00:00Z'));
    expect(counters.neon.requests).toBe(1);
  });
});

describe('the account export', () => {
  it('holds the completions and each task’s rule', async () => {
    const user = await userIn();
    const task = await create(user, { due_date: '2027-02-01T09:00:00Z', recurrence: 'FREQ=DAILY' });
    await completeTimes(user, task, 2);
    const res = await app.request('/api/v1/account/export', bearer(user.token));
    expect(res.status).toBe(200);
    const doc = await res.json<Record<string, unknown> & { tasks: RecurringTask[] }>();
    expect(doc.tasks.find((t) => t.id === task.id)).toMatchObject({
      recurrence: 'FREQ=DAILY',
      completed_occurrences: 2,
    });
    const completions = doc.task_completions as { task_id: string; due_date: string; completed_at: string }[];
    expect(Array.isArray(completions), `export keys: ${Object.keys(doc).join(', ')}`).toBe(true);
    expect(
      completions
        .filter((c) => c.task_id === task.id)
        .map((c) => [iso(c.due_date), iso(c.completed_at)])
        .sort(),
    ).toEqual([
      [at('2027-02-01T09:00:00Z'), START],
      [at('2027-02-02T09:00:00Z'), START],
    ]);
  });
});
