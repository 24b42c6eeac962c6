import type { z } from '@hono/zod-openapi';
import { sql, type SQL } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import {
  commitChangeSeq,
  isoTimestamp,
  NEW_TASK_JSON,
  newTaskJsonWith,
  taskJsonWith,
  nextChangeSeq,
  TASK_JSON,
  versionMatches,
} from '../../db/sql.ts';
import { runWrite, type Write, type WriteOptions } from '../../db/write.ts';
import { lastPosition } from '../../db/positions.ts';
import { taskListStatement, type TaskListRow } from '../../db/task-queries.ts';
import { sqlState } from '../../db/errors.ts';
import { AppError } from '../../lib/errors.ts';
import { staleVersion, type VersionCheck } from '../../lib/etag.ts';
import { MAX_LIVE_TASKS_PER_USER, MAX_TASK_DEPTH } from '../../lib/limits.ts';
import { checkOwner, notFound, owned } from '../../lib/ownership.ts';
import { decodeListCursor, encodeListCursor } from './tasks.cursor.ts';
import { addReminders, refusePastReminders, updateReminders, withIds, type ReminderInput } from './tasks.reminders.ts';
import {
  computeSchedule,
  planSeries,
  SchedulePending,
  scheduleColumns,
  seriesAfter,
  userZone,
  type ComputedSchedule,
  type SeriesChange,
  type SeriesFound,
} from './tasks.recurrence.ts';
import { RELEVANCE, type ListTasksQuery, type TaskJson, type TaskPageSchema } from './tasks.schemas.ts';

/**
 * Tasks, one Neon round trip per operation: every read and write is a single statement whose CTEs
 * also tell a missing task (404) from another user's (403), and a stale version (409/412) from
 * success. Soft-deleted tasks are invisible everywhere but the trash and the sync feed. Every write
 * takes the user's next change number first (nextChangeSeq), stamps it on the rows it changes, and
 * consumes it only if it changed something (commitChangeSeq).
 */

export { MAX_LIVE_TASKS_PER_USER };

/**
 * Every visible change moves a task's version, an int4: at 2^31-1 it cannot move again and Postgres
 * raises 22003. That takes two billion writes (decades at the per-user rate limit), so the task
 * simply refuses further changes with a clear 409 rather than widening the column and every ETag.
 */
export const MAX_TASK_VERSION = 2_147_483_647;

/** Runs a statement that moves task versions, answering 409 instead of 500 at the highest one. */
export async function movingVersions<T>(statement: PromiseLike<T>): Promise<T> {
  try {
    return await statement;
  } catch (error) {
    throw highestVersion(error) ?? error;
  }
}

/** The 409 for a statement that failed because a task is at the highest version, or null. */
export function highestVersion(error: unknown): AppError | null {
  if (sqlState(error) !== '22003') return null;
  return new AppError(
    'CONFLICT',
    `The task is at the highest version (${MAX_TASK_VERSION}) and cannot change any more. Create a new task instead.`,
    { extensions: { current_version: MAX_TASK_VERSION } },
  );
}

type Owned = {
  owner: string | null;
  task: TaskJson | null;
};

function assertFuture(dueDate: string | null | undefined, now: Date): void {
  if (dueDate && Date.parse(dueDate) <= now.getTime()) {
    throw new AppError('VALIDATION_FAILED', 'One or more fields are invalid.', {
      errors: [{ pointer: '/body/due_date', message: 'Must be in the future' }],
    });
  }
}

/** What a statement found of the parent a task is to go under. */
export type ParentFound = {
  parent_owner: string | null;
  parent_in_trash: boolean | null;
  /** The parent's level: 1 for a top-level task, counting the ancestors above it. */
  parent_level: number | null;
};

export const PARENT_POINTER = '/body/parent_id';

/**
 * Why a task cannot go under the parent asked for, in the contract's words: 404 for a parent that
 * does not exist or is deleted (trash included, as on every route), 403 for another user's. Each
 * names the field.
 */
export function refuseParent(found: ParentFound | undefined, userId: string): void {
  const owner = found?.parent_owner;
  if (!owner || (owner !== userId && found.parent_in_trash)) {
    throw new AppError('NOT_FOUND', 'No such parent task.', {
      errors: [{ pointer: PARENT_POINTER, message: 'No such task' }],
    });
  }
  if (owner !== userId) {
    throw new AppError('FORBIDDEN', 'The parent task belongs to another user.', {
      errors: [{ pointer: PARENT_POINTER, message: 'A task of another user' }],
    });
  }
  if (found.parent_in_trash) {
    throw new AppError('NOT_FOUND', 'The parent task is in the trash: restore it first.', {
      errors: [{ pointer: PARENT_POINTER, message: 'This task is in the trash' }],
    });
  }
}

/**
 * 409 when a subtree `height` levels tall (1: a task without subtasks) would end deeper than
 * MAX_TASK_DEPTH under a parent at `level`.
 */
