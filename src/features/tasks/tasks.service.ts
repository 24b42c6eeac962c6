import type { z } from '@hono/zod-openapi';
import { sql, type SQL } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { commitChangeSeq, lockUser, nextChangeSeq, TASK_JSON, versionMatches } from '../../db/sql.ts';
import { taskListStatement, type TaskListRow } from '../../db/task-queries.ts';
import { sqlState } from '../../db/errors.ts';
import { AppError } from '../../lib/errors.ts';
import { staleVersion, type VersionCheck } from '../../lib/etag.ts';
import { MAX_LIVE_TASKS_PER_USER } from '../../lib/limits.ts';
import { checkOwner, notFound } from '../../lib/ownership.ts';
import { decodeListCursor, encodeListCursor } from './tasks.cursor.ts';
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
    if (sqlState(error) === '22003') {
      throw new AppError(
        'CONFLICT',
        `The task is at the highest version (${MAX_TASK_VERSION}) and cannot change any more. Create a new task instead.`,
        { extensions: { current_version: MAX_TASK_VERSION } },
      );
    }
    throw error;
  }
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
  // The cap's count must see every create committed before this one: the user's row lock is taken
  // by a statement of its own, so the count that follows (a new snapshot) comes after it.
  const [, result] = await deps.db.batch([
    lockUser(deps, userId),
    deps.db.execute<{ task: TaskJson | null }>(sql`
    with seq as (${nextChangeSeq(userId)}),
    inserted as (
      insert into tasks (id, user_id, title, description, priority, due_date, created_at, updated_at, change_seq)
      select ${deps.ids.uuid()}, ${userId}, ${input.title}, ${input.description ?? null}, ${input.priority}::task_priority,
             ${input.due_date ?? null}::timestamptz, ${now}, ${now}, (select seq from seq)
       where (select count(*) from tasks where user_id = ${userId} and deleted_at is null) < ${MAX_LIVE_TASKS_PER_USER}
      returning *
    ),
    committed as (${commitChangeSeq(userId, 'inserted')})
    select (select ${TASK_JSON} from inserted t) as task`),
  ]);
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
}

/**
 * Optimistic locking: the update applies only if the version is the expected one, then increments
 * it. N concurrent PATCHes with the same version: the row lock serialises them and exactly one
 * matches.
 */
export async function updateTask(
  deps: Deps,
  userId: string,
  taskId: string,
  changes: TaskChanges,
  check: VersionCheck,
): Promise<TaskJson> {
  const now = deps.clock.now();
  assertFuture(changes.due_date, now);
  const sets: SQL[] = [sql`version = t.version + 1`, sql`updated_at = ${now}`, sql`change_seq = (select seq from seq)`];
  if (changes.title !== undefined) sets.push(sql`title = ${changes.title}`);
  if (changes.description !== undefined) sets.push(sql`description = ${changes.description}`);
  if (changes.due_date !== undefined) sets.push(sql`due_date = ${changes.due_date}::timestamptz`);
  if (changes.priority !== undefined) sets.push(sql`priority = ${changes.priority}::task_priority`);
  if (changes.status !== undefined) sets.push(sql`status = ${changes.status}::task_status`);

  const result = await movingVersions(
    deps.db.execute<{
      owner: string | null;
      current_version: number | null;
      task: TaskJson | null;
    }>(sql`
    with seq as (${nextChangeSeq(userId)}),
    -- Whose task it is, read without a lock: another user's row is never locked by this caller.
    owner as (select user_id from tasks where id = ${taskId} and deleted_at is null),
    -- FOR UPDATE, on the caller's own row only: after waiting on a concurrent writer, this reads the
    -- version it committed, so a 409 reports the version that is current now.
    target as (
      select version from tasks
       where id = ${taskId} and user_id = ${userId} and deleted_at is null and (select seq from seq) > 0
      for update
    ),
    updated as (
      update tasks t set ${sql.join(sets, sql`, `)}
       where t.id = ${taskId} and t.user_id = ${userId} and t.deleted_at is null and ${versionMatches(sql`t.version`, check)}
         and (select seq from seq) > 0
      returning t.*
    ),
    committed as (${commitChangeSeq(userId, 'updated')})
    select (select user_id from owner) as owner,
           (select version from target) as current_version,
           (select ${TASK_JSON} from updated t) as task`),
  );
  const row = result.rows[0];
  checkOwner(row?.owner, userId, 'task');
  // The version moved on (or the task was deleted meanwhile): say which version is current.
  if (!row?.task) throw staleVersion('task', check, row?.current_version);
  return row.task;
}

