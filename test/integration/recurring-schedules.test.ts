import { createScheduledController } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import worker from '../../src/index.ts';
import { bearer, PASSWORD, uniqueEmail } from '../helpers/auth.ts';
import { as, type Problem, type TaskBody } from '../helpers/tasks.ts';
import { json, setupTestApp, TestClock, type TestApp } from '../helpers/test-app.ts';

/**
 * The schedule a repeating task stores (docs/decisions/0029): completions advance from it in one
 * statement; when it is unknown, of another zone or short, the Worker computes it (on the single
 * route as a second statement, in a batch after the response) and refills it after the response.
 * The test app waits for the work after the response, so the stand-in's counters include it.
 */

const clock = new TestClock(Date.parse('2027-01-04T12:00:00.000Z'));
let app: TestApp;

beforeAll(async () => {
  app = await setupTestApp({ deps: () => ({ clock }) });
});

interface User {
  userId: string;
  email: string;
  token: string;
}

async function userIn(timeZone: string): Promise<User> {
  const email = uniqueEmail('sched');
  const res = await app.request(
    '/api/v1/auth/register',
    json({ email, password: PASSWORD, full_name: 'Sam Schedule', time_zone: timeZone }),
  );
  expect(res.status, await res.clone().text()).toBe(201);
  const body = await res.json<{ access_token: string; user: { id: string } }>();
  return { userId: body.user.id, email, token: body.access_token };
}