export function refuseDepth(level: number, height: number): void {
  if (level + height <= MAX_TASK_DEPTH) return;
  const detail =
    height === 1
      ? `Subtasks nest at most ${MAX_TASK_DEPTH} levels deep, and the parent task is at level ${level}.`
      : `Subtasks nest at most ${MAX_TASK_DEPTH} levels deep: the parent task is at level ${level}, and the task brings ${height} levels (itself and its subtasks).`;
  throw new AppError('CONFLICT', detail, {
    errors: [
      {
        pointer: PARENT_POINTER,
        message:
          height === 1 ? `At level ${level}: it cannot have subtasks` : `At level ${level}: too deep for this task`,
      },
    ],
  });
}

export interface NewTask {
  title: string;
  description?: string | null | undefined;
  due_date?: string | null | undefined;
  priority: string;
  parent_id?: string | null | undefined;
  recurrence?: string | null | undefined;
  reminders?: ReminderInput[] | undefined;
}

const KEEP_SERIES: SeriesChange = { kind: 'keep' };

type CreateRow = ParentFound & { task: TaskJson | null; id_taken: boolean; user_exists: boolean };

/**
 * A new task, top-level or a subtask of `parent_id`, last among its siblings. A subtask changes its
 * parent (its subtask_count), so the parent gets a new version and the same change number, in the
 * same statement.
 */
export async function createTask(
  deps: Deps,
  userId: string,
  input: NewTask,
  zone: string | undefined,
): Promise<TaskJson> {
  const series = await planSeries(input, zone, true);
  return movingVersions(runWrite(deps, userId, createTaskWrite(deps, userId, input, {}, series)));
}

/**
 * The CTEs (each followed by a comma) that read the parent a new task is to go under: `parent`
 * (user_id, in_trash, level), no row for a top-level task. Read after the user's lock, so a parent
 * deleted by a request that held the lock before is seen in the trash. The level counts the
 * ancestors above it (UNION ends the walk even on a cycle, which no write can make).
 */
export function parentFacts(parentId: string | null): SQL {
  return parentId === null
    ? sql`parent as (select null::uuid as user_id, null::boolean as in_trash, null::int as level where false),`
    : sql`ancestors(id, parent_id) as (
          select id, parent_id from tasks where id = ${parentId}
          union
          select a.id, a.parent_id from tasks a join ancestors d on a.id = d.parent_id
        ),
        parent as (
          select user_id, deleted_at is not null as in_trash, (select count(*) from ancestors)::int as level
            from tasks where id = ${parentId}
        ),`;
}

/** Whether the parent read by parentFacts may take a new subtask (always, at the top level). */
export function parentAccepts(userId: string, parentId: string | null): SQL {
  return parentId === null
    ? sql`true`
    : sql`exists (select 1 from parent where user_id = ${userId} and not in_trash and level < ${MAX_TASK_DEPTH})`;
}

export function createTaskWrite(
  deps: Deps,
  userId: string,
  input: NewTask,
  options: WriteOptions = {},
  series: SeriesChange = KEEP_SERIES,
): Write<CreateRow, TaskJson> {
  const now = deps.clock.now();
  assertFuture(input.due_date, now);
  refusePastReminders(input.reminders, now);
  const repeats = series.kind === 'start' ? series : null;
  const schedule = scheduleColumns(userId, repeats?.schedule ?? null);
  const reminders = input.reminders?.length
    ? addReminders(
        userId,
        withIds(input.reminders, () => deps.ids.uuid()),
      )
    : null;
  const taskJson = reminders ? newTaskJsonWith(reminders.json) : NEW_TASK_JSON;
  const id = options.id ?? deps.ids.uuid();
  const parentId = input.parent_id ?? null;
  const parentCtes = parentFacts(parentId);
  const parentHolds = parentAccepts(userId, parentId);
  // The cap's count must see every create committed before this one: the user's row lock is taken
  // by a statement of its own (locked), so the count that follows (a new snapshot) comes after it.
  // A batch gives the id (derived from its command id): one taken already is refused, not a 500.
  return {
    locked: true,
    ctes: sql`seq as (${nextChangeSeq(userId, options.unlessRecorded)}),
    ${parentCtes}
    inserted as (
      insert into tasks (id, user_id, parent_id, position, title, description, priority, due_date, created_at, updated_at, change_seq,
                         recurrence, recurrence_start, recurrence_upcoming, recurrence_more, recurrence_zone)
      select ${id}, ${userId}, ${parentId}::uuid, ${lastPosition(userId, parentId)}, ${input.title}, ${input.description ?? null},
             ${input.priority}::task_priority, ${input.due_date ?? null}::timestamptz, ${now}, ${now}, (select seq from seq),
             ${repeats?.rule ?? null}::text, ${repeats?.start ?? null}::timestamptz, ${schedule.upcoming}, ${schedule.more}, ${schedule.zone}
       where ${parentHolds} and (select seq from seq) > 0
         and (select count(*) from tasks where user_id = ${userId} and deleted_at is null) < ${MAX_LIVE_TASKS_PER_USER}
      on conflict (id) do nothing
      returning *
    ),
    parent_bumped as (
      update tasks p set version = p.version + 1, updated_at = ${now}, change_seq = (select seq from seq)
       where p.id = (select parent_id from inserted) and p.user_id = ${userId} and p.deleted_at is null
         and (select seq from seq) > 0
    ),
    ${reminders?.ctes ?? sql``}
    committed as (${commitChangeSeq(userId, 'inserted')})`,
    select: sql`(select user_id from parent) as parent_owner, (select in_trash from parent) as parent_in_trash,
           (select level from parent) as parent_level, (select ${taskJson} from inserted t) as task,
           exists (select 1 from tasks where id = ${id}) as id_taken,
           exists (select 1 from task_sync_state where user_id = ${userId}) as user_exists`,
    applied: sql`exists (select 1 from inserted)`,
    answer: (row) => {
      // A valid token of a deleted account, past a denylist that could not answer (Upstash down).
      if (row && !row.user_exists) throw new AppError('UNAUTHENTICATED', 'The account no longer exists.');
      if (parentId !== null) {
        refuseParent(row, userId);
        refuseDepth(row?.parent_level ?? 0, 1);
      }
      const task = row?.task;
      if (!task && row?.id_taken) {
        throw new AppError('CONFLICT', 'This command id created a task before: give each command an id of its own.');
      }
      if (!task) {
        throw new AppError(
          'LIMIT_REACHED',
          `You have ${MAX_LIVE_TASKS_PER_USER} tasks, the most one account may keep. Delete some first.`,
        );
      }
      // Created this instant, so no category and no subtask yet: the JSON built from the inserted row is complete.
      return task;
    },
  };
}

