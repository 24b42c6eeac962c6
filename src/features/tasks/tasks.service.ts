import { sql, type SQL } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { TASK_JSON } from '../../db/sql.ts';
import { taskListStatement, type TaskListRow } from '../../db/task-queries.ts';
import { AppError } from '../../lib/errors.ts';
import { decodeCursor, encodeCursor } from './tasks.cursor.ts';
import { RELEVANCE, type ListTasksQuery, type TaskJson } from './tasks.schemas.ts';

/**
 * Tasks, one Neon round trip per operation: every read and write is a single statement whose CTEs
 * also tell a missing task (404) from another user's (403), and a stale version (409) from success.
 * Soft-deleted tasks are invisible everywhere.
 */

/** A cap per user against abuse; far above what a person keeps. */
export const MAX_LIVE_TASKS_PER_USER = 10_000;

type Owned = {
  owner: string | null;
  task: TaskJson | null;
};

function notFound(): AppError {
  return new AppError('NOT_FOUND', 'No such task.');
}

function forbidden(): AppError {
  return new AppError('FORBIDDEN', 'This task belongs to another user.');
}

/** 404 when it does not exist (or is deleted), 403 when it is someone else's. */
function checkOwner(owner: string | null, userId: string): void {
  if (owner === null) throw notFound();
  if (owner !== userId) throw forbidden();
}

function assertFuture(dueDate: string | null | undefined, now: Date): void {
  if (dueDate && Date.parse(dueDate) <= now.getTime()) {
    throw new AppError('VALIDATION_FAILED', 'One or more fields are invalid.', {
      errors: [{ pointer: '/body/due_date', message: 'Must be in the future' }],
    });
  }
}

export async function createTask(
  deps: Deps,
  userId: string,
  input: {
    title: string;
    description?: string | null | undefined;
    due_date?: string | null | undefined;
    priority: string;
  },
): Promise<TaskJson> {
  const now = deps.clock.now();
  assertFuture(input.due_date, now);
  const result = await deps.db.execute<{ task: TaskJson | null }>(sql`
    with inserted as (
      insert into tasks (id, user_id, title, description, priority, due_date, created_at, updated_at)
      select ${deps.ids.uuid()}, ${userId}, ${input.title}, ${input.description ?? null}, ${input.priority}::task_priority,
             ${input.due_date ?? null}::timestamptz, ${now}, ${now}
       where (select count(*) from tasks where user_id = ${userId} and deleted_at is null) < ${MAX_LIVE_TASKS_PER_USER}
      returning *
    )
    select (select ${TASK_JSON} from inserted t) as task`);
  const task = result.rows[0]?.task;
  if (!task) {
    throw new AppError(
      'LIMIT_REACHED',
      `You have ${MAX_LIVE_TASKS_PER_USER} tasks, the most one account may keep. Delete some first.`,
    );
  }
  // Created this instant, so no category yet: the JSON built from the inserted row is complete.
  return task;
}

export async function getTask(deps: Deps, userId: string, taskId: string): Promise<TaskJson> {
  const result = await deps.db.execute<Owned>(sql`
    select t.user_id as owner, case when t.user_id = ${userId} then ${TASK_JSON} end as task
      from tasks t where t.id = ${taskId} and t.deleted_at is null`);
  const row = result.rows[0];
  checkOwner(row?.owner ?? null, userId);
  if (!row?.task) throw notFound();
  return row.task;
}

export interface TaskPage {
  items: TaskJson[];
  total: number;
  page: number | null;
  limit: number;
  next_cursor: string | null;
}

/**
 * A page by offset (`page`) or by keyset (`cursor`); either way `next_cursor` continues from its
 * last task. The sort defaults to relevance when searching.
 */
export async function listTasks(deps: Deps, userId: string, query: ListTasksQuery): Promise<TaskPage> {
  const sort = query.sort ?? (query.q !== undefined ? RELEVANCE : '-created_at');
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor, sort, query.q);
  const page = after ? null : (query.page ?? 1);
  const result = await deps.db.execute<TaskListRow<TaskJson>>(
    taskListStatement(userId, { ...query, sort, page, after }),
  );
  const row = result.rows[0];
  const last = row?.last;
  return {
    items: row?.items ?? [],
    total: row?.total ?? 0,
    page,
    limit: query.limit,
    next_cursor: last ? encodeCursor(sort, { key: last[0], id: last[1] }, query.q) : null,
  };
}

export interface TaskChanges {
  title?: string | undefined;
  description?: string | null | undefined;
  due_date?: string | null | undefined;
  priority?: string | undefined;
  status?: string | undefined;
  version: number;
}

/**
 * Optimistic locking: the update applies only if `version` is the current one, then increments it.
 * N concurrent PATCHes with the same version: the row lock serialises them and exactly one matches.
 */
export async function updateTask(deps: Deps, userId: string, taskId: string, changes: TaskChanges): Promise<TaskJson> {
  const now = deps.clock.now();
  assertFuture(changes.due_date, now);
  const sets: SQL[] = [sql`version = t.version + 1`, sql`updated_at = ${now}`];
  if (changes.title !== undefined) sets.push(sql`title = ${changes.title}`);
  if (changes.description !== undefined) sets.push(sql`description = ${changes.description}`);
  if (changes.due_date !== undefined) sets.push(sql`due_date = ${changes.due_date}::timestamptz`);
  if (changes.priority !== undefined) sets.push(sql`priority = ${changes.priority}::task_priority`);
  if (changes.status !== undefined) sets.push(sql`status = ${changes.status}::task_status`);

  const result = await deps.db.execute<{
    owner: string | null;
    current_version: number | null;
    task: TaskJson | null;
  }>(sql`
    -- FOR UPDATE: after waiting on a concurrent writer, this reads the version it committed, so a
    -- 409 reports the version that is current now, not the one this statement's snapshot saw.
    with target as (select user_id, version from tasks where id = ${taskId} and deleted_at is null for update),
    updated as (
      update tasks t set ${sql.join(sets, sql`, `)}
       where t.id = ${taskId} and t.user_id = ${userId} and t.deleted_at is null and t.version = ${changes.version}
      returning t.*
    )
    select (select user_id from target) as owner,
           (select version from target) as current_version,
           (select ${TASK_JSON} from updated t) as task`);
  const row = result.rows[0];
  checkOwner(row?.owner ?? null, userId);
  if (!row?.task) {
    // The version moved on (or the task was deleted meanwhile): say which version is current.
    throw new AppError('CONFLICT', 'The task changed since you read it. Read it again and reapply your change.', {
      extensions: { current_version: row?.current_version },
    });
  }
  return row.task;
}

export async function deleteTask(deps: Deps, userId: string, taskId: string): Promise<void> {
  const now = deps.clock.now();
  const result = await deps.db.execute<{ owner: string | null; deleted: number }>(sql`
    with target as (select user_id from tasks where id = ${taskId} and deleted_at is null),
    deleted as (
      update tasks set deleted_at = ${now}, updated_at = ${now}, version = version + 1
       where id = ${taskId} and user_id = ${userId} and deleted_at is null
      returning id
    )
    select (select user_id from target) as owner, (select count(*) from deleted)::int as deleted`);
  const row = result.rows[0];
  checkOwner(row?.owner ?? null, userId);
  // Deleted by a concurrent request in between: it is gone either way.
  if (row?.deleted !== 1) throw notFound();
}
