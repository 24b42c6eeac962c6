import { sql, type SQL } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { uniqueViolation } from '../../db/errors.ts';
import { commitChangeSeq, isoTimestamp, nextChangeSeq, TASK_JSON, versionMatches } from '../../db/sql.ts';
import { runWrite, type Write, type WriteOptions } from '../../db/write.ts';
import { AppError } from '../../lib/errors.ts';
import { checkOwner, notFound, owned } from '../../lib/ownership.ts';
import { MAX_CATEGORIES_PER_USER } from '../../lib/limits.ts';
import type { TaskJson } from '../tasks/tasks.schemas.ts';
import { staleVersion, type VersionCheck } from '../../lib/etag.ts';
import { movingVersions } from '../tasks/tasks.service.ts';
import type { CategoryJson } from './categories.schemas.ts';

/**
 * Per-user categories and their links to tasks. As with tasks, every operation is one statement
 * that also tells 404 (missing) from 403 (someone else's) for each side it touches.
 */

export { MAX_CATEGORIES_PER_USER };

const CATEGORY_JSON = sql`json_build_object('id', c.id, 'user_id', c.user_id, 'name', c.name, 'color', c.color, 'created_at', ${isoTimestamp(sql`c.created_at`)}, 'updated_at', ${isoTimestamp(sql`c.updated_at`)}, 'version', c.version)`;

export async function createCategory(
  deps: Deps,
  userId: string,
  input: { name: string; color: string },
): Promise<CategoryJson> {
  return runWrite(deps, userId, createCategoryWrite(deps, userId, input));
}

type CreateCategoryRow = { category: CategoryJson | null; name_taken: boolean; id_taken: boolean; under_cap: boolean };

/**
 * After the user's row lock (locked), so the count and the name check below see every category
 * created before. A taken name inserts nothing rather than raising: in a batch a raise would undo
 * every other command.
 */
export function createCategoryWrite(
  deps: Deps,
  userId: string,
  input: { name: string; color: string },
  options: WriteOptions = {},
): Write<CreateCategoryRow, CategoryJson> {
  const now = deps.clock.now();
  const id = options.id ?? deps.ids.uuid();
  const guard = options.unlessRecorded ?? sql`true`;
  return {
    locked: true,
    ctes: sql`name_taken as (
      select exists (select 1 from categories where user_id = ${userId} and lower(name) = lower(${input.name})) as taken
    ),
    inserted as (
      insert into categories (id, user_id, name, color, created_at, updated_at)
      select ${id}, ${userId}, ${input.name}, ${input.color.toUpperCase()}, ${now}, ${now}
       where (select count(*) from categories where user_id = ${userId}) < ${MAX_CATEGORIES_PER_USER}
         and not (select taken from name_taken) and ${guard}
      on conflict do nothing
      returning *
    )`,
    select: sql`(select ${CATEGORY_JSON} from inserted c) as category, (select taken from name_taken) as name_taken,
      exists (select 1 from categories where id = ${id}) as id_taken,
      (select count(*) from categories where user_id = ${userId}) < ${MAX_CATEGORIES_PER_USER} as under_cap`,
    applied: sql`exists (select 1 from inserted)`,
    answer: (row) => {
      if (row?.category) return row.category;
      if (row?.id_taken) {
        throw new AppError(
          'CONFLICT',
          'This command id created a category before: give each command an id of its own.',
        );
      }
      // Taken before this statement, or by a rename that committed while it ran (the insert then
      // met the unique index and inserted nothing).
      if (row?.name_taken || row?.under_cap) {
        throw new AppError('CONFLICT', `You already have a category named "${input.name}" (names ignore case).`);
      }
      throw new AppError(
        'LIMIT_REACHED',
        `You have ${MAX_CATEGORIES_PER_USER} categories, the most one account may keep.`,
      );
    },
  };
}

export async function listCategories(deps: Deps, userId: string): Promise<CategoryJson[]> {
  const result = await deps.db.execute<{ items: CategoryJson[] }>(sql`
    select coalesce(json_agg(${CATEGORY_JSON} order by lower(c.name), c.id), '[]'::json) as items
      from categories c where c.user_id = ${userId}`);
  return result.rows[0]?.items ?? [];
}

/** One category; another user's is 403, a missing one 404 (the contract's rule for every resource). */
export async function getCategory(deps: Deps, userId: string, categoryId: string): Promise<CategoryJson> {
  const result = await deps.db.execute<{ owner: string; category: CategoryJson }>(sql`
    select c.user_id as owner, ${CATEGORY_JSON} as category from categories c where c.id = ${categoryId}`);
  return owned(result.rows[0], userId, 'category').category;
}