export async function getTask(deps: Deps, userId: string, taskId: string): Promise<TaskJson> {
  const result = await deps.db.execute<Owned>(sql`
    select t.user_id as owner, case when t.user_id = ${userId} then ${TASK_JSON} end as task
      from tasks t where t.id = ${taskId} and t.deleted_at is null`);
  const row = result.rows[0];
  checkOwner(row?.owner, userId, 'task');
  if (!row?.task) throw notFound('task');
  return row.task;
}

function tooComplex(error: unknown): boolean {
  const code = sqlState(error);
  if (code?.startsWith('54')) return true;
  const cause = error instanceof Error ? error.cause : undefined;
  return code === 'XX000' && cause instanceof Error && /tsquery/.test(cause.message);
}

function searchTooComplex(): AppError {
  return new AppError('VALIDATION_FAILED', 'One or more fields are invalid.', {
    errors: [
      { pointer: '/query/q', message: 'Too complex to search: use fewer operators (such as a run of -) in a row' },
    ],
  });
}

export type TaskPage = z.infer<typeof TaskPageSchema>;

/**
 * A page by offset (`page`) or by keyset (`cursor`); either way `next_cursor` continues from its
 * last task. The sort defaults to relevance when searching.
 */
export async function listTasks(deps: Deps, userId: string, query: ListTasksQuery): Promise<TaskPage> {
  const sort = query.sort ?? (query.q !== undefined ? RELEVANCE : '-created_at');
  const after = query.cursor === undefined ? null : decodeListCursor(query.cursor, sort, query.q);
  const page = after ? null : (query.page ?? 1);
  let result;
  try {
    result = await deps.db.execute<TaskListRow<TaskJson>>(taskListStatement(userId, { ...query, sort, page, after }));
  } catch (error) {
    // websearch_to_tsquery refuses a query that nests too deep, such as a run of 33 or more `-`
    // (each one a NOT): "tsquery is too complex" (54000) or, from the parser's operator stack,
    // "tsquery stack too small" (XX000, an elog). Only `q` reaches the parser.
    if (query.q !== undefined && tooComplex(error)) throw searchTooComplex();
    throw error;
  }
  const row = result.rows[0];
  const last = row?.last;
  return {
    items: row?.items ?? [],
    total: row?.total ?? 0,
    page,
    limit: query.limit,
    next_cursor: last ? encodeListCursor(sort, { key: last[0], id: last[1] }, query.q) : null,
  };
}

export interface TaskChanges {
  title?: string | undefined;
  description?: string | null | undefined;
  due_date?: string | null | undefined;
  priority?: string | undefined;
  status?: string | undefined;
  recurrence?: string | null | undefined;
  reminders?: ReminderInput[] | undefined;
}

/**
 * Optimistic locking: the update applies only if the version is the expected one, then increments
 * it. N concurrent PATCHes with the same version: the row lock serialises them and exactly one
 * matches. Setting status `done` completes the task's open live descendants too, each with a new
 * version and the same change number; that statement comes after the user's row lock, in a batch
 * of its own (one round trip), so it sees every subtask created before it.
 *
 * Completing a recurring task with occurrences left advances it instead (tasks.recurrence.ts):
 * one statement when its schedule is stored, two when the Worker must compute it first.
 */
