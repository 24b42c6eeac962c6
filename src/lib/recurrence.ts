import { RRuleTemporal } from 'rrule-temporal';
import { canonicalTimeZone } from './time-zone.ts';

/**
 * Recurring tasks: a subset of the RFC 5545 RRULE, and the occurrences it gives.
 *
 * A rule is an RRULE value without the "RRULE:" prefix, e.g. `FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE`,
 * limited to FREQ (DAILY, WEEKLY, MONTHLY, YEARLY), INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT and
 * UNTIL. Everything else is refused rather than half-supported.
 *
 * The series starts at the task's start (an instant), read as a wall-clock time in the user's time
 * zone: that is DTSTART. Every occurrence keeps DTSTART's wall-clock time in that zone, so a daily
 * 09:00 Europe/Berlin task is 08:00Z in winter and 07:00Z in summer. A wall-clock time that does not
 * exist on a day (the spring-forward gap) is moved later by the length of the gap, and one that
 * happens twice (fall back) is the first of the two: RFC 5545 3.3.5, Temporal's "compatible".
 *
 * COUNT counts from DTSTART. DTSTART is the first occurrence when it matches the rule. When it does
 * not (a start on a Wednesday for FREQ=WEEKLY;BYDAY=MO), it is not an occurrence and is not counted:
 * RFC 5545 leaves that case undefined and this is what rrule-temporal, python-dateutil and rrule.js
 * do. UNTIL is inclusive: a date-time (`...Z`) is an instant, a date is the whole of that day in the
 * user's zone.
 *
 * A schedule lists the next occurrences after an instant; `more` says whether the series goes on
 * after the last one listed.
 *
 * Why a library: the date arithmetic of RRULE (ordinal weekdays, negative month days, skipped short
 * months and leap days, INTERVAL phases) is well-trodden and easy to get subtly wrong, and
 * rrule-temporal is tested against the RFC's examples, runs on Workers (it carries a Temporal
 * polyfill, used when the runtime has no Temporal) and has no I/O.
 *
 * How it is used: the library computes the series in UTC with DTSTART's wall-clock time as if it
 * were UTC ("floating" time), and each wall-clock occurrence is then placed in the user's zone here.
 * Two reasons. The library, run in the user's zone, drops an occurrence whose time falls in a DST
 * gap (RFC 5545 3.3.10 reads that way), and a task must not vanish on the day the clocks change. And
 * in UTC every day has 24 hours, so the library's fast paths apply.
 *
 * How far it looks: each query is bounded by a horizon of HORIZON_PERIODS periods of FREQ x
 * INTERVAL (13.7 years for a daily rule, 5,000 years for a yearly one), and never past the year
 * 9999, so that a rule that never matches costs a bounded amount of work instead of running into
 * the library's iteration limit (it throws). A series with COUNT is followed from its start (COUNT
 * counts from there), with room for ten periods an occurrence; any other series from the later of
 * its start and the query's `after`, so a rule started decades ago costs no more than a new one.
 * checkRecurrence refuses a COUNT that does not fit, so for a checked rule the horizon only hides
 * an occurrence more than HORIZON_PERIODS periods after the one before it.
 */

/** Why a rule or time zone was refused. `detail` names the part and says what is wrong. */
export class RecurrenceError extends Error {
  override readonly name = 'RecurrenceError';
  readonly detail: string;

  constructor(detail: string) {
    super(`invalid recurrence rule: ${detail}`);
    this.name = 'RecurrenceError';
    this.detail = detail;
  }
}

export interface Schedule {
  upcoming: Date[];
  more: boolean;
}

/** How many occurrences a schedule lists unless asked otherwise. */
export const MAX_UPCOMING = 8;

const MAX_RULE_LENGTH = 500;
const HORIZON_PERIODS = 5000;
const CHECK_YEARS = 10;
const DAY_MS = 86_400_000;
// The last wall-clock instant a series may reach; the library's UNTIL has four-digit years.
const LAST_WALL_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