/**
 * Rename and/or recolour, with optimistic locking as for tasks: the update applies only if the
 * version is the expected one (409 for a stale body version, 412 for a stale If-Match), then
 * increments it. Tasks show their categories' names and colours, so every linked task changed too:
 * each gets a new version (its ETag moves) and a change number (delta sync sends it again), as
 * when a category is deleted.
 */
export async function updateCategory(
  deps: Deps,
  userId: string,
  categoryId: string,
  changes: { name?: string | undefined; color?: string | undefined },
  check: VersionCheck,
): Promise<CategoryJson> {
  const now = deps.clock.now();
  const sets: SQL[] = [sql`version = c.version + 1`, sql`updated_at = ${now}`];
  if (changes.name !== undefined) sets.push(sql`name = ${changes.name}`);
  if (changes.color !== undefined) sets.push(sql`color = ${changes.color.toUpperCase()}`);
  let result;
  try {
    result = await deps.db.execute<{
      owner: string | null;
      current_version: number | null;
      category: CategoryJson | null;
    }>(sql`
      with seq as (${nextChangeSeq(userId)}),
      -- FOR UPDATE: after waiting on a concurrent writer, a 409 reports the version it committed.
      target as (
        select user_id, version from categories where id = ${categoryId} and (select seq from seq) > 0 for update
      ),
      updated as (
        update categories c set ${sql.join(sets, sql`, `)}
         where c.id = ${categoryId} and c.user_id = ${userId} and ${versionMatches(sql`c.version`, check)} and (select seq from seq) > 0
        returning c.*
      ),
      bumped as (
        update tasks t set version = t.version + 1, updated_at = ${now}, change_seq = (select seq from seq)
         where t.id in (select task_id from task_categories where category_id = ${categoryId})
           and t.user_id = ${userId} and t.deleted_at is null and exists (select 1 from updated)
           and (select seq from seq) > 0
        returning t.id
      ),
      committed as (${commitChangeSeq(userId, 'bumped')})
      select (select user_id from target) as owner,
             (select version from target) as current_version,
             (select ${CATEGORY_JSON} from updated c) as category`);
  } catch (error) {
    if (uniqueViolation(error, 'categories_user_name_key'))
      throw new AppError('CONFLICT', `You already have a category named "${changes.name}" (names ignore case).`);
    throw error;
  }
  const row = owned(result.rows[0], userId, 'category');
  if (!row.category) throw staleVersion('category', check, row.current_version);
  return row.category;
}

/**
 * Deleting a category removes its links (foreign-key cascade); the tasks themselves stay, but they
 * changed: each gets a new version and change number, and each lost link a tombstone for sync.
 */
export async function deleteCategory(deps: Deps, userId: string, categoryId: string): Promise<void> {
  return movingVersions(runWrite(deps, userId, deleteCategoryWrite(deps, userId, categoryId)));
}

export function deleteCategoryWrite(
  deps: Deps,
  userId: string,
  categoryId: string,
  options: WriteOptions = {},
): Write<{ owner: string | null; deleted: number }, void> {
  const now = deps.clock.now();
  return {
    locked: false,
    ctes: sql`seq as (${nextChangeSeq(userId, options.unlessRecorded)}),
    target as (select user_id from categories where id = ${categoryId}),
    links as (
      select tc.task_id from task_categories tc
       where tc.category_id = ${categoryId} and exists (select 1 from target where user_id = ${userId})
    ),
    bumped as (
      update tasks t set version = t.version + 1, updated_at = ${now}, change_seq = (select seq from seq)
       where t.id in (select task_id from links) and t.user_id = ${userId} and (select seq from seq) > 0
      returning t.id
    ),
    tombstones as (
      insert into task_link_removals (user_id, task_id, category_id, change_seq, removed_at)
      select ${userId}, task_id, ${categoryId}, (select seq from seq), ${now} from links where (select seq from seq) > 0
    ),
    deleted as (
      delete from categories where id = ${categoryId} and user_id = ${userId} and (select seq from seq) > 0 returning id
    ),
    committed as (${commitChangeSeq(userId, 'deleted')})`,
    select: sql`(select user_id from target) as owner, (select count(*) from deleted)::int as deleted`,
    applied: sql`exists (select 1 from deleted)`,
    answer: (row) => {
      if (owned(row, userId, 'category').deleted !== 1) throw notFound('category');
    },
  };
}

type LinkOutcome = {
  task_owner: string | null;
  category_owner: string | null;
  changed: number;
  task: TaskJson | null;
  category: { id: string; name: string; color: string } | null;
};