export async function updateTask(
  deps: Deps,
  userId: string,
  taskId: string,
  changes: TaskChanges,
  check: VersionCheck,
  zone: string | undefined,
  after?: (work: () => Promise<unknown>) => void,
): Promise<TaskJson> {
  const series = await planSeries(changes, zone, false);
  const write = (schedule: ComputedSchedule | null, versionCheck: VersionCheck) =>
    movingVersions(
      runWrite(deps, userId, updateTaskWrite(deps, userId, taskId, changes, versionCheck, {}, series, schedule)),
    );
  let task: WithSeries;
  try {
    task = await write(null, check);
  } catch (error) {
    if (!(error instanceof SchedulePending)) throw error;
    // The version the statement found is the one the client asked for: the second try holds only
    // if nothing changed the task in between (else 409 as for any stale version).
    const { found } = error;
    const schedule = await scheduleFrom(deps.clock.now(), found);
    task = await write(schedule, { from: 'body', version: found.version });
  }
  const short = task.schedule_short;
  if (after && short) after(() => fillSchedule(deps, userId, taskId, short));
  return stripSeries(task);
}

/** What an update's answer carries besides the task when its stored schedule runs short. */
export type WithSeries = TaskJson & { schedule_short?: SeriesFound | null };

export function stripSeries(task: WithSeries): TaskJson {
  const json = { ...task };
  delete json.schedule_short;
  return json;
}

/**
 * The schedule of a series as found: the occurrences after its due date, or after now when that is
 * later (a completion skips missed occurrences, however many: the stored list cannot be all past).
 */
function scheduleFrom(now: Date, found: SeriesFound): Promise<ComputedSchedule> {
  const after = Date.parse(found.due) > now.getTime() ? found.due : now.toISOString();
  return computeSchedule(found.rule, found.start, found.zone, after);
}

/** A stored schedule shorter than this is computed again after the response. */
const REFILL_BELOW = 3;

/**
 * Stores a freshly computed schedule for a series as `found` describes it (after the response,
 * off the request's path). Changes nothing the API shows (no version, no change number), and only
 * if the task, its due date and the user's zone are still what the schedule was computed for.
 */
export async function fillSchedule(deps: Deps, userId: string, taskId: string, found: SeriesFound): Promise<void> {
  const schedule = await scheduleFrom(deps.clock.now(), found);
  const columns = scheduleColumns(userId, schedule);
  await deps.db.execute(sql`
    update tasks set recurrence_upcoming = ${columns.upcoming}, recurrence_more = ${columns.more}, recurrence_zone = ${columns.zone}
     where id = ${taskId} and user_id = ${userId} and version = ${found.version} and recurrence = ${found.rule}
       and due_date = ${found.due}::timestamptz and ${userZone(userId)} = ${found.zone}`);
}

/** Schedules the minute cron refills per run (each costs the engine about a millisecond). */
export const SCHEDULE_REFILL_BATCH = 100;
/** A schedule whose last listed occurrence comes sooner than this is refilled by the cron. */
const SCHEDULE_REFILL_AHEAD_MS = 2 * 86_400_000;

/**
 * The minute cron's part of keeping schedules (docs/decisions/0029): the repeating tasks whose
 * stored occurrences run out within two days while the series goes on, computed again and stored,
 * so a completion sent after days offline (in a batch, which cannot compute) finds its next
 * occurrence listed. Two statements whatever the count; each row is written only if the task, its
 * due date and the user's zone are still what the schedule was computed for.
 */
export async function refillSchedules(deps: Deps, now: Date): Promise<number> {
  const horizon = new Date(now.getTime() + SCHEDULE_REFILL_AHEAD_MS);
  const found = await deps.db.execute<SeriesFound & { id: string; user_id: string }>(sql`
    select t.id, t.user_id, t.recurrence as rule, ${isoTimestamp(sql`t.recurrence_start`)} as start,
           ${isoTimestamp(sql`t.due_date`)} as due, u.time_zone as zone, t.version
      from tasks t join users u on u.id = t.user_id
     where t.recurrence_more and t.deleted_at is null
       and t.recurrence_upcoming[cardinality(t.recurrence_upcoming)] < ${horizon}
     order by t.recurrence_upcoming[cardinality(t.recurrence_upcoming)]
     limit ${SCHEDULE_REFILL_BATCH}`);
  if (found.rows.length === 0) return 0;
  const computed = await Promise.all(found.rows.map((row) => scheduleFrom(now, row)));
  const column = <T>(f: (row: (typeof found.rows)[number], i: number) => T) => sql.param(found.rows.map(f));
  const written = await deps.db.execute<{ n: number }>(sql`
    with input as (
      select * from unnest(${column((r) => r.id)}::uuid[], ${column((r) => r.version)}::int[],
                           ${column((r) => r.due)}::timestamptz[], ${column((r) => r.zone)}::text[],
                           ${column((_, i) => `{${computed[i]!.upcoming.join(',')}}`)}::text[],
                           ${column((_, i) => computed[i]!.more)}::boolean[])
        as i(id, version, due, zone, upcoming, more)
    ),
    refilled as (
      update tasks t set recurrence_upcoming = i.upcoming::timestamptz[], recurrence_more = i.more, recurrence_zone = i.zone
        from input i
       where t.id = i.id and t.version = i.version and t.due_date = i.due
         and (select time_zone from users where id = t.user_id) = i.zone
      returning 1
    )
    select count(*)::int as n from refilled`);
  return written.rows[0]?.n ?? 0;
}

