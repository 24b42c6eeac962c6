import { sql, type SQL } from 'drizzle-orm';
import { AppError } from '../../lib/errors.ts';

/**
 * Recurring tasks as a write sees them (docs/decisions/0029-recurring-tasks.md). The next
 * occurrence depends on the rule, the series' start, the due date and the user's zone, and a write
 * is one statement built before it runs. So the Worker computes a schedule whenever a request
 * brings the rule and the due date (the next MAX_UPCOMING occurrences after the due date), stores
 * it on the row, and a completion advances in SQL from that list. When the list is unknown (a token
 * without the zone, a zone changed since, or the list ran out), the statement says so and changes
 * nothing: the single route computes the schedule and sends the write again (SchedulePending).
 */

type Engine = typeof import('../../lib/recurrence.ts');
let engine: Promise<Engine> | undefined;

/**
 * The RRULE engine, loaded on first use: it brings a Temporal polyfill (about 280 KiB), which a
 * Worker that never touches a recurring task should not evaluate at startup.
 */
export function recurrenceEngine(): Promise<Engine> {
  return (engine ??= import('../../lib/recurrence.ts'));
}

/** A schedule computed by the Worker: the occurrences after the due date, in `zone`. */
export interface ComputedSchedule {
  zone: string;
  upcoming: string[];
  more: boolean;
}

/**
 * What a write does to a task's series, decided by the Worker from the body alone:
 * - `keep`: the body names neither the rule nor the due date;
 * - `clear`: `recurrence: null`, or `due_date: null` (a series needs a due date);
 * - `reschedule`: only the due date moves (this occurrence): the stored list keeps what comes after;
 * - `start`: a rule with a due date, which (re)starts the series there.
 */
export type SeriesChange =
  | { kind: 'keep' }
  | { kind: 'clear' }
  | { kind: 'reschedule'; due: string }
  | { kind: 'start'; rule: string; start: string; schedule: ComputedSchedule | null };

export const RECURRENCE_POINTER = '/body/recurrence';

function invalid(pointer: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', 'One or more fields are invalid.', { errors: [{ pointer, message }] });
}

/**
 * The series change a body asks for. A rule is validated (400 naming `recurrence`, saying which
 * part is wrong) and checked against its start in the user's zone; the schedule is computed only
 * when the token says which zone the user is in (`zone`), else it is left for the completion.
 * `creating`: a create has no stored due date to fall back on.
 */
export async function planSeries(
  body: { recurrence?: string | null | undefined; due_date?: string | null | undefined },
  zone: string | undefined,
  creating: boolean,
): Promise<SeriesChange> {
  const { recurrence, due_date: due } = body;
  if (recurrence === undefined || recurrence === null) {
    if (recurrence === null || due === null) return creating ? { kind: 'keep' } : { kind: 'clear' };
    return due === undefined || creating ? { kind: 'keep' } : { kind: 'reschedule', due };
  }
  if (due === undefined || due === null) {
    throw creating
      ? invalid(RECURRENCE_POINTER, 'A repeating task needs a due_date: its first occurrence')
      : invalid('/body/due_date', 'Send the due_date with the recurrence: the series starts there');
  }
  const { checkRecurrence, normalizeRecurrence, RecurrenceError } = await recurrenceEngine();
  let rule: string;
  try {
    rule = normalizeRecurrence(recurrence);
    checkRecurrence(rule, new Date(due), zone ?? 'UTC');
  } catch (error) {
    if (error instanceof RecurrenceError) throw invalid(RECURRENCE_POINTER, error.detail);
    throw error;
  }
  const schedule = zone === undefined ? null : await computeSchedule(rule, due, zone, due);
  return { kind: 'start', rule, start: due, schedule };
}

/** The occurrences of a series after `after`, as the row stores them. */
export async function computeSchedule(
  rule: string,
  start: string,
  zone: string,
  after: string,
): Promise<ComputedSchedule> {
  const { upcomingOccurrences } = await recurrenceEngine();
  const { upcoming, more } = upcomingOccurrences(rule, new Date(start), zone, new Date(after));
  return { zone, upcoming: upcoming.map((d) => d.toISOString()), more };
}

