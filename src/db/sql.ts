import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { VersionCheck } from '../lib/etag.ts';
import type { Database } from './client.ts';

const dialect = new PgDialect();

/**
 * A fragment without parameters, rendered once into one raw chunk. drizzle walks a nested fragment
 * chunk by chunk, testing each against its entity classes, every time a statement embeds it: the
 * task JSON alone was most of a write's SQL-building CPU (issue 17).
 */
export function rendered(fragment: SQL): SQL {
  const query = dialect.sqlToQuery(fragment);
  if (query.params.length > 0) throw new Error('rendered() takes fragments without parameters');
  return sql.raw(query.sql);
}

/** RFC 3339 in UTC with milliseconds, as the API writes every timestamp. */
export function isoTimestamp(column: SQL): SQL {
  return sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * A task as the API returns it, built by Postgres as JSON (categories and the count of live
 * subtasks included), so reading a task stays one statement. `t` must be the alias of the tasks
 * row. Its subqueries read the statement's snapshot: a statement that changes links, reminders or subtasks
 * and returns a task built here must add its own changes (assignCategory, restoreTask).
 */
const TASK_FIELDS = rendered(sql`'id', t.id,
  'user_id', t.user_id,
  'parent_id', t.parent_id,
  'position', t.position,
  'title', t.title,
  'description', t.description,
  'status', t.status,
  'priority', t.priority,
  'due_date', ${isoTimestamp(sql`t.due_date`)},
  'created_at', ${isoTimestamp(sql`t.created_at`)},
  'updated_at', ${isoTimestamp(sql`t.updated_at`)},
  'deleted_at', ${isoTimestamp(sql`t.deleted_at`)},
  'version', t.version,
  'recurrence', t.recurrence,
  'completed_occurrences', t.completed_occurrences`);

/** A JSON array of reminders, soonest first, over rows aliased `r` that `from` yields. */
export function remindersJson(from: SQL): SQL {
  return sql`coalesce((select json_agg(json_build_object('id', r.id, 'at', ${isoTimestamp(sql`r.at`)},
      'minutes_before', r.minutes_before, 'remind_at', ${isoTimestamp(sql`r.remind_at`)}) order by r.remind_at nulls last, r.id) from ${from}), '[]'::json)`;
}

/** The reminders of the task `t` as the statement's snapshot holds them. */
const STORED_REMINDERS = rendered(remindersJson(sql`task_reminders r where r.task_id = t.id`));

/** The live subtasks' count and the categories of the task `t`. */
const SUBTASKS_AND_CATEGORIES =
  rendered(sql`'subtask_count', (select count(*) from tasks sub where sub.parent_id = t.id and sub.deleted_at is null)::int,
  'categories', coalesce((
    select json_agg(json_build_object('id', c.id, 'name', c.name, 'color', c.color) order by lower(c.name), c.id)
      from task_categories tc join categories c on c.id = tc.category_id
     where tc.task_id = t.id), '[]'::json)`);

/** TASK_JSON with the reminders a write just stored (the snapshot does not hold them). */
export function taskJsonWith(reminders: SQL): SQL {
  return sql`json_build_object(${TASK_FIELDS},
  'reminders', ${reminders},
  ${SUBTASKS_AND_CATEGORIES}
)`;
}

export const TASK_JSON = rendered(taskJsonWith(STORED_REMINDERS));

/**
 * TASK_JSON of a task the statement itself inserted: it has no subtask, no category and no
 * reminder but those the statement adds, so the subqueries (which Postgres plans for every
 * statement, a third of a create's cost) are left out.
 */
export function newTaskJsonWith(reminders: SQL): SQL {
  return sql`json_build_object(${TASK_FIELDS}, 'reminders', ${reminders}, 'subtask_count', 0, 'categories', '[]'::json)`;
}

export const NEW_TASK_JSON = rendered(newTaskJsonWith(sql`'[]'::json`));

/** A user as the API returns it (never the hash, the counters or the lock). `u` is the users row. */
export const USER_JSON = rendered(sql`json_build_object('id', u.id, 'email', u.email, 'full_name', u.full_name,
  'time_zone', u.time_zone, 'is_active', u.is_active, 'email_verified_at', ${isoTimestamp(sql`u.email_verified_at`)},
  'created_at', ${isoTimestamp(sql`u.created_at`)}, 'updated_at', ${isoTimestamp(sql`u.updated_at`)})`);

/**
 * A CTE body that locks the user's change counter and yields the next change number
 * (docs/decisions/0013-delta-sync.md). Every statement that changes a user's tasks must reference
 * its result in the WHERE of each part that locks a task row, so this row lock is always taken
 * first: the user's writes then commit in change-number order (a sync never skips one) and cannot
 * deadlock on each other. The row exists for every user (a trigger on users creates it).
 * `unlessRecorded` (a batch's replay guard, src/db/write.ts) empties the CTE: then every part that
 * reads it writes nothing, which is why every writing part must read it.
 */
export function nextChangeSeq(userId: string, unlessRecorded?: SQL): SQL {
  const condition = unlessRecorded ? sql` and ${unlessRecorded}` : sql``;
  return sql`select seq + 1 as seq from task_sync_state where user_id = ${userId}${condition} for update`;
}

/**
 * The CTE body that consumes the number drawn by nextChangeSeq, only if `written` (the name of the
 * statement's writing CTE) returned a row: a refused write leaves the database exactly as it was.
 */
export function commitChangeSeq(userId: string, written: string): SQL {
  return sql`update task_sync_state set seq = (select seq from seq)
     where user_id = ${userId} and exists (select 1 from ${sql.identifier(written)})`;
}

/**
 * The user's row lock (their task_sync_state row, the one nextChangeSeq takes) as a statement of
 * its own, first in a db.batch (one Neon transaction, one round trip). Under READ COMMITTED each
 * statement reads a fresh snapshot, so a count in the next statement sees every write that held
 * this lock before: per-user caps then hold under parallel requests. Within a single statement the
 * count would read the snapshot taken before the lock wait and miss them.
 */
export function lockUser(deps: { db: Database }, userId: string) {
  return deps.db.execute(sql`select 1 from task_sync_state where user_id = ${userId} for update`);
}

/**
 * Whether a row's `version` column is what the write expects (src/lib/etag.ts, VersionCheck): the
 * body's version, or one of the If-Match versions, where '*' only asks that the row exist.
 */
export function versionMatches(version: SQL, check: VersionCheck | undefined): SQL {
  const versions = check === undefined ? '*' : check.from === 'body' ? [check.version] : check.versions;
  if (versions === '*') return sql`true`;
  if (versions.length === 0) return sql`false`;
  return sql`${version} in (${sql.join(
    versions.map((v) => sql`${v}`),
    sql`, `,
  )})`;
}