/** Moves a task to the trash; with an If-Match, only if it is still the version the client read. */
export async function deleteTask(
  deps: Deps,
  userId: string,
  taskId: string,
  check: VersionCheck | undefined,
): Promise<void> {
  const now = deps.clock.now();
  const result = await movingVersions(
    deps.db.execute<{ owner: string | null; current_version: number | null; deleted: number }>(sql`
    with seq as (${nextChangeSeq(userId)}),
    owner as (select user_id from tasks where id = ${taskId} and deleted_at is null),
    target as (
      select version from tasks
       where id = ${taskId} and user_id = ${userId} and deleted_at is null and (select seq from seq) > 0
      for update
    ),
    deleted as (
      update tasks t set deleted_at = ${now}, updated_at = ${now}, version = t.version + 1, change_seq = (select seq from seq)
       where t.id = ${taskId} and t.user_id = ${userId} and t.deleted_at is null and ${versionMatches(sql`t.version`, check)}
         and (select seq from seq) > 0
      returning t.id
    ),
    committed as (${commitChangeSeq(userId, 'deleted')})
    select (select user_id from owner) as owner, (select version from target) as current_version,
           (select count(*) from deleted)::int as deleted`),
  );
  const row = result.rows[0];
  checkOwner(row?.owner, userId, 'task');
  if (row?.deleted === 1) return;
  // Deleted by a concurrent request in between: it is gone either way. Otherwise the version moved.
  if (check && row?.current_version != null) throw staleVersion('task', check, row.current_version);
  throw notFound('task');
}

/**
 * Takes a task out of the trash. Restoring a task that is not in the trash changes nothing and
 * answers with it (a retried restore succeeds); a purged task is gone (404).
 */
export async function restoreTask(
  deps: Deps,
  userId: string,
  taskId: string,
  check: VersionCheck | undefined,
): Promise<TaskJson> {
  const now = deps.clock.now();
  const [, result] = await movingVersions(
    // Restoring counts toward the cap too: the user's row lock first, as in createTask.
    deps.db.batch([
      lockUser(deps, userId),
      deps.db.execute<{
        owner: string | null;
        current_version: number | null;
        in_trash: boolean | null;
        version_holds: boolean | null;
        task: TaskJson | null;
        current: TaskJson | null;
      }>(sql`
    with seq as (${nextChangeSeq(userId)}),
    owner as (select user_id from tasks where id = ${taskId}),
    target as (
      select version, deleted_at is not null as in_trash from tasks
       where id = ${taskId} and user_id = ${userId} and (select seq from seq) > 0
      for update
    ),
    restored as (
      update tasks t set deleted_at = null, updated_at = ${now}, version = t.version + 1, change_seq = (select seq from seq)
       where t.id = ${taskId} and t.user_id = ${userId} and t.deleted_at is not null and ${versionMatches(sql`t.version`, check)}
         and (select seq from seq) > 0
         and (select count(*) from tasks where user_id = ${userId} and deleted_at is null) < ${MAX_LIVE_TASKS_PER_USER}
      returning t.*
    ),
    committed as (${commitChangeSeq(userId, 'restored')})
    select (select user_id from owner) as owner,
           (select version from target) as current_version,
           (select in_trash from target) as in_trash,
           (select ${versionMatches(sql`t.version`, check)} from target t) as version_holds,
           (select ${TASK_JSON} from restored t) as task,
           (select ${TASK_JSON} from tasks t where t.id = ${taskId} and t.user_id = ${userId}) as current`),
    ]),
  );
  const row = result.rows[0];
  checkOwner(row?.owner, userId, 'task');
  if (row?.task) return row.task;
  if (row?.version_holds === false) throw staleVersion('task', check, row.current_version);
  if (row?.in_trash === false && row.current) return row.current;
  throw new AppError(
    'LIMIT_REACHED',
    `You have ${MAX_LIVE_TASKS_PER_USER} tasks, the most one account may keep. Delete some before restoring this one.`,
  );
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

/**
 * Permanently deletes tasks that have been in the trash longer than the retention period, and
 * link tombstones as old, and records per user the newest change number whose tombstone went, so
 * a client whose cursor is older syncs from scratch (410) instead of keeping a ghost.
 * Two statements in one transaction, the sync-state rows locked first like every task write.
 */
export async function purgeTrash(deps: Deps, retentionDays: number): Promise<{ tasks: number; links: number }> {
  const cutoff = new Date(deps.clock.now().getTime() - retentionDays * 86_400_000);
  const [, purged] = await deps.sql.transaction((tx) => [
    tx`
      with expired as (
        select user_id, max(change_seq) as seq from tasks where deleted_at < ${cutoff} group by user_id
        union all
        select user_id, max(change_seq) from task_link_removals where removed_at < ${cutoff} group by user_id
      ),
      per_user as (select user_id, max(seq) as seq from expired group by user_id)
      insert into task_sync_state as s (user_id, purged_seq)
      select user_id, seq from per_user
      on conflict (user_id) do update set purged_seq = greatest(s.purged_seq, excluded.purged_seq)`,
    tx`
      with tasks_gone as (delete from tasks where deleted_at < ${cutoff} returning id),
      links_gone as (delete from task_link_removals where removed_at < ${cutoff} returning task_id)
      select (select count(*) from tasks_gone)::int as tasks, (select count(*) from links_gone)::int as links`,
  ]);
  const counts = (purged as { tasks: number; links: number }[])[0];
  return { tasks: counts?.tasks ?? 0, links: counts?.links ?? 0 };
}
