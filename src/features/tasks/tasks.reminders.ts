import { sql, type SQL } from 'drizzle-orm';
import { remindersJson } from '../../db/sql.ts';
import { AppError, type FieldError } from '../../lib/errors.ts';

/**
 * A task's reminders as its writes keep them (docs/decisions/0030-reminders.md). A body's
 * `reminders` replaces the list; `remind_at` (when one fires) is computed in the statement from the
 * task's due date as the write leaves it, so a due date that moves (a PATCH, a completion of a
 * repeating task) moves the reminders that follow it and re-arms them, in the same statement.
 */

/** A reminder as a request sends it: exactly one of the two. */
export interface ReminderInput {
  at?: string | undefined;
  minutes_before?: number | undefined;
}

/** A reminder with the id the Worker gave it. */
interface NewReminder {
  id: string;
  at: string | null;
  minutesBefore: number | null;
}

/** 400 for an `at` that is not in the future (a reminder nobody could receive), naming the item. */
export function refusePastReminders(reminders: ReminderInput[] | undefined, now: Date): void {
  const errors: FieldError[] = [];
  reminders?.forEach((r, i) => {
    if (r.at !== undefined && Date.parse(r.at) <= now.getTime()) {
      errors.push({ pointer: `/body/reminders/${i}/at`, message: 'Must be in the future' });
    }
  });
  if (errors.length > 0) throw new AppError('VALIDATION_FAILED', 'One or more fields are invalid.', { errors });
}

export function withIds(reminders: ReminderInput[], uuid: () => string): NewReminder[] {
  return reminders.map((r) => ({ id: uuid(), at: r.at ?? null, minutesBefore: r.minutes_before ?? null }));
}

/** The reminders as a set of rows `r(id, at, minutes_before)`, from three array parameters. */
function rows(reminders: NewReminder[]): SQL {
  return sql`unnest(${sql.param(reminders.map((r) => r.id))}::uuid[], ${sql.param(reminders.map((r) => r.at))}::timestamptz[],
                    ${sql.param(reminders.map((r) => r.minutesBefore))}::int[]) as r(id, at, minutes_before)`;
}

/** When a reminder fires, over `r` (its row) and a due date. */
function remindAt(due: SQL): SQL {
  return sql`coalesce(r.at, ${due} - r.minutes_before * interval '1 minute')`;
}

/**
 * The CTE (followed by a comma) that stores a new task's reminders, and its reminders' JSON.
 * `inserted` is the CTE of the new task's row.
 */
export function addReminders(userId: string, reminders: NewReminder[]): { ctes: SQL; json: SQL } {
  return {
    ctes: sql`reminders_added as (
      insert into task_reminders (id, user_id, task_id, at, minutes_before, remind_at)
      select r.id, ${userId}, i.id, r.at, r.minutes_before, ${remindAt(sql`i.due_date`)}
        from inserted i cross join ${rows(reminders)}
      returning *
    ),`,
    json: remindersJson(sql`reminders_added r`),
  };
}

/**
 * The CTEs (each followed by a comma) that keep a task's reminders right after an update, and the
 * JSON of its reminders as the update leaves them; null when the update cannot change them.
 * `updated` is the CTE of the updated row, `target` the row before.
 * - `replace`: the body's list replaces the task's. A reminder the task had already, unchanged and
 *   firing at the same instant, keeps its `sent_at`: sending the same list again sends nothing twice.
 * - `dueMayMove`: the reminders before the due date follow it; when it moved they fire again.
 */
export function updateReminders(
  userId: string,
  taskId: string,
  replace: NewReminder[] | undefined,
  dueMayMove: boolean,
): { ctes: SQL; json: SQL } | null {
  if (replace !== undefined) {
    const when = remindAt(sql`u.due_date`);
    return {
      ctes: sql`reminders_old as (select * from task_reminders where task_id = ${taskId} and user_id = ${userId}),
      reminders_removed as (
        delete from task_reminders where task_id = ${taskId} and user_id = ${userId} and exists (select 1 from updated)
      ),
      reminders_added as (
        insert into task_reminders (id, user_id, task_id, at, minutes_before, remind_at, sent_at)
        select r.id, ${userId}, u.id, r.at, r.minutes_before, ${when},
               (select o.sent_at from reminders_old o
                 where o.at is not distinct from r.at and o.minutes_before is not distinct from r.minutes_before
                   and o.remind_at = ${when} limit 1)
          from updated u cross join ${rows(replace)}
        returning *
      ),`,
      json: remindersJson(sql`reminders_added r`),
    };
  }
  if (!dueMayMove) return null;
  return {
    ctes: sql`reminders_moved as (
      update task_reminders r set remind_at = ${remindAt(sql`u.due_date`)}, sent_at = null, claimed_until = null
        from updated u
       where r.task_id = u.id and r.user_id = ${userId} and r.minutes_before is not null
         and u.due_date is distinct from (select due_date from target)
      returning r.*
    ),`,
    json: remindersJson(sql`(
      select * from reminders_moved
      union all
      select * from task_reminders where task_id = ${taskId} and user_id = ${userId}
         and id not in (select id from reminders_moved)
    ) r`),
  };
}
