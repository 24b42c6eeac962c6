import { sql, type SQL } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { nextPosition, positionBetween, previousPosition } from '../../db/positions.ts';
import { commitChangeSeq, nextChangeSeq, TASK_JSON, versionMatches } from '../../db/sql.ts';
import { runWrite, type Write, type WriteOptions } from '../../db/write.ts';
import { AppError } from '../../lib/errors.ts';
import { staleVersion, type VersionCheck } from '../../lib/etag.ts';
import { MAX_POSITION_LENGTH, MAX_TASK_DEPTH } from '../../lib/limits.ts';
import { checkOwner } from '../../lib/ownership.ts';
import type { TaskJson } from './tasks.schemas.ts';
import { movingVersions, PARENT_POINTER, refuseDepth, refuseParent, type ParentFound } from './tasks.service.ts';

/**
 * Moving a task: to another parent, to another place among its siblings, or both
 * (docs/decisions/0027). One Neon round trip, the user's row lock first, so the neighbours' keys
 * are read after every earlier write of the user committed: two moves into the same gap, sent in
 * parallel, get two different keys, one after the other.
 */

export interface Move {
  /** The new parent; null: the top level; absent: the neighbour's parent, else the current one. */
  parent_id?: string | null | undefined;
  /** Go right before this sibling. */
  before?: string | undefined;
  /** Go right after this sibling. Neither: last among the siblings. */
  after?: string | undefined;
}

type Found = ParentFound & {
  owner: string | null;
  current_version: number | null;
  version_holds: boolean | null;
  neighbour_owner: string | null;
  neighbour_in_trash: boolean | null;
  /** Whether the neighbour is a live sibling under the new parent. */
  neighbour_placed: boolean | null;
  cycle: boolean;
  /** Levels of the task's subtree, itself included. */
  height: number | null;
  has_parent: boolean;
  key_length: number | null;
  task: TaskJson | null;
};

function invalidField(pointer: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', 'One or more fields are invalid.', { errors: [{ pointer, message }] });
}

/**
 * Writes the task's new parent and position, with a new version and the change number. Only that
 * row changes, and, when the parent changes, the old and the new parent (their subtask_count), which
 * get a new version like any parent gaining or losing a subtask. The siblings keep their keys.
 */
export async function moveTask(
  deps: Deps,
  userId: string,
  taskId: string,
  move: Move,
  check: VersionCheck | undefined,
): Promise<TaskJson> {
  return movingVersions(runWrite(deps, userId, moveTaskWrite(deps, userId, taskId, move, check)));
}

export function moveTaskWrite(
  deps: Deps,
  userId: string,
  taskId: string,
  move: Move,
  check: VersionCheck | undefined,
  options: WriteOptions = {},
): Write<Found, TaskJson> {
  const neighbourField = move.before !== undefined ? 'before' : 'after';
  const neighbourId = move.before ?? move.after ?? null;
  if (move.parent_id === taskId) throw invalidField(PARENT_POINTER, 'A task cannot be its own subtask');
  if (neighbourId === taskId) {
    throw invalidField(`/body/${neighbourField}`, `A task cannot go ${neighbourField} itself`);
  }
  const now = deps.clock.now();
  const task = sql`${taskId}::uuid`;
  const parent: SQL =
    move.parent_id !== undefined
      ? sql`${move.parent_id}::uuid`
      : neighbourId !== null
        ? sql`(select parent_id from neighbour)`
        : sql`(select parent_id from target)`;
  const destination = sql`(select parent_id from destination)`;
  const neighbourKey = sql`(select position from neighbour)`;
  // Between the neighbour and the sibling on its other side, the task itself left out.
  const [before, after] =
    neighbourId === null
      ? [previousPosition(userId, destination, task, null), sql`null`]
      : move.before !== undefined
        ? [previousPosition(userId, destination, task, neighbourKey), neighbourKey]
        : [neighbourKey, nextPosition(userId, destination, task, neighbourKey)];

  return {
    locked: true,
    ctes: sql`seq as (${nextChangeSeq(userId, options.unlessRecorded)}),
    target as (select user_id, parent_id, version from tasks where id = ${task} and deleted_at is null),
    neighbour as (
      select user_id, parent_id, position, deleted_at is not null as in_trash from tasks where id = ${neighbourId}::uuid
    ),
    destination as (select ${parent} as parent_id),
    parent as (select user_id, deleted_at is not null as in_trash from tasks where id = ${destination}),
    -- The new parent and every task above it: a cycle if the task is among them. UNION ends the
    -- walk even on a cycle, which no write can make.
    ancestors(id, parent_id) as (
      select id, parent_id from tasks where id = ${destination}
      union
      select a.id, a.parent_id from tasks a join ancestors d on a.id = d.parent_id
    ),
    -- The task and its live subtasks at every level, with their depth below it (1: the task).
    subtree(id, depth) as (
      select id, 1 from tasks where id = ${task} and user_id = ${userId} and deleted_at is null
      union
      select c.id, s.depth + 1 from tasks c join subtree s on c.parent_id = s.id
       where c.deleted_at is null and s.depth <= ${MAX_TASK_DEPTH}
    ),
    facts as (
      select (select user_id from target) as owner,
             (select version from target) as current_version,
             (select ${versionMatches(sql`t.version`, check)} from target t) as version_holds,
             ${destination} is not null as has_parent,
             (select user_id from parent) as parent_owner,
             (select in_trash from parent) as parent_in_trash,
             (select count(*) from ancestors)::int as parent_level,
             exists (select 1 from ancestors where id = ${task}) as cycle,
             (select max(depth) from subtree)::int as height,
             (select user_id from neighbour) as neighbour_owner,
             (select in_trash from neighbour) as neighbour_in_trash,
             (select not in_trash and user_id = ${userId} and parent_id is not distinct from ${destination} from neighbour)
               as neighbour_placed
    ),
    checked as (
      select *,
             (${destination} is null or (parent_owner = ${userId} and not parent_in_trash and not cycle
               and parent_level + height <= ${MAX_TASK_DEPTH})) as parent_ok,
             (${neighbourId === null ? sql`true` : sql`coalesce(neighbour_placed, false)`}) as neighbour_ok
        from facts
    ),
    -- Computed only for a move that may happen: the function refuses bounds out of order, which a
    -- refused neighbour could give.
    key as (
      select case when (select owner from checked) = ${userId} and (select version_holds from checked)
                   and (select parent_ok from checked) and (select neighbour_ok from checked)
             then ${positionBetween(before, after)} end as position
    ),
    placed as (
      update tasks t set parent_id = ${destination}, position = (select position from key), version = t.version + 1,
             updated_at = ${now}, change_seq = (select seq from seq)
       where t.id = ${task} and t.user_id = ${userId} and t.deleted_at is null
         and (select position from key) is not null and char_length((select position from key)) <= ${MAX_POSITION_LENGTH}
         and (select seq from seq) > 0
      returning t.*
    ),
    -- The old and the new parent each gain or lose a subtask (when they differ).
    parents_bumped as (
      update tasks p set version = p.version + 1, updated_at = ${now}, change_seq = (select seq from seq)
       where p.id in ((select parent_id from target), ${destination}) and p.user_id = ${userId} and p.deleted_at is null
         and (select parent_id from target) is distinct from ${destination}
         and exists (select 1 from placed) and (select seq from seq) > 0
    ),
    committed as (${commitChangeSeq(userId, 'placed')})`,
    select: sql`c.*, char_length((select position from key))::int as key_length,
           (select ${TASK_JSON} from placed t) as task
      from checked c`,
    applied: sql`exists (select 1 from placed)`,
    answer: (row) => placedTask(row, userId, neighbourId === null ? null : neighbourField, check),
  };
}