const FREQUENCIES = ['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'] as const;
type Frequency = (typeof FREQUENCIES)[number];
const PARTS = ['FREQ', 'INTERVAL', 'BYDAY', 'BYMONTHDAY', 'BYMONTH', 'COUNT', 'UNTIL'];
const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

// A wall-clock occurrence as the library returns it (a Temporal.ZonedDateTime in UTC).
type Occurrence = NonNullable<ReturnType<RRuleTemporal['next']>>;

type Until = { kind: 'date'; text: string; endWallMs: number } | { kind: 'instant'; text: string; ms: number };

interface Rule {
  freq: Frequency;
  interval: number;
  byMonth: number[];
  byMonthDay: number[];
  byDay: string[];
  count: number | null;
  until: Until | null;
}

/** Validates a rule and returns its canonical spelling. Throws RecurrenceError. */
export function normalizeRecurrence(input: string): string {
  return formatRule(parseRule(input));
}

/**
 * The occurrences strictly after `after`, in order, at most `limit` of them, and whether the series
 * has more after those. `rule` need not be canonical but must be valid (RecurrenceError otherwise).
 */
export function upcomingOccurrences(
  rule: string,
  start: Date,
  timeZone: string,
  after: Date,
  limit = MAX_UPCOMING,
): Schedule {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number >= 0, not ${limit}`);
  const series = new Series(parseRule(rule), start, timeZone);
  const found = series.occurrencesAfter(after, limit + 1);
  return { upcoming: found.slice(0, limit), more: found.length > limit };
}

/**
 * Refuses (RecurrenceError) a rule that gives no occurrence at or after `start` within 10 years,
 * whose UNTIL is before the start, or whose COUNT occurrences do not all fit the horizon.
 */
export function checkRecurrence(rule: string, start: Date, timeZone: string): void {
  const parsed = parseRule(rule);
  const series = new Series(parsed, start, timeZone);
  if (parsed.until && series.untilIsBeforeStart()) {
    throw new RecurrenceError(`UNTIL=${parsed.until.text}: the series ends before it starts`);
  }
  const justBefore = new Date(start.getTime() - 1);
  const latest = new Date(start.getTime());
  latest.setUTCFullYear(latest.getUTCFullYear() + CHECK_YEARS);
  // Searching only the 10 years keeps the cost of refusing an impossible rule small.
  const first = series.occurrencesAfter(justBefore, 1, latest)[0];
  if (!first || first > latest) {
    throw new RecurrenceError(`${formatRule(parsed)}: no occurrence within ${CHECK_YEARS} years of the start`);
  }
  if (parsed.count !== null) {
    const all = series.occurrencesAfter(justBefore, parsed.count);
    if (all.length < parsed.count) {
      throw new RecurrenceError(
        `COUNT=${parsed.count}: only ${all.length} of them come within ${horizonPeriods(parsed)} periods of the start, as far as schedules look; ask for fewer`,
      );
    }
  }
}

/** One series: a parsed rule placed at a start in a time zone. */
class Series {
  private readonly rule: Rule;
  private readonly startMs: number;
  private readonly timeZone: string;
  private readonly wallClock: Intl.DateTimeFormat;
  private readonly startWallMs: number;

  constructor(rule: Rule, start: Date, timeZone: string) {
    const zone = canonicalTimeZone(timeZone);
    if (zone === null) throw new RecurrenceError(`time zone ${JSON.stringify(timeZone)}: not an IANA time zone name`);
    if (Number.isNaN(start.getTime())) throw new RangeError('start is not a valid date');
    this.rule = rule;
    this.startMs = start.getTime();
    this.timeZone = zone;
    this.wallClock = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    const year = start.getUTCFullYear();
    // A day of margin either side keeps the wall-clock year within what the library's UNTIL can say.
    if (year < 2 || year > 9998) throw new RangeError('start must be within the years 2 to 9998');
    this.startWallMs = this.toWallMs(start);
  }

  untilIsBeforeStart(): boolean {
    const until = this.rule.until;
    if (!until) return false;
    return until.kind === 'date' ? until.endWallMs <= this.startWallMs : until.ms < this.startMs;
  }

  /** Up to `wanted` occurrences strictly after `after`, in order; none much later than `searchEnd` if given. */
  occurrencesAfter(after: Date, wanted: number, searchEnd?: Date): Date[] {
    const afterMs = after.getTime();
    if (Number.isNaN(afterMs)) throw new RangeError('after is not a valid date');
    if (wanted === 0) return [];
    // A day before `after` on the wall clock: whatever the zone does that day, no occurrence after
    // `after` has an earlier wall-clock time.
    const afterWallMs = this.toWallMs(after) - DAY_MS;
    const anchorWallMs = this.rule.count === null ? Math.max(this.startWallMs, afterWallMs) : this.startWallMs;
    let endWallMs = this.horizonEnd(anchorWallMs);
    if (searchEnd) endWallMs = Math.min(endWallMs, this.toWallMs(searchEnd) + DAY_MS);
    const engine = this.engine(endWallMs);

    const found: Date[] = [];
    // Takes one wall-clock occurrence; false when the search is over.
    const keep = (occurrence: Occurrence): boolean => {
      const instant = occurrence.toPlainDateTime().toZonedDateTime(this.timeZone, { disambiguation: 'compatible' });
      if (!this.withinUntil(occurrence.epochMilliseconds, instant.epochMilliseconds)) return false;
      if (instant.epochMilliseconds > afterMs) found.push(new Date(instant.epochMilliseconds));
      return found.length < wanted;
    };
    if (this.rule.count !== null) {
      // At most COUNT (<= 1000) occurrences, and they must be counted from the start anyway.
      for (const occurrence of engine.all()) {
        if (!keep(occurrence)) break;
      }
    } else {
      let cursor = new Date(Math.max(afterWallMs, this.startWallMs - 1));
      for (;;) {
        const occurrence = engine.next(cursor);
        if (!occurrence || !keep(occurrence)) break;
        cursor = new Date(occurrence.epochMilliseconds);
      }
    }
    return found;
  }

  /** The library's view of the series: floating time (as UTC), ending at `endWallMs` at the latest. */
  private engine(endWallMs: number): RRuleTemporal {
    endWallMs = Math.min(endWallMs, LAST_WALL_MS);
    const until = this.rule.until;
    // The exact UNTIL test is withinUntil(); the library only needs to stop soon after it. A day
    // after the instant's wall-clock time covers whatever offset the zone has at that moment.
    if (until?.kind === 'date') endWallMs = Math.min(endWallMs, until.endWallMs);
    if (until?.kind === 'instant') {
      endWallMs = Math.min(endWallMs, this.toWallMs(new Date(Math.min(until.ms, LAST_WALL_MS))) + DAY_MS);
    }

    const parts = formatRule({ ...this.rule, until: null }).split(';');
    parts.push(`UNTIL=${compactUtc(endWallMs)}`);
    const dtstart = `${new Date(this.startWallMs).toISOString().slice(0, -1)}+00:00[UTC]`;
    return new RRuleTemporal({
      rruleString: parts.join(';'),
      dtstart: { timeZoneId: 'UTC', toString: () => dtstart },
      // The horizon, not this, is what bounds the work; the library's default (10,000) is about
      // 27 years of a daily rule that never matches, short of a COUNT=1000 horizon.
      maxIterations: 100_000,
    });
  }

  private horizonEnd(anchorWallMs: number): number {
    const periods = horizonPeriods(this.rule) * this.rule.interval;
    const anchor = new Date(anchorWallMs);
    switch (this.rule.freq) {
      case 'DAILY':
        return anchorWallMs + periods * DAY_MS;
      case 'WEEKLY':
        return anchorWallMs + periods * 7 * DAY_MS;
      case 'MONTHLY':
        return Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth() + periods, 1);
      case 'YEARLY':
        return Date.UTC(Math.min(anchor.getUTCFullYear() + periods, 10_000), 0, 1);
    }
  }

  private withinUntil(wallMs: number, instantMs: number): boolean {
    const until = this.rule.until;
    if (!until) return true;
    return until.kind === 'date' ? wallMs < until.endWallMs : instantMs <= until.ms;
  }

  /** The wall-clock time of an instant in the zone, as milliseconds of the same reading in UTC. */
  private toWallMs(instant: Date): number {
    const parts = this.wallClock.formatToParts(instant);
    const field = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((part) => part.type === type)?.value);
    const wall = new Date(0);
    wall.setUTCFullYear(field('year'), field('month') - 1, field('day'));
    wall.setUTCHours(field('hour'), field('minute'), field('second'), instant.getUTCMilliseconds());
    return wall.getTime();
  }
}

/**
 * How many periods (FREQ x INTERVAL) a query follows the series for. A COUNT series is followed from
 * its start, so it gets room for ten periods an occurrence (FREQ=DAILY;BYDAY=MO;COUNT=1000 needs 7,000).
 */
function horizonPeriods(rule: Rule): number {
  return Math.max(HORIZON_PERIODS, 10 * (rule.count ?? 0));
}

/** 20260308T023000Z */
function compactUtc(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function formatRule(rule: Rule): string {
  const parts = [`FREQ=${rule.freq}`];
  if (rule.interval !== 1) parts.push(`INTERVAL=${rule.interval}`);
  if (rule.byMonth.length > 0) parts.push(`BYMONTH=${rule.byMonth.join(',')}`);
  if (rule.byMonthDay.length > 0) parts.push(`BYMONTHDAY=${rule.byMonthDay.join(',')}`);
  if (rule.byDay.length > 0) parts.push(`BYDAY=${rule.byDay.join(',')}`);
  if (rule.count !== null) parts.push(`COUNT=${rule.count}`);
  if (rule.until) parts.push(`UNTIL=${rule.until.text}`);
  return parts.join(';');
}

function parseRule(input: string): Rule {
  if (input.length === 0) throw new RecurrenceError('the rule is empty; it needs at least FREQ');
  if (input.length > MAX_RULE_LENGTH) {
    throw new RecurrenceError(`the rule is ${input.length} characters long; at most ${MAX_RULE_LENGTH}`);
  }
  if (/\s/.test(input)) throw new RecurrenceError('the rule contains white space, which is not allowed');
  if (/^RRULE:/i.test(input)) throw new RecurrenceError('RRULE: give the rule without the "RRULE:" prefix');

  const values = new Map<string, string>();
  for (const part of input.toUpperCase().split(';')) {
    if (part === '') throw new RecurrenceError('the rule has an empty part (a ";" too many)');
    const equals = part.indexOf('=');
    const name = equals === -1 ? part : part.slice(0, equals);
    if (!PARTS.includes(name)) {
      throw new RecurrenceError(`${name}: not supported; the parts are ${PARTS.join(', ')}`);
    }
    if (values.has(name)) throw new RecurrenceError(`${name}: given more than once`);
    const value = equals === -1 ? '' : part.slice(equals + 1);
    if (value === '') throw new RecurrenceError(`${name}: has no value`);
    values.set(name, value);
  }

  const freqText = values.get('FREQ');
  if (freqText === undefined) throw new RecurrenceError('FREQ: missing; every rule needs one');
  if (!(FREQUENCIES as readonly string[]).includes(freqText)) {
    throw new RecurrenceError(`FREQ=${freqText}: FREQ is one of ${FREQUENCIES.join(', ')}`);
  }
  const freq = freqText as Frequency;

  const rule: Rule = { freq, interval: 1, byMonth: [], byMonthDay: [], byDay: [], count: null, until: null };
  const interval = values.get('INTERVAL');
  if (interval !== undefined) {
    rule.interval = wholeNumber('INTERVAL', interval, 1, 999, 'INTERVAL is a whole number from 1 to 999');
  }
  const byMonth = values.get('BYMONTH');
  if (byMonth !== undefined) {
    rule.byMonth = list('BYMONTH', byMonth, (item) =>
      wholeNumber('BYMONTH', item, 1, 12, 'a month is 1 to 12', byMonth),
    );
  }
  const byMonthDay = values.get('BYMONTHDAY');
  if (byMonthDay !== undefined) {
    if (freq === 'WEEKLY') {
      throw new RecurrenceError('BYMONTHDAY: cannot be used with FREQ=WEEKLY (RFC 5545); use FREQ=MONTHLY');
    }
    rule.byMonthDay = list('BYMONTHDAY', byMonthDay, (item) => monthDay(item, byMonthDay));
  }
  const byDay = values.get('BYDAY');
  if (byDay !== undefined) {
    rule.byDay = list('BYDAY', byDay, (item) => weekday(item, byDay, freq));
  }
  const count = values.get('COUNT');
  if (count !== undefined) {
    rule.count = wholeNumber('COUNT', count, 1, 1000, 'COUNT is a whole number from 1 to 1000');
  }
  const until = values.get('UNTIL');
  if (until !== undefined) {
    if (count !== undefined) throw new RecurrenceError('COUNT and UNTIL cannot both be given');
    rule.until = parseUntil(until);
  }
  return rule;
}

/** A comma-separated list, each item parsed, duplicates (by value) dropped, input order kept. */
function list<T>(name: string, text: string, parse: (item: string) => T): T[] {
  const result: T[] = [];
  for (const item of text.split(',')) {
    if (item === '') throw new RecurrenceError(`${name}=${text}: the list has an empty item`);
    const value = parse(item);
    if (!result.includes(value)) result.push(value);
  }
  return result;
}

function wholeNumber(name: string, text: string, min: number, max: number, why: string, whole = text): number {
  const value = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) throw new RecurrenceError(`${name}=${whole}: ${why}`);
  return value;
}

function monthDay(text: string, whole: string): number {
  const value = /^[+-]?\d{1,2}$/.test(text) ? Number(text) : NaN;
  if (!(Math.abs(value) >= 1 && Math.abs(value) <= 31)) {
    throw new RecurrenceError(`BYMONTHDAY=${whole}: a day of the month is 1 to 31, or -31 to -1 counting from the end`);
  }
  return value;
}

function weekday(text: string, whole: string, freq: Frequency): string {
  const match = /^([+-]?\d{1,2})?([A-Z]{2})$/.exec(text);
  if (!match || !WEEKDAYS.includes(match[2]!)) {
    throw new RecurrenceError(
      `BYDAY=${whole}: a day is one of ${WEEKDAYS.join(', ')}, optionally numbered as in 2MO or -1FR`,
    );
  }
  const day = match[2]!;
  if (match[1] === undefined) return day;
  const ordinal = Number(match[1]);
  if (freq !== 'MONTHLY' && freq !== 'YEARLY') {
    throw new RecurrenceError(`BYDAY=${whole}: a numbered day (${text}) needs FREQ=MONTHLY or FREQ=YEARLY`);
  }
  const max = freq === 'MONTHLY' ? 5 : 53;
  if (ordinal === 0 || Math.abs(ordinal) > max) {
    throw new RecurrenceError(`BYDAY=${whole}: with FREQ=${freq} the number of a day is 1 to ${max} or -${max} to -1`);
  }
  return `${ordinal}${day}`;
}

function parseUntil(text: string): Until {
  const match = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(text);
  const why = 'UNTIL is a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)';
  if (!match) throw new RecurrenceError(`UNTIL=${text}: ${why}`);
  const hasTime = match[4] !== undefined;
  if (hasTime && match[7] === undefined) {
    throw new RecurrenceError(`UNTIL=${text}: a date-time must be in UTC, ending in Z`);
  }
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const [hour, minute, second] = hasTime ? [Number(match[4]), Number(match[5]), Number(match[6])] : [0, 0, 0];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second);
  const real =
    year >= 1 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  if (!real) throw new RecurrenceError(`UNTIL=${text}: not a real date or time`);
  if (!hasTime) return { kind: 'date', text, endWallMs: date.getTime() + DAY_MS };
  return { kind: 'instant', text, ms: date.getTime() };
}
