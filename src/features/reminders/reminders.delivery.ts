import { sql } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { logEmailFailure, type EmailMessage } from '../../lib/email.ts';

/**
 * Delivers due reminders: the scheduled handler's work every minute (docs/decisions/0030).
 *
 * Exactly once, with two statements per batch of up to REMINDER_BATCH reminders:
 * - **Claim.** One statement takes up to REMINDER_BATCH due reminders that nobody holds, with
 *   `FOR UPDATE SKIP LOCKED` and a lease (`claimed_until`). A run that overlaps another skips what
 *   the other took; a run that dies leaves its lease to expire, and the next run takes them again.
 * - **Send.** Each email carries an idempotency key made of the reminder and the instant it fires,
 *   so a run that sent and died before recording is not sent twice by the next one: the provider
 *   drops the second (Resend keeps keys 24 hours; the development outbox does the same).
 * - **Record.** One statement sets `sent_at`, only where the reminder still fires at the instant it
 *   was claimed for: one that a due date moved in between stays armed for its new instant.
 *
 * A reminder of a task in the trash or done is recorded without an email, and so is one more than
 * LATE_AFTER_MS late (the service was down): a stale reminder is noise, not help.
 */

/** The cron of wrangler.toml that delivers reminders (the other one is the hourly housekeeping). */
export const REMINDERS_CRON = '* * * * *';
export const REMINDER_BATCH = 100;
/** Shorter than the minute between runs: a dead run's reminders go out with the next one. */
export const CLAIM_LEASE_MS = 50_000;
export const LATE_AFTER_MS = 3_600_000;

type Skip = 'deleted' | 'done' | 'late';

type Claimed = {
  id: string;
  /** To the microsecond, as stored: the record's guard. */
  exact: string;
  remind_at: string;
  title: string;
  due_date: string | null;
  email: string;
  time_zone: string;
  skip: Skip | null;
};

export interface DeliveryReport {
  claimed: number;
  sent: number;
  skipped: number;
  failed: number;
}

/**
 * Batches a run delivers at most: 1,000 reminders a minute. A full batch means more may be due (a
 * minute when many users' reminders fall together, such as 09:00), so the run takes another rather
 * than leave them a minute late; the bound keeps a run well inside the scheduled handler's limits.
 */
export const MAX_BATCHES_PER_RUN = 10;

export async function deliverReminders(deps: Deps, now: Date): Promise<DeliveryReport> {
  const total: DeliveryReport = { claimed: 0, sent: 0, skipped: 0, failed: 0 };
  for (let batch = 0; batch < MAX_BATCHES_PER_RUN; batch++) {
    const report = await deliverBatch(deps, now);
    total.claimed += report.claimed;
    total.sent += report.sent;
    total.skipped += report.skipped;
    total.failed += report.failed;
    if (report.claimed < REMINDER_BATCH) break;
  }
  return total;
}

async function deliverBatch(deps: Deps, now: Date): Promise<DeliveryReport> {
  const lease = new Date(now.getTime() + CLAIM_LEASE_MS);
  const late = new Date(now.getTime() - LATE_AFTER_MS);
  const iso = (column: string) => sql.raw(`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
  const claimed = await deps.db.execute<Claimed>(sql`
    with due as (
      select id from task_reminders
       where sent_at is null and remind_at is not null and remind_at <= ${now}
         and (claimed_until is null or claimed_until <= ${now})
       order by remind_at
       limit ${REMINDER_BATCH}
       for update skip locked
    ),
    claimed as (
      update task_reminders r set claimed_until = ${lease} from due where r.id = due.id returning r.*
    )
    select c.id, to_char(c.remind_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as exact,
           ${iso('c.remind_at')} as remind_at, t.title, ${iso('t.due_date')} as due_date, u.email, u.time_zone,
           case when t.deleted_at is not null then 'deleted' when t.status = 'done' then 'done'
                when c.remind_at < ${late} then 'late' end as skip
      from claimed c join tasks t on t.id = c.task_id join users u on u.id = c.user_id`);

  const rows = claimed.rows;
  const outcomes = await Promise.all(
    rows.map(async (row): Promise<'sent' | 'skipped' | 'failed'> => {
      if (row.skip) return 'skipped';
      const message = reminderEmail(row);
      try {
        await deps.email.send(message);
        return 'sent';
      } catch (error) {
        // Left claimed: the lease runs out and the next run tries again (same key, so at most once).
        logEmailFailure(message, error);
        return 'failed';
      }
    }),
  );
  const done = rows.filter((_, i) => outcomes[i] !== 'failed');
  if (done.length > 0) {
    await deps.db.execute(sql`
      update task_reminders r set sent_at = ${now}, claimed_until = null
        from unnest(${sql.param(done.map((r) => r.id))}::uuid[], ${sql.param(done.map((r) => r.exact))}::timestamptz[])
             as d(id, remind_at)
       where r.id = d.id and r.remind_at = d.remind_at and r.sent_at is null`);
  }
  const count = (outcome: string) => outcomes.filter((o) => o === outcome).length;
  return { claimed: rows.length, sent: count('sent'), skipped: count('skipped'), failed: count('failed') };
}

/** Control characters would let a title end a mail header: a title is one line here. */
const oneLine = (text: string) => text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').trim();

function reminderEmail(row: Claimed): EmailMessage {
  const title = oneLine(row.title);
  const due = row.due_date ? ` It is due ${formatInZone(row.due_date, row.time_zone)}.` : '';
  return {
    to: row.email,
    subject: `Reminder: ${title}`,
    text: `A reminder for your task "${title}".${due}\n`,
    kind: 'task-reminder',
    idempotencyKey: `reminder:${row.id}:${row.remind_at}`,
  };
}

/** "Monday, 4 January 2027 at 09:00 (Europe/Berlin)": the user's own wall-clock time. */
function formatInZone(instant: string, timeZone: string): string {
  try {
    const text = new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'full', timeStyle: 'short' }).format(
      new Date(instant),
    );
    return `${text} (${timeZone})`;
  } catch {
    return instant;
  }
}