type UpdateRow = {
  owner: string | null;
  current_version: number | null;
  task: TaskJson | null;
  pending: SeriesFound | null;
  short: SeriesFound | null;
};

/** A series as SeriesFound JSON, with the user's zone as it is now. */
function seriesFound(userId: string, series: { rule: SQL; start: SQL; due: SQL; version: SQL }): SQL {
  return sql`json_build_object('rule', ${series.rule}, 'start', ${isoTimestamp(series.start)},
    'due', ${isoTimestamp(series.due)}, 'zone', ${userZone(userId)}, 'version', ${series.version})`;
}

export function updateTaskWrite(
  deps: Deps,
  userId: string,
  taskId: string,
  changes: TaskChanges,
  check: VersionCheck,
  options: WriteOptions = {},
  series: SeriesChange = KEEP_SERIES,
  schedule: ComputedSchedule | null = null,
): Write<UpdateRow, WithSeries> {
  const now = deps.clock.now();
  assertFuture(changes.due_date, now);
  refusePastReminders(changes.reminders, now);
  const completing = changes.status === 'done';
  const next = seriesAfter(userId, series, schedule);
  const replaced = changes.reminders && withIds(changes.reminders, () => deps.ids.uuid());
  // The due date moves when the body sets it or a repeating task goes to its next occurrence.
  const reminders = updateReminders(userId, taskId, replaced, changes.due_date !== undefined || completing);
  const taskJson = reminders ? taskJsonWith(reminders.json) : TASK_JSON;
  const sets: SQL[] = [sql`version = t.version + 1`, sql`updated_at = ${now}`, sql`change_seq = (select seq from seq)`];
  if (changes.title !== undefined) sets.push(sql`title = ${changes.title}`);
  if (changes.description !== undefined) sets.push(sql`description = ${changes.description}`);
  if (changes.priority !== undefined) sets.push(sql`priority = ${changes.priority}::task_priority`);
  const bodyDue = changes.due_date !== undefined ? sql`${changes.due_date}::timestamptz` : sql`t.due_date`;
  // An occurrence completed moves the task to the next one: due date and status come from the step.
  sets.push(sql`due_date = coalesce(s.next, ${bodyDue})`);
  const bodyStatus = changes.status !== undefined ? sql`${changes.status}::task_status` : sql`t.status`;
  sets.push(sql`status = case when s.next is not null then 'todo'::task_status else ${bodyStatus} end`);
  if (series.kind !== 'keep' || schedule !== null || completing) {
    sets.push(
      sql`recurrence = s.rule`,
      sql`recurrence_start = s.start`,
      sql`recurrence_upcoming = case when s.next is not null then array(select x from unnest(s.upcoming) x where x > s.next order by x)
                                     when s.finished then '{}'::timestamptz[] else s.upcoming end`,
      sql`recurrence_more = s.more`,
      sql`recurrence_zone = s.zone`,
      sql`completed_occurrences = t.completed_occurrences + case when s.next is not null or s.finished then 1 else 0 end`,
    );
  }

  // A live task's subtasks that are live form its whole live subtree (a live task's parent is live).
  // They are completed only when the task itself ends done, not when it moves to its next occurrence.
  const completeDescendants = completing
    ? sql`descendants(id) as (
        select id from tasks where parent_id = ${taskId} and user_id = ${userId} and deleted_at is null
        union
        select c.id from tasks c join descendants d on c.parent_id = d.id where c.user_id = ${userId} and c.deleted_at is null
      ),
      completed as (
        update tasks c set status = 'done', version = c.version + 1, updated_at = ${now}, change_seq = (select seq from seq)
         where c.id in (select id from descendants) and c.user_id = ${userId} and c.deleted_at is null
           and c.status <> 'done' and exists (select 1 from updated where status = 'done') and (select seq from seq) > 0
      ),
      recorded as (
        insert into task_completions (id, user_id, task_id, due_date, completed_at)
        select ${deps.ids.uuid()}, ${userId}, ${taskId}, s.due, ${now} from step s
         where (s.next is not null or s.finished) and exists (select 1 from updated) and (select seq from seq) > 0
      ),`
    : sql``;

  return {
    locked: completing,
    ctes: sql`seq as (${nextChangeSeq(userId, options.unlessRecorded)}),
    -- Whose task it is, read without a lock: another user's row is never locked by this caller.
    owner as (select user_id from tasks where id = ${taskId} and deleted_at is null),
    -- FOR UPDATE, on the caller's own row only: after waiting on a concurrent writer, this reads the
    -- row it committed, so a 409 reports the version that is current now, and the series below is
    -- the one this write changes.
    target as (
      select * from tasks
       where id = ${taskId} and user_id = ${userId} and deleted_at is null and (select seq from seq) > 0
      for update
    ),
    plan as (
      select ${next.rule} as rule, ${next.start} as start, ${next.upcoming} as upcoming, ${next.more} as more,
             ${next.zone} as zone, ${bodyDue} as due, t.version,
             ${completing} and t.status <> 'done' and ${next.rule} is not null as advancing,
             ${next.zone} is not distinct from ${userZone(userId)} as zone_holds
        from target t
    ),
    -- Completing an occurrence: the first listed one after now (missed ones are skipped). None left
    -- and none to come: the series is over and the task is done for good. A list that is unknown,
    -- of another zone or used up while the series goes on: nothing is written (see pending).
    step as (
      select p.*, n.next,
             p.advancing and p.zone_holds and p.upcoming is not null and n.next is null and not p.more as finished
        from plan p
        cross join lateral (
          select case when p.advancing and p.zone_holds then (select min(x) from unnest(p.upcoming) x where x > ${now}) end as next
        ) n
    ),
    updated as (
      update tasks t set ${sql.join(sets, sql`, `)}
        from step s
       where t.id = ${taskId} and t.user_id = ${userId} and t.deleted_at is null and ${versionMatches(sql`t.version`, check)}
         and not (s.advancing and s.next is null and not s.finished)
         and (select seq from seq) > 0
      returning t.*
    ),
    ${completeDescendants}
    ${reminders?.ctes ?? sql``}
    committed as (${commitChangeSeq(userId, 'updated')})`,
    select: sql`(select user_id from owner) as owner,
           (select version from target) as current_version,
           (select ${taskJson} from updated t) as task,
           (select ${seriesFound(userId, { rule: sql`s.rule`, start: sql`s.start`, due: sql`s.due`, version: sql`s.version` })} from step s
             where s.advancing and s.next is null and not s.finished and ${versionMatches(sql`s.version`, check)}) as pending,
           (select ${seriesFound(userId, { rule: sql`t.recurrence`, start: sql`t.recurrence_start`, due: sql`t.due_date`, version: sql`t.version` })} from updated t
             where t.recurrence is not null
               and (t.recurrence_upcoming is null or t.recurrence_zone is distinct from ${userZone(userId)}
                    or (t.recurrence_more and cardinality(t.recurrence_upcoming) < ${REFILL_BELOW}))) as short`,
    applied: sql`exists (select 1 from updated)`,
    answer: (row) => {
      checkOwner(row?.owner, userId, 'task');
      if (row?.pending) throw new SchedulePending(row.pending);
      // The version moved on (or the task was deleted meanwhile): say which version is current.
      if (!row?.task) throw staleVersion('task', check, row?.current_version);
      return { ...row.task, schedule_short: row.short };
    },
  };
}