function checkBothSides(row: LinkOutcome | undefined, userId: string): void {
  // Both exist before either is judged yours: a missing side is 404 even when the other is not yours.
  if (!row?.task_owner) throw notFound('task');
  if (!row.category_owner) throw notFound('category');
  checkOwner(row.task_owner, userId, 'task');
  checkOwner(row.category_owner, userId, 'category');
}

/**
 * Links a category to a task: both must exist and be the caller's; a second link is 409. The task
 * changed: it gets a new version (so its ETag moves) and change number.
 */
export async function assignCategory(
  deps: Deps,
  userId: string,
  taskId: string,
  categoryId: string,
): Promise<TaskJson> {
  return movingVersions(runWrite(deps, userId, assignCategoryWrite(deps, userId, taskId, categoryId)));
}

export function assignCategoryWrite(
  deps: Deps,
  userId: string,
  taskId: string,
  categoryId: string,
  options: WriteOptions = {},
): Write<LinkOutcome, TaskJson> {
  const now = deps.clock.now();
  return {
    locked: false,
    ctes: sql`seq as (${nextChangeSeq(userId, options.unlessRecorded)}),
    task as (select id, user_id from tasks where id = ${taskId} and deleted_at is null),
    category as (select id, user_id, name, color from categories where id = ${categoryId}),
    linked as (
      insert into task_categories (task_id, category_id, created_at)
      select task.id, category.id, ${now} from task, category
       where task.user_id = ${userId} and category.user_id = ${userId} and (select seq from seq) > 0
      on conflict do nothing
      returning task_id
    ),
    bumped as (
      update tasks t set version = t.version + 1, updated_at = ${now}, change_seq = (select seq from seq)
       where t.id = ${taskId} and t.user_id = ${userId} and t.deleted_at is null
         and exists (select 1 from linked) and (select seq from seq) > 0
      returning t.*
    ),
    committed as (${commitChangeSeq(userId, 'linked')})`,
    select: sql`(select user_id from task) as task_owner,
           (select user_id from category) as category_owner,
           (select count(*) from linked)::int as changed,
           (select ${TASK_JSON} from bumped t) as task,
           (select json_build_object('id', id, 'name', name, 'color', color) from category where user_id = ${userId}) as category`,
    applied: sql`exists (select 1 from linked)`,
    answer: (row) => {
      checkBothSides(row, userId);
      if (row?.changed !== 1 || !row.task || !row.category) {
        throw new AppError('CONFLICT', 'This category is already assigned to this task.');
      }
      // The statement's own insert is invisible to its other parts: add the new link to what it read.
      const categories = [...row.task.categories, row.category].sort(
        (a, b) => compare(a.name.toLowerCase(), b.name.toLowerCase()) || compare(a.id, b.id),
      );
      return { ...row.task, categories };
    },
  };
}

export async function removeCategory(deps: Deps, userId: string, taskId: string, categoryId: string): Promise<void> {
  return movingVersions(runWrite(deps, userId, removeCategoryWrite(deps, userId, taskId, categoryId)));
}

export function removeCategoryWrite(
  deps: Deps,
  userId: string,
  taskId: string,
  categoryId: string,
  options: WriteOptions = {},
): Write<LinkOutcome, void> {
  const now = deps.clock.now();
  return {
    locked: false,
    ctes: sql`seq as (${nextChangeSeq(userId, options.unlessRecorded)}),
    task as (select id, user_id from tasks where id = ${taskId} and deleted_at is null),
    category as (select id, user_id from categories where id = ${categoryId}),
    unlinked as (
      delete from task_categories
       where task_id = ${taskId} and category_id = ${categoryId}
         and exists (select 1 from task where user_id = ${userId})
         and exists (select 1 from category where user_id = ${userId})
         and (select seq from seq) > 0
      returning task_id, category_id
    ),
    bumped as (
      update tasks t set version = t.version + 1, updated_at = ${now}, change_seq = (select seq from seq)
       where t.id in (select task_id from unlinked) and t.user_id = ${userId} and (select seq from seq) > 0
      returning t.id
    ),
    tombstones as (
      insert into task_link_removals (user_id, task_id, category_id, change_seq, removed_at)
      select ${userId}, task_id, category_id, (select seq from seq), ${now} from unlinked
    ),
    committed as (${commitChangeSeq(userId, 'unlinked')})`,
    select: sql`(select user_id from task) as task_owner,
           (select user_id from category) as category_owner,
           (select count(*) from unlinked)::int as changed,
           null::json as task, null::json as category`,
    applied: sql`exists (select 1 from unlinked)`,
    answer: (row) => {
      checkBothSides(row, userId);
      if (row?.changed !== 1) throw new AppError('NOT_FOUND', 'This category is not assigned to this task.');
    },
  };
}

/** Code-point order, like the database's `order by lower(name), id` under the C collation. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