/** A Postgres array literal of instants (ISO text has no quote, comma or brace to escape). */
function instants(list: string[]): SQL {
  return sql`${`{${list.join(',')}}`}::timestamptz[]`;
}

/** The user's zone as stored now: a schedule computed in another zone is not used. */
export function userZone(userId: string): SQL {
  return sql`(select time_zone from users where id = ${userId})`;
}

/** A computed schedule as column values: the list only if the zone is still the user's. */
export function scheduleColumns(userId: string, schedule: ComputedSchedule | null) {
  if (schedule === null) return { upcoming: sql`null::timestamptz[]`, more: sql`false`, zone: sql`null::text` };
  return {
    upcoming: sql`case when ${userZone(userId)} = ${schedule.zone} then ${instants(schedule.upcoming)} end`,
    more: sql`${schedule.more}::boolean`,
    zone: sql`${schedule.zone}::text`,
  };
}

/**
 * The series columns after a write, over the locked row `t`: rule, start, upcoming, more, zone.
 * `override` is a schedule the Worker computed for the row as the write leaves it (the second try).
 */
export function seriesAfter(
  userId: string,
  change: SeriesChange,
  override: ComputedSchedule | null,
): { rule: SQL; start: SQL; upcoming: SQL; more: SQL; zone: SQL } {
  switch (change.kind) {
    case 'clear':
      return {
        rule: sql`null::text`,
        start: sql`null::timestamptz`,
        upcoming: sql`null::timestamptz[]`,
        more: sql`false`,
        zone: sql`null::text`,
      };
    case 'start':
      return {
        rule: sql`${change.rule}::text`,
        start: sql`${change.start}::timestamptz`,
        ...scheduleColumns(userId, override ?? change.schedule),
      };
    case 'reschedule':
    case 'keep': {
      const kept = { rule: sql`t.recurrence`, start: sql`t.recurrence_start` };
      if (override) return { ...kept, ...scheduleColumns(userId, override) };
      if (change.kind === 'keep') {
        return {
          ...kept,
          upcoming: sql`t.recurrence_upcoming`,
          more: sql`t.recurrence_more`,
          zone: sql`t.recurrence_zone`,
        };
      }
      // This occurrence moves, and the next one is the rule's first after the new due date. Moved
      // later, the list keeps what comes after it; moved earlier, the occurrences in between are
      // not listed: unknown until computed again (after the response), as is a list that runs out
      // while the series goes on.
      const due = sql`${change.due}::timestamptz`;
      const rest = sql`array(select x from unnest(t.recurrence_upcoming) x where x > ${due} order by x)`;
      return {
        ...kept,
        upcoming: sql`case when t.recurrence_upcoming is null or ${due} < t.due_date
                             or (cardinality(${rest}) = 0 and t.recurrence_more) then null else ${rest} end`,
        more: sql`t.recurrence_more`,
        zone: sql`t.recurrence_zone`,
      };
    }
  }
}

/** What the statement found when a completion could not advance from a stored schedule. */
export type SeriesFound = {
  rule: string;
  start: string;
  due: string;
  zone: string;
  version: number;
};

/**
 * Thrown by a write's answer when completing a recurring task needs a schedule the row does not
 * have. The single route computes it and sends the write again; a batch answers SCHEDULE_PENDING.
 */
export class SchedulePending extends Error {
  override readonly name = 'SchedulePending';
  readonly found: SeriesFound;
  constructor(found: SeriesFound) {
    super('The schedule of the recurring task is not computed yet');
    this.found = found;
  }
}

/** The batch's answer for a completion that needs a schedule first (the task is left as it was). */
export function schedulePending(): AppError {
  return new AppError(
    'SCHEDULE_PENDING',
    'The next occurrence of this repeating task is being computed: send the command again in a moment, or complete it with PATCH /api/v1/tasks/{task_id}.',
  );
}