/**
 * Moves a task to the trash with its whole live subtree: every row gets the same deleted_at (what a
 * restore brings back together), a new version and the change number. With an If-Match, only if
 * the task is still the version the client read. A live parent loses a subtask: it gets a new
 * version too. After the user's row lock, so the subtree read includes every subtask created before.
 */
export async function deleteTask(
  deps: Deps,
  userId: string,
  taskId: string,
  check: VersionCheck | undefined,
): Promise<void> {
  return movingVersions(runWrite(deps, userId, deleteTaskWrite(deps, userId, taskId, check)));
}

type DeleteRow = { owner: string | null; current_version: number | null; deleted: number };

export function deleteTaskWrite(
  deps: Deps,
  userId: string,
  taskId: string,
  check: VersionCheck | undefined,
  options: WriteOptions = {},
): Write<DeleteRow, void> {
  const now = deps.clock.now();
  return {
    locked: true,
    ctes: sql`seq as (${nextChangeSeq(userId, options.unlessRecorded)}),
    owner as (select user_id from tasks where id = ${taskId} and deleted_at is null),
    target as (
      select version, parent_id from tasks
       where id = ${taskId} and user_id = ${userId} and deleted_at is null and (select seq from seq) > 0
      for update
    ),
    subtree(id) as (
      select id from tasks
       where id = ${taskId} and user_id = ${userId} and deleted_at is null and ${versionMatches(sql`version`, check)}
      union
      select c.id from tasks c join subtree s on c.parent_id = s.id where c.user_id = ${userId} and c.deleted_at is null
    ),
    deleted as (
      update tasks t set deleted_at = ${now}, updated_at = ${now}, version = t.version + 1, change_seq = (select seq from seq)
       where t.id in (select id from subtree) and t.user_id = ${userId} and t.deleted_at is null
         and (select seq from seq) > 0
      returning t.id
    ),
    parent_bumped as (
      update tasks p set version = p.version + 1, updated_at = ${now}, change_seq = (select seq from seq)
       where p.id = (select parent_id from target) and p.user_id = ${userId} and p.deleted_at is null
         and exists (select 1 from deleted where id = ${taskId}) and (select seq from seq) > 0
    ),
    committed as (${commitChangeSeq(userId, 'deleted')})`,
    select: sql`(select user_id from owner) as owner, (select version from target) as current_version,
           (select count(*) from deleted where id = ${taskId})::int as deleted`,
    applied: sql`exists (select 1 from deleted where id = ${taskId})`,
    answer: (row) => {
      checkOwner(row?.owner, userId, 'task');
      if (row?.deleted === 1) return;
      // Deleted by a concurrent request in between: it is gone either way. Otherwise the version moved.
      if (check && row?.current_version != null) throw staleVersion('task', check, row.current_version);
      throw notFound('task');
    },
  };
}

