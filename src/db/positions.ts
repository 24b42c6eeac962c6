import { sql, type SQL } from 'drizzle-orm';

/**
 * Position keys of the manual order (docs/decisions/0027): fractional-indexing keys, computed in
 * the statement that writes them by `task_position_between(a, b)` (migration 0008, a port of
 * fractional-indexing's generateKeyBetween), so a move is one round trip and reads its neighbours
 * under the user's row lock. Every caller runs after lockUser: a key computed here sees every
 * position written before, and live siblings never share one.
 */

/**
 * Whose siblings: a parent's id, null for the top level, or SQL that yields either (a subquery).
 * When the parent is known the statement reads one index; otherwise it has both branches.
 */
export type Parent = string | null | SQL;

/**
 * The positions of a user's live tasks under `parent`, leaving out the task `except`, kept by
 * `where`. Top-level tasks are a range of tasks_top_position_idx, subtasks of
 * tasks_sub_position_idx; with a parent known only to SQL both branches are there, and the one
 * that does not apply reads nothing.
 */
function siblingPositions(userId: string, parent: Parent, except: SQL, where: SQL): SQL {
  const top = sql`select position from tasks
       where user_id = ${userId} and parent_id is null and deleted_at is null
         and id is distinct from ${except} and ${where}`;
  const under = (id: SQL) => sql`select position from tasks
       where parent_id = ${id} and deleted_at is null and id is distinct from ${except} and ${where}`;
  if (parent === null) return sql`(${top})`;
  if (typeof parent === 'string') return sql`(${under(sql`${parent}::uuid`)})`;
  return sql`(${top} and ${parent} is null union all ${under(parent)})`;
}

/** The first sibling position after `key` (or null when none follows). */
export function nextPosition(userId: string, parent: Parent, except: SQL, key: SQL): SQL {
  return sql`(select position from ${siblingPositions(userId, parent, except, sql`position > ${key}`)} s
     order by position limit 1)`;
}

/** The last sibling position before `key`, or the last of all when `key` is null. */
export function previousPosition(userId: string, parent: Parent, except: SQL, key: SQL | null): SQL {
  const where = key === null ? sql`true` : sql`position < ${key}`;
  return sql`(select position from ${siblingPositions(userId, parent, except, where)} s
     order by position desc limit 1)`;
}

/** A key between two positions; null for no bound on that side (both null: the first key). */
export function positionBetween(before: SQL, after: SQL): SQL {
  return sql`task_position_between(${before}, ${after})`;
}

/** The key after every live sibling: where a new task (or a restored one that lost its place) goes. */
export function lastPosition(userId: string, parent: Parent, except: SQL = sql`null::uuid`): SQL {
  return positionBetween(previousPosition(userId, parent, except, null), sql`null`);
}