async function createDaily(user: User, due: string): Promise<TaskBody> {
  const res = await as(app, user.token).post('/api/v1/tasks', {
    title: 'Water the plants',
    due_date: due,
    recurrence: 'FREQ=DAILY',
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<TaskBody>();
}

/** The response and how many Neon requests it took, the work after the response included. */
async function counted(call: () => Promise<Response>): Promise<{ res: Response; neon: number }> {
  await app.resetCounters();
  const res = await call();
  return { res, neon: (await app.counters()).neon.requests };
}

const completing = (user: User, task: { id: string; version: number }) => () =>
  as(app, user.token).patch(`/api/v1/tasks/${task.id}`, { status: 'done', version: task.version });

async function stored(taskId: string) {
  const [row] = await app.sql`
    select cardinality(recurrence_upcoming) as listed, recurrence_zone as zone, recurrence_more as more
      from tasks where id = ${taskId}`;
  return row as { listed: number | null; zone: string | null; more: boolean };
}

const day = (n: number, time = '09:00') =>
  new Date(`2027-01-${String(n).padStart(2, '0')}T${time}:00.000Z`).toISOString();

describe('the stored schedule', () => {
  it('lists the next 8 occurrences when created, in the zone of the token', async () => {
    const user = await userIn('UTC');
    const task = await createDaily(user, day(5));
    expect(await stored(task.id)).toEqual({ listed: 8, zone: 'UTC', more: true });
  });

  it('is refilled after the response when it runs short, so every completion is one Neon request', async () => {
    const user = await userIn('UTC');
    let task = await createDaily(user, day(5));
    const trips: number[] = [];
    const listed: (number | null)[] = [];
    for (let i = 1; i <= 12; i++) {
      const { res, neon } = await counted(completing(user, task));
      expect(res.status, await res.clone().text()).toBe(200);
      task = await res.json<TaskBody>();
      expect(task).toMatchObject({ status: 'todo', due_date: day(5 + i), completed_occurrences: i });
      trips.push(neon);
      listed.push((await stored(task.id)).listed);
    }
    // The sixth completion leaves 2 listed: computed again after its response (the second request).
    expect(trips).toEqual([1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 2]);
    expect(listed).toEqual([7, 6, 5, 4, 3, 8, 7, 6, 5, 4, 3, 8]);
  });

  it('of another zone is not used: after a zone change the next completion computes it, once', async () => {
    const user = await userIn('Europe/Berlin');
    // 09:00 in Berlin (08:00Z); read in New York the same series starts at 03:00 local time.
    let task = await createDaily(user, '2027-03-10T08:00:00.000Z');
    const moved = await app.request(
      '/api/v1/auth/me',
      json({ time_zone: 'America/New_York' }, bearer(user.token, { method: 'PATCH' })),
    );
    expect(moved.status).toBe(200);

    // New York moves its clocks on 2027-03-14, Berlin on 2027-03-28: 03:00 in New York is 08:00Z
    // until the 13th and 07:00Z from the 14th, where Berlin's list would still say 08:00Z.
    const first = await counted(completing(user, task));
    expect(first.res.status, await first.res.clone().text()).toBe(200);
    expect(first.neon).toBe(2);
    task = await first.res.json<TaskBody>();
    expect(task.due_date).toBe('2027-03-11T08:00:00.000Z');
    expect(await stored(task.id)).toEqual({ listed: 7, zone: 'America/New_York', more: true });

    const dates: string[] = [];
    for (let i = 0; i < 3; i++) {
      const next = await counted(completing(user, task));
      expect(next.neon).toBe(1);
      task = await next.res.json<TaskBody>();
      dates.push(task.due_date!);
    }
    expect(dates).toEqual(['2027-03-12T08:00:00.000Z', '2027-03-13T08:00:00.000Z', '2027-03-14T07:00:00.000Z']);
  });

  it('that is unknown (a token that carried no zone) is computed by the first completion', async () => {
    const user = await userIn('UTC');
    const task = await createDaily(user, day(5));
    await app.sql`update tasks set recurrence_upcoming = null, recurrence_zone = null where id = ${task.id}`;
    const { res, neon } = await counted(completing(user, task));
    expect(res.status, await res.clone().text()).toBe(200);
    expect(neon).toBe(2);
    expect(await res.json<TaskBody>()).toMatchObject({ due_date: day(6), version: 2, completed_occurrences: 1 });
    expect(await stored(task.id)).toEqual({ listed: 7, zone: 'UTC', more: true });
    const rows = await app.sql`select count(*)::int as n from task_completions where task_id = ${task.id}`;
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('a stale version on the second try is still a 409, and nothing is recorded', async () => {
    const user = await userIn('UTC');
    const task = await createDaily(user, day(5));
    await app.sql`update tasks set recurrence_upcoming = null where id = ${task.id}`;
    const res = await as(app, user.token).patch(`/api/v1/tasks/${task.id}`, { status: 'done', version: 7 });
    expect(res.status).toBe(409);
    expect(await res.json<Problem>()).toMatchObject({ current_version: 1 });
    const rows = await app.sql`select count(*)::int as n from task_completions where task_id = ${task.id}`;
    expect(rows).toEqual([{ n: 0 }]);
  });
});

describe('a batch completion whose schedule is unknown', () => {
  interface BatchAnswer {
    applied: boolean;
    results: { id: string; status: number; task?: TaskBody; problem?: Problem }[];
  }

  it('is 409 SCHEDULE_PENDING and changes nothing; the schedule is computed after the response, so it succeeds when sent again', async () => {
    const user = await userIn('UTC');
    const task = await createDaily(user, day(5));
    await app.sql`update tasks set recurrence_upcoming = null, recurrence_zone = null where id = ${task.id}`;
    const body = {
      mode: 'atomic',
      commands: [
        { id: crypto.randomUUID(), type: 'task.update', task_id: task.id, args: { status: 'done', version: 1 } },
      ],
    };
    const send = async () => {
      const res = await app.request('/api/v1/batch', json(body, bearer(user.token)));
      expect(res.status, await res.clone().text()).toBe(200);
      return res.json<BatchAnswer>();
    };

    const refused = await send();
    expect(refused.applied).toBe(false);
    expect(refused.results[0]).toMatchObject({ status: 409, problem: { code: 'SCHEDULE_PENDING' } });
    const [row] = await app.sql`select version, status, due_date from tasks where id = ${task.id}`;
    expect({ ...row, due_date: new Date(row!.due_date as string).toISOString() }).toEqual({
      version: 1,
      status: 'todo',
      due_date: day(5),
    });
    expect(await app.sql`select count(*)::int as n from task_completions where task_id = ${task.id}`).toEqual([
      { n: 0 },
    ]);
    expect(await stored(task.id)).toEqual({ listed: 8, zone: 'UTC', more: true });

    const accepted = await send();
    expect(accepted.applied).toBe(true);
    expect(accepted.results[0]).toMatchObject({ status: 200, task: { due_date: day(6), completed_occurrences: 1 } });
    expect(Object.keys(accepted.results[0]!.task!)).not.toContain('schedule_short');
  });
});

describe("the minute cron's refill", () => {
  it('refills a schedule about to run out, so a batch completion after days offline applies at once', async () => {
    const user = await userIn('UTC');
    // Due Jan 5: the list holds Jan 6 to Jan 13.
    const task = await createDaily(user, day(5));

    // On Jan 12 the last listed occurrence is within two days: the run lists Jan 13 to Jan 20.
    await worker.scheduled(
      createScheduledController({ cron: '* * * * *', scheduledTime: Date.parse(day(12, '12:00')) }),
      app.env,
    );
    const [row] = await app.sql`
      select cardinality(recurrence_upcoming) as listed, recurrence_upcoming[1] as first, version
        from tasks where id = ${task.id}`;
    const { listed, first, version } = row as { listed: number; first: string; version: number };
    expect({ listed, first: new Date(first).toISOString(), version }).toEqual({
      listed: 8,
      first: day(13),
      version: 1,
    });

    // Jan 15, back online: the queued completion applies in the first batch.
    const delta = Date.parse(day(15, '12:00')) - clock.now().getTime();
    clock.advance(delta);
    try {
      const login = await app.request('/api/v1/auth/login', json({ email: user.email, password: PASSWORD }));
      const { access_token: token } = await login.json<{ access_token: string }>();
      const res = await app.request(
        '/api/v1/batch',
        json(
          {
            mode: 'atomic',
            commands: [
              { id: crypto.randomUUID(), type: 'task.update', task_id: task.id, args: { status: 'done', version: 1 } },
            ],
          },
          bearer(token),
        ),
      );
      const answer = await res.json<{ applied: boolean; results: { status: number; task?: TaskBody }[] }>();
      expect(answer.applied).toBe(true);
      expect(answer.results[0]).toMatchObject({ status: 200, task: { due_date: day(16), completed_occurrences: 1 } });
    } finally {
      clock.advance(-delta);
    }
  });

  it('leaves a series that ends (COUNT) or whose list reaches far enough', async () => {
    const user = await userIn('UTC');
    const ending = await as(app, user.token).post('/api/v1/tasks', {
      title: 'Three times',
      due_date: day(5),
      recurrence: 'FREQ=DAILY;COUNT=3',
    });
    const weekly = await as(app, user.token).post('/api/v1/tasks', {
      title: 'Weekly',
      due_date: day(5),
      recurrence: 'FREQ=WEEKLY',
    });
    const ids = [(await ending.json<TaskBody>()).id, (await weekly.json<TaskBody>()).id];
    const before =
      await app.sql`select id, recurrence_upcoming::text as list from tasks where id = any(${ids}) order by id`;
    await worker.scheduled(
      createScheduledController({ cron: '* * * * *', scheduledTime: Date.parse(day(6, '12:00')) }),
      app.env,
    );
    expect(
      await app.sql`select id, recurrence_upcoming::text as list from tasks where id = any(${ids}) order by id`,
    ).toEqual(before);
  });
});