/**
 * Takes a task out of the trash, with what was deleted with it: the rows of its subtree that carry
 * the same deleted_at. All of them count toward the cap. A subtask whose parent is in the trash
 * cannot come back alone (409: restore the parent first), so a live task's parent is always live.
 * A live parent gains a subtask: it gets a new version. Restoring a task that is not in the trash
 * changes nothing and answers with it (a retried restore succeeds); a purged task is gone (404).
 */
export async function restoreTask(
  deps: Deps,
  userId: string,
  taskId: string,
  check: VersionCheck | undefined,
): Promise<TaskJson> {
  return movingVersions(runWrite(deps, userId, restoreTaskWrite(deps, userId, taskId, check)));
}

type RestoreRow = {
  owner: string | null;
  current_version: number | null;
  in_trash: boolean | null;
  version_holds: boolean | null;
  parent_in_trash: boolean | null;
  task: TaskJson | null;
  restored_subtasks: number;
  current: TaskJson | null;
};

export function restoreTaskWrite(
  deps: Deps,
  userId: string,
  taskId: string,
  check: VersionCheck | undefined,
  options: WriteOptions = {},
): Write<RestoreRow, TaskJson> {
  const now = deps.clock.now();
  // Restoring counts toward the cap too: after the user's row lock, as in createTask.
  return {
    locked: true,
    ctes: sql`seq as (${nextChangeSeq(userId, options.unlessRecorded)}),
    owner as (select user_id from tasks where id = ${taskId}),
    target as (
      select version, parent_id, deleted_at, deleted_at is not null as in_trash from tasks
       where id = ${taskId} and user_id = ${userId} and (select seq from seq) > 0
      for update
    ),
    parent as (select deleted_at is not null as in_trash from tasks where id = (select parent_id from target)),
    subtree(id) as (
      select id from tasks
       where id = ${taskId} and user_id = ${userId} and deleted_at is not null and ${versionMatches(sql`version`, check)}
         and not coalesce((select in_trash from parent), false)
      union
      select c.id from tasks c join subtree s on c.parent_id = s.id
       where c.user_id = ${userId} and c.deleted_at = (select deleted_at from target)
    ),
    -- The task keeps its place among its siblings unless one took its key while it was in the
    -- trash (a task created or moved there meanwhile); then it goes last. Its subtasks keep theirs:
    -- their siblings come back with them or stay in the trash.
    restored as (
      update tasks t set deleted_at = null, updated_at = ${now}, version = t.version + 1, change_seq = (select seq from seq),
             position = case
               when t.id = ${taskId} and exists (
                 select 1 from tasks s
                  where s.user_id = ${userId} and s.deleted_at is null and s.position = t.position
                    and (s.parent_id = t.parent_id or (s.parent_id is null and t.parent_id is null)))
               then ${lastPosition(userId, sql`t.parent_id`)}
               else t.position end
       where t.id in (select id from subtree) and t.user_id = ${userId} and t.deleted_at is not null
         and (select seq from seq) > 0
         and (select count(*) from tasks where user_id = ${userId} and deleted_at is null)
             + (select count(*) from subtree) <= ${MAX_LIVE_TASKS_PER_USER}
      returning t.*
    ),
    parent_bumped as (
      update tasks p set version = p.version + 1, updated_at = ${now}, change_seq = (select seq from seq)
       where p.id = (select parent_id from target) and p.user_id = ${userId} and p.deleted_at is null
         and exists (select 1 from restored where id = ${taskId}) and (select seq from seq) > 0
    ),
    committed as (${commitChangeSeq(userId, 'restored')})`,
    select: sql`(select user_id from owner) as owner,
           (select version from target) as current_version,
           (select in_trash from target) as in_trash,
           (select ${versionMatches(sql`t.version`, check)} from target t) as version_holds,
           (select in_trash from parent) as parent_in_trash,
           (select ${TASK_JSON} from restored t where t.id = ${taskId}) as task,
           (select count(*) from restored where parent_id = ${taskId})::int as restored_subtasks,
           (select ${TASK_JSON} from tasks t where t.id = ${taskId} and t.user_id = ${userId}) as current`,
    // A task not in the trash is answered unchanged: a success too.
    applied: sql`exists (select 1 from restored where id = ${taskId})
      or exists (select 1 from target t where not t.in_trash and ${versionMatches(sql`t.version`, check)})`,
    answer: (row) => {
      checkOwner(row?.owner, userId, 'task');
      // Built from the statement's snapshot, where its subtasks were still in the trash.
      if (row?.task) return { ...row.task, subtask_count: row.task.subtask_count + row.restored_subtasks };
      if (row?.version_holds === false) throw staleVersion('task', check, row.current_version);
      if (row?.in_trash === false && row.current) return row.current;
      if (row?.parent_in_trash) {
        throw new AppError(
          'CONFLICT',
          'Its parent task is in the trash: restore its parent first (that brings back what was deleted with it).',
        );
      }
      throw new AppError(
        'LIMIT_REACHED',
        `You have ${MAX_LIVE_TASKS_PER_USER} tasks, the most one account may keep. Delete some before restoring this one ` +
          '(the subtasks deleted with it come back with it and count too).',
      );
    },
  };
}