/** The moved task, or why it could not move, in the order a client would fix things. */
function placedTask(
  row: Found | undefined,
  userId: string,
  neighbourField: 'before' | 'after' | null,
  check: VersionCheck | undefined,
): TaskJson {
  checkOwner(row?.owner, userId, 'task');
  if (!row) throw new Error('the move statement returned no row');
  if (neighbourField !== null) refuseNeighbour(row, userId, neighbourField);
  if (row.has_parent) {
    refuseParent(row, userId);
    if (row.cycle) {
      throw new AppError('CONFLICT', 'A task cannot move under one of its own subtasks.', {
        errors: [{ pointer: PARENT_POINTER, message: 'A subtask of the task moved' }],
      });
    }
    refuseDepth(row.parent_level ?? 0, row.height ?? 1);
  }
  if (neighbourField !== null && !row.neighbour_placed) {
    throw new AppError(
      'CONFLICT',
      `The ${neighbourField === 'before' ? 'task to go before' : 'task to go after'} is not a sibling under the new parent: ` +
        'send the parent_id it has, or leave parent_id out to go beside it.',
      { errors: [{ pointer: `/body/${neighbourField}`, message: 'Not under the parent the task moves to' }] },
    );
  }
  if (!row.version_holds) throw staleVersion('task', check, row.current_version);
  if (!row.task) {
    throw new AppError(
      'CONFLICT',
      `No room left between these two tasks: their place has been split too often (keys are at most ${MAX_POSITION_LENGTH} characters). Move one of them elsewhere first.`,
      { errors: [{ pointer: `/body/${neighbourField ?? 'after'}`, message: 'No room left at this place' }] },
    );
  }
  return row.task;
}

/** 404 for a neighbour that does not exist or is deleted, 403 for another user's. */
function refuseNeighbour(row: Found, userId: string, field: 'before' | 'after'): void {
  const pointer = `/body/${field}`;
  const owner = row.neighbour_owner;
  if (!owner || (owner !== userId && row.neighbour_in_trash)) {
    throw new AppError('NOT_FOUND', 'No such task to go beside.', { errors: [{ pointer, message: 'No such task' }] });
  }
  if (owner !== userId) {
    throw new AppError('FORBIDDEN', 'The task to go beside belongs to another user.', {
      errors: [{ pointer, message: 'A task of another user' }],
    });
  }
  if (row.neighbour_in_trash) {
    throw new AppError('NOT_FOUND', 'The task to go beside is in the trash.', {
      errors: [{ pointer, message: 'This task is in the trash' }],
    });
  }
}