/** The trash: deleted tasks, most recently deleted first, until the purge removes them. */
export async function listTrash(
  deps: Deps,
  userId: string,
  query: { page: number; limit: number },
): Promise<{ items: TaskJson[]; total: number; page: number; limit: number }> {
  const offset = (query.page - 1) * query.limit;
  const result = await deps.db.execute<{ total: number; items: TaskJson[] }>(sql`
    with page as (
      select ${TASK_JSON} as task from tasks t
       where t.user_id = ${userId} and t.deleted_at is not null
       order by t.deleted_at desc, t.id desc limit ${query.limit} offset ${offset}
    )
    select (select count(*) from tasks t where t.user_id = ${userId} and t.deleted_at is not null)::int as total,
           coalesce((select json_agg(task) from page), '[]'::json) as items`);
  const row = result.rows[0];
  return { items: row?.items ?? [], total: row?.total ?? 0, page: query.page, limit: query.limit };
}

export interface CompletionPage {
  items: { id: string; due_date: string; completed_at: string }[];
  total: number;
  page: number;
  limit: number;
}

/** A repeating task's completed occurrences, most recent first (a live task's: 404 in the trash). */
export async function listCompletions(
  deps: Deps,
  userId: string,
  taskId: string,
  query: { page: number; limit: number },
): Promise<CompletionPage> {
  const offset = (query.page - 1) * query.limit;
  const result = await deps.db.execute<{ owner: string | null; total: number; items: CompletionPage['items'] }>(sql`
    with owner as (select user_id from tasks where id = ${taskId} and deleted_at is null),
    page as (
      select json_build_object('id', c.id, 'due_date', ${isoTimestamp(sql`c.due_date`)},
                               'completed_at', ${isoTimestamp(sql`c.completed_at`)}) as completion
        from task_completions c
       where c.task_id = ${taskId} and c.user_id = ${userId} and exists (select 1 from owner where user_id = ${userId})
       order by c.completed_at desc, c.id desc limit ${query.limit} offset ${offset}
    )
    select (select user_id from owner) as owner,
           (select count(*) from task_completions where task_id = ${taskId} and user_id = ${userId})::int as total,
           coalesce((select json_agg(completion) from page), '[]'::json) as items`);
  const row = owned(result.rows[0], userId, 'task');
  return { items: row.items, total: row.total, page: query.page, limit: query.limit };
}

/**
 * Permanently deletes tasks that have been in the trash longer than the retention period, with
 * their subtrees (a live task's parent is live, so a purged task's subtasks are in the trash; the
 * foreign key would cascade to them anyway), and link tombstones as old, and records per user the
 * newest change number whose tombstone went, so a client whose cursor is older syncs from scratch
 * (410) instead of keeping a ghost. The subtasks count even when deleted later than their parent
 * (another Worker's clock), so the record never misses a tombstone the cascade removed.
 * Two statements in one transaction, the sync-state rows locked first like every task write.
 */
export async function purgeTrash(deps: Deps, retentionDays: number): Promise<{ tasks: number; links: number }> {
  const cutoff = new Date(deps.clock.now().getTime() - retentionDays * 86_400_000);
  const [, purged] = await deps.sql.transaction((tx) => [
    tx`
      with recursive gone(id) as (
        -- UNION ends the walk even on a cycle, which no write can make.
        select id from tasks where deleted_at < ${cutoff}
        union
        select c.id from tasks c join gone g on c.parent_id = g.id
      ),
      expired as (
        select user_id, max(change_seq) as seq from tasks where id in (select id from gone) group by user_id
        union all
        select user_id, max(change_seq) from task_link_removals where removed_at < ${cutoff} group by user_id
      ),
      per_user as (select user_id, max(seq) as seq from expired group by user_id)
      insert into task_sync_state as s (user_id, purged_seq)
      select user_id, seq from per_user
      on conflict (user_id) do update set purged_seq = greatest(s.purged_seq, excluded.purged_seq)`,
    tx`
      with recursive gone(id) as (
        select id from tasks where deleted_at < ${cutoff}
        union
        select c.id from tasks c join gone g on c.parent_id = g.id
      ),
      tasks_gone as (delete from tasks where id in (select id from gone) returning id),
      links_gone as (delete from task_link_removals where removed_at < ${cutoff} returning task_id)
      select (select count(*) from tasks_gone)::int as tasks, (select count(*) from links_gone)::int as links`,
  ]);
  const counts = (purged as { tasks: number; links: number }[])[0];
  return { tasks: counts?.tasks ?? 0, links: counts?.links ?? 0 };
}
