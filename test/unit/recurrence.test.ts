import { describe, expect, it } from 'vitest';
import {
  MAX_UPCOMING,
  RecurrenceError,
  checkRecurrence,
  normalizeRecurrence,
  upcomingOccurrences,
} from '../../src/lib/recurrence.ts';
import { canonicalTimeZone, isTimeZone } from '../../src/lib/time-zone.ts';

// Every instant here is explicit; nothing reads the clock (the speed test only measures).

/** The next `limit` occurrences after `after` (default: just before the start), as ISO strings. */
function next(rule: string, start: string, timeZone: string, limit = MAX_UPCOMING, after?: string) {
  const startDate = new Date(start);
  const afterDate = after ? new Date(after) : new Date(startDate.getTime() - 1);
  const schedule = upcomingOccurrences(rule, startDate, timeZone, afterDate, limit);
  return { upcoming: schedule.upcoming.map((d) => d.toISOString()), more: schedule.more };
}

function iso(...instants: string[]): string[] {
  return instants.map((instant) => new Date(instant).toISOString());
}

/** The detail of the RecurrenceError `run` throws. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RecurrenceError);
    return (error as RecurrenceError).detail;
  }
  throw new Error('expected a RecurrenceError');
}

describe('wall-clock time across DST changes', () => {
  it('Europe/Berlin daily 09:00 into summer time (2026-03-29)', () => {
    expect(next('FREQ=DAILY', '2026-03-27T08:00:00Z', 'Europe/Berlin', 4)).toEqual({
      upcoming: iso('2026-03-27T08:00:00Z', '2026-03-28T08:00:00Z', '2026-03-29T07:00:00Z', '2026-03-30T07:00:00Z'),
      more: true,
    });
  });

  it('Europe/Berlin daily 09:00 back to winter time (2026-10-25)', () => {
    expect(next('FREQ=DAILY', '2026-10-23T07:00:00Z', 'Europe/Berlin', 4).upcoming).toEqual(
      iso('2026-10-23T07:00:00Z', '2026-10-24T07:00:00Z', '2026-10-25T08:00:00Z', '2026-10-26T08:00:00Z'),
    );
  });

  it('Europe/Berlin weekly on Sunday 09:00 across 2026-03-29', () => {
    expect(next('FREQ=WEEKLY;BYDAY=SU', '2026-03-22T08:00:00Z', 'Europe/Berlin', 3).upcoming).toEqual(
      iso('2026-03-22T08:00:00Z', '2026-03-29T07:00:00Z', '2026-04-05T07:00:00Z'),
    );
  });

  it('Europe/Berlin 02:30 does not exist on 2026-03-29: 03:30 CEST that day', () => {
    expect(next('FREQ=DAILY', '2026-03-28T01:30:00Z', 'Europe/Berlin', 3).upcoming).toEqual(
      iso('2026-03-28T01:30:00Z', '2026-03-29T01:30:00Z', '2026-03-30T00:30:00Z'),
    );
  });

  it('Europe/Berlin 02:30 happens twice on 2026-10-25: the first (CEST)', () => {
    expect(next('FREQ=DAILY', '2026-10-24T00:30:00Z', 'Europe/Berlin', 3).upcoming).toEqual(
      iso('2026-10-24T00:30:00Z', '2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z'),
    );
  });

  it('America/New_York daily 09:00 into daylight time (2026-03-08)', () => {
    expect(next('FREQ=DAILY', '2026-03-06T14:00:00Z', 'America/New_York', 4).upcoming).toEqual(
      iso('2026-03-06T14:00:00Z', '2026-03-07T14:00:00Z', '2026-03-08T13:00:00Z', '2026-03-09T13:00:00Z'),
    );
  });

  it('America/New_York daily 09:00 back to standard time (2026-11-01)', () => {
    expect(next('FREQ=DAILY', '2026-10-30T13:00:00Z', 'America/New_York', 4).upcoming).toEqual(
      iso('2026-10-30T13:00:00Z', '2026-10-31T13:00:00Z', '2026-11-01T14:00:00Z', '2026-11-02T14:00:00Z'),
    );
  });

  it('America/New_York weekly Monday and Wednesday 09:00 across 2026-03-08', () => {
    expect(next('FREQ=WEEKLY;BYDAY=MO,WE', '2026-03-02T14:00:00Z', 'America/New_York', 4).upcoming).toEqual(
      iso('2026-03-02T14:00:00Z', '2026-03-04T14:00:00Z', '2026-03-09T13:00:00Z', '2026-03-11T13:00:00Z'),
    );
  });

  it('America/New_York 02:30 does not exist on 2026-03-08: 03:30 EDT, and the series keeps 02:30 after', () => {
    expect(next('FREQ=DAILY', '2026-03-07T07:30:00Z', 'America/New_York', 3).upcoming).toEqual(
      iso('2026-03-07T07:30:00Z', '2026-03-08T07:30:00Z', '2026-03-09T06:30:00Z'),
    );
  });

  it('America/New_York 01:30 happens twice on 2026-11-01: the first (EDT)', () => {
    expect(next('FREQ=DAILY', '2026-10-31T05:30:00Z', 'America/New_York', 3).upcoming).toEqual(
      iso('2026-10-31T05:30:00Z', '2026-11-01T05:30:00Z', '2026-11-02T06:30:00Z'),
    );
  });

  it('Australia/Lord_Howe: a 30-minute change (2026-04-05, +11:00 to +10:30)', () => {
    expect(next('FREQ=DAILY', '2026-04-02T22:00:00Z', 'Australia/Lord_Howe', 4).upcoming).toEqual(
      iso('2026-04-02T22:00:00Z', '2026-04-03T22:00:00Z', '2026-04-04T22:30:00Z', '2026-04-05T22:30:00Z'),
    );
  });

  it('Australia/Lord_Howe: 02:15 does not exist on 2026-10-04 (clocks go 02:00 to 02:30): 02:45', () => {
    // 02:15 +10:30 on Oct 3 is 15:45Z; on Oct 4 02:45 +11:00 is also 15:45Z; then 02:15 +11:00.
    expect(next('FREQ=DAILY', '2026-10-02T15:45:00Z', 'Australia/Lord_Howe', 3).upcoming).toEqual(
      iso('2026-10-02T15:45:00Z', '2026-10-03T15:45:00Z', '2026-10-04T15:15:00Z'),
    );
  });

  it('Asia/Kolkata has no DST: the same instant every day through Europe and America changing', () => {
    expect(next('FREQ=WEEKLY', '2026-03-06T03:30:00Z', 'Asia/Kolkata', 5).upcoming).toEqual(
      iso(
        '2026-03-06T03:30:00Z',
        '2026-03-13T03:30:00Z',
        '2026-03-20T03:30:00Z',
        '2026-03-27T03:30:00Z',
        '2026-04-03T03:30:00Z',
      ),
    );
  });

  it("the wall-clock day is the zone's: Friday 21:00 in New York is Saturday in UTC", () => {
    // 2026-03-06 is a Friday; 21:00 EST is 02:00Z on Saturday.
    expect(next('FREQ=WEEKLY;BYDAY=FR', '2026-03-07T02:00:00Z', 'America/New_York', 2).upcoming).toEqual(
      iso('2026-03-07T02:00:00Z', '2026-03-14T01:00:00Z'),
    );
  });
});

describe('month ends and leap days', () => {
  it('monthly on the 31st skips months without one', () => {
    expect(next('FREQ=MONTHLY;BYMONTHDAY=31', '2026-01-31T09:00:00Z', 'UTC', 5).upcoming).toEqual(
      iso('2026-01-31T09:00Z', '2026-03-31T09:00Z', '2026-05-31T09:00Z', '2026-07-31T09:00Z', '2026-08-31T09:00Z'),
    );
  });

  it('monthly from Jan 31 without BYMONTHDAY skips short months too (RFC 5545)', () => {
    expect(next('FREQ=MONTHLY', '2026-01-31T09:00:00Z', 'UTC', 4).upcoming).toEqual(
      iso('2026-01-31T09:00Z', '2026-03-31T09:00Z', '2026-05-31T09:00Z', '2026-07-31T09:00Z'),
    );
  });

  it('BYMONTHDAY=-1 is the last day of each month', () => {
    expect(next('FREQ=MONTHLY;BYMONTHDAY=-1', '2027-01-10T09:00:00Z', 'UTC', 4).upcoming).toEqual(
      iso('2027-01-31T09:00Z', '2027-02-28T09:00Z', '2027-03-31T09:00Z', '2027-04-30T09:00Z'),
    );
    expect(next('FREQ=MONTHLY;BYMONTHDAY=-1', '2028-01-10T09:00:00Z', 'UTC', 4).upcoming).toEqual(
      iso('2028-01-31T09:00Z', '2028-02-29T09:00Z', '2028-03-31T09:00Z', '2028-04-30T09:00Z'),
    );
  });

  it('yearly from Feb 29 occurs only in leap years', () => {
    expect(next('FREQ=YEARLY', '2028-02-29T09:00:00Z', 'UTC', 3).upcoming).toEqual(
      iso('2028-02-29T09:00Z', '2032-02-29T09:00Z', '2036-02-29T09:00Z'),
    );
  });
});

describe('BYDAY', () => {
  it('the last Friday of each month', () => {
    // 2026-01-01 is a Thursday: not a last Friday, so not an occurrence.
    expect(next('FREQ=MONTHLY;BYDAY=-1FR', '2026-01-01T09:00:00Z', 'UTC', 4).upcoming).toEqual(
      iso('2026-01-30T09:00Z', '2026-02-27T09:00Z', '2026-03-27T09:00Z', '2026-04-24T09:00Z'),
    );
  });

  it('the second Monday of each month', () => {
    expect(next('FREQ=MONTHLY;BYDAY=2MO', '2026-01-01T09:00:00Z', 'UTC', 4).upcoming).toEqual(
      iso('2026-01-12T09:00Z', '2026-02-09T09:00Z', '2026-03-09T09:00Z', '2026-04-13T09:00Z'),
    );
  });

  it('every weekday', () => {
    // From Friday 2026-03-06: the weekend is skipped.
    expect(next('FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR', '2026-03-06T09:00:00Z', 'UTC', 7).upcoming).toEqual(
      iso(
        '2026-03-06T09:00Z',
        '2026-03-09T09:00Z',
        '2026-03-10T09:00Z',
        '2026-03-11T09:00Z',
        '2026-03-12T09:00Z',
        '2026-03-13T09:00Z',
        '2026-03-16T09:00Z',
      ),
    );
  });

  it('the fourth Thursday of November, yearly', () => {
    expect(next('FREQ=YEARLY;BYMONTH=11;BYDAY=4TH', '2026-01-05T17:00:00Z', 'UTC', 4).upcoming).toEqual(
      iso('2026-11-26T17:00Z', '2027-11-25T17:00Z', '2028-11-23T17:00Z', '2029-11-22T17:00Z'),
    );
  });
});

describe('INTERVAL', () => {
  it('every 2 weeks on Monday and Wednesday', () => {
    expect(next('FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE', '2026-03-02T09:00:00Z', 'UTC', 6).upcoming).toEqual(
      iso(
        '2026-03-02T09:00Z',
        '2026-03-04T09:00Z',
        '2026-03-16T09:00Z',
        '2026-03-18T09:00Z',
        '2026-03-30T09:00Z',
        '2026-04-01T09:00Z',
      ),
    );
  });

  it('every 3 months', () => {
    expect(next('FREQ=MONTHLY;INTERVAL=3', '2026-01-15T09:00:00Z', 'UTC', 5).upcoming).toEqual(
      iso('2026-01-15T09:00Z', '2026-04-15T09:00Z', '2026-07-15T09:00Z', '2026-10-15T09:00Z', '2027-01-15T09:00Z'),
    );
  });
});

describe('COUNT and UNTIL', () => {
  const start = '2026-03-06T09:00:00Z';

  it('COUNT=3 gives exactly three occurrences from the start', () => {
    expect(next('FREQ=DAILY;COUNT=3', start, 'UTC')).toEqual({
      upcoming: iso('2026-03-06T09:00Z', '2026-03-07T09:00Z', '2026-03-08T09:00Z'),
      more: false,
    });
    expect(next('FREQ=DAILY;COUNT=3', start, 'UTC', 2)).toEqual({
      upcoming: iso('2026-03-06T09:00Z', '2026-03-07T09:00Z'),
      more: true,
    });
    expect(next('FREQ=DAILY;COUNT=3', start, 'UTC', 8, '2026-03-07T09:00:00Z')).toEqual({
      upcoming: iso('2026-03-08T09:00Z'),
      more: false,
    });
    expect(next('FREQ=DAILY;COUNT=3', start, 'UTC', 8, '2026-03-08T09:00:00Z')).toEqual({ upcoming: [], more: false });
  });

  it('a start that does not match the rule is not an occurrence and is not counted', () => {
    // 2026-03-04 is a Wednesday.
    expect(next('FREQ=WEEKLY;BYDAY=MO;COUNT=3', '2026-03-04T09:00:00Z', 'UTC')).toEqual({
      upcoming: iso('2026-03-09T09:00Z', '2026-03-16T09:00Z', '2026-03-23T09:00Z'),
      more: false,
    });
  });

  it('COUNT across a DST change counts wall-clock occurrences, the gap one included', () => {
    expect(next('FREQ=DAILY;COUNT=3', '2026-03-07T07:30:00Z', 'America/New_York')).toEqual({
      upcoming: iso('2026-03-07T07:30:00Z', '2026-03-08T07:30:00Z', '2026-03-09T06:30:00Z'),
      more: false,
    });
  });

  it("UNTIL as a date includes that whole day in the user's zone", () => {
    expect(next('FREQ=DAILY;UNTIL=20260310', '2026-03-06T08:00:00Z', 'Europe/Berlin')).toEqual({
      upcoming: iso(
        '2026-03-06T08:00Z',
        '2026-03-07T08:00Z',
        '2026-03-08T08:00Z',
        '2026-03-09T08:00Z',
        '2026-03-10T08:00Z',
      ),
      more: false,
    });
    // 21:00 in New York on the 10th is already the 11th in UTC, and still within UNTIL.
    expect(next('FREQ=DAILY;UNTIL=20260310', '2026-03-09T01:00:00Z', 'America/New_York')).toEqual({
      upcoming: iso('2026-03-09T01:00Z', '2026-03-10T01:00Z', '2026-03-11T01:00Z'),
      more: false,
    });
  });

  it('UNTIL as a UTC date-time is inclusive', () => {
    expect(next('FREQ=DAILY;UNTIL=20260310T080000Z', '2026-03-06T08:00:00Z', 'Europe/Berlin').upcoming).toEqual(
      iso('2026-03-06T08:00Z', '2026-03-07T08:00Z', '2026-03-08T08:00Z', '2026-03-09T08:00Z', '2026-03-10T08:00Z'),
    );
    expect(next('FREQ=DAILY;UNTIL=20260310T075959Z', '2026-03-06T08:00:00Z', 'Europe/Berlin')).toEqual({
      upcoming: iso('2026-03-06T08:00Z', '2026-03-07T08:00Z', '2026-03-08T08:00Z', '2026-03-09T08:00Z'),
      more: false,
    });
  });

  it('UNTIL ends `more` exactly at the last occurrence', () => {
    const rule = 'FREQ=DAILY;UNTIL=20260310';
    expect(next(rule, start, 'UTC', 4)).toEqual({
      upcoming: iso('2026-03-06T09:00Z', '2026-03-07T09:00Z', '2026-03-08T09:00Z', '2026-03-09T09:00Z'),
      more: true,
    });
    expect(next(rule, start, 'UTC', 5).more).toBe(false);
  });
});

describe('`after`, `limit` and `more`', () => {
  it('a daily rule started 30 years ago: right and fast', () => {
    const rule = 'FREQ=DAILY';
    const start = new Date('1996-03-04T08:00:00Z'); // 09:00 CET
    upcomingOccurrences(rule, start, 'Europe/Berlin', new Date('2026-01-01T00:00:00Z')); // warm up
    const before = performance.now();
    const schedule = upcomingOccurrences(rule, start, 'Europe/Berlin', new Date('2026-03-25T12:00:00Z'));
    const elapsed = performance.now() - before;
    expect(schedule.upcoming.map((d) => d.toISOString())).toEqual(
      iso(
        '2026-03-26T08:00Z',
        '2026-03-27T08:00Z',
        '2026-03-28T08:00Z',
        '2026-03-29T07:00Z',
        '2026-03-30T07:00Z',
        '2026-03-31T07:00Z',
        '2026-04-01T07:00Z',
        '2026-04-02T07:00Z',
      ),
    );
    expect(schedule.more).toBe(true);
    expect(elapsed).toBeLessThan(50);
  });

  it('an every-2-weeks rule started 30 years ago keeps its phase', () => {
    // 1996-01-01 and 2026-01-05 are Mondays 10,962 days (783 fortnights) apart.
    expect(next('FREQ=WEEKLY;INTERVAL=2;BYDAY=MO', '1996-01-01T09:00:00Z', 'UTC', 3, '2026-01-01T00:00:00Z')).toEqual({
      upcoming: iso('2026-01-05T09:00Z', '2026-01-19T09:00Z', '2026-02-02T09:00Z'),
      more: true,
    });
  });

  it('a COUNT rule far in the past is over', () => {
    expect(next('FREQ=DAILY;COUNT=1000', '1996-01-01T09:00:00Z', 'UTC', 8, '2026-01-01T00:00:00Z')).toEqual({
      upcoming: [],
      more: false,
    });
    // Its 1000th is 1998-09-26.
    expect(next('FREQ=DAILY;COUNT=1000', '1996-01-01T09:00:00Z', 'UTC', 8, '1998-09-25T00:00:00Z')).toEqual({
      upcoming: iso('1998-09-25T09:00Z', '1998-09-26T09:00Z'),
      more: false,
    });
  });

  it('`after` is exclusive; an instant between occurrences starts at the next', () => {
    const start = '2026-03-06T09:00:00Z';
    expect(next('FREQ=DAILY', start, 'UTC', 2, '2026-03-06T09:00:00Z').upcoming).toEqual(
      iso('2026-03-07T09:00Z', '2026-03-08T09:00Z'),
    );
    expect(next('FREQ=DAILY', start, 'UTC', 2, '2026-03-06T09:00:00.001Z').upcoming).toEqual(
      iso('2026-03-07T09:00Z', '2026-03-08T09:00Z'),
    );
    expect(next('FREQ=DAILY', start, 'UTC', 2, '2026-03-06T08:59:59.999Z').upcoming).toEqual(
      iso('2026-03-06T09:00Z', '2026-03-07T09:00Z'),
    );
    // Long before the start: from the start.
    expect(next('FREQ=DAILY', start, 'UTC', 1, '2020-01-01T00:00:00Z').upcoming).toEqual(iso('2026-03-06T09:00Z'));
  });

  it("keeps the start's seconds and milliseconds", () => {
    expect(next('FREQ=DAILY', '2026-03-06T09:15:42.123Z', 'Europe/Berlin', 2).upcoming).toEqual(
      iso('2026-03-06T09:15:42.123Z', '2026-03-07T09:15:42.123Z'),
    );
  });

  it('limit bounds the list, and `more` says whether there is another', () => {
    const start = '2026-03-06T09:00:00Z';
    expect(next('FREQ=DAILY', start, 'UTC').upcoming).toHaveLength(MAX_UPCOMING);
    expect(MAX_UPCOMING).toBe(8);
    expect(next('FREQ=DAILY', start, 'UTC', 0)).toEqual({ upcoming: [], more: true });
    expect(next('FREQ=DAILY;COUNT=2', start, 'UTC', 0)).toEqual({ upcoming: [], more: true });
    expect(next('FREQ=DAILY;COUNT=2', start, 'UTC', 0, '2026-03-07T09:00:00Z')).toEqual({ upcoming: [], more: false });
    expect(next('FREQ=DAILY;COUNT=2', start, 'UTC', 20).upcoming).toHaveLength(2);
    expect(() => next('FREQ=DAILY', start, 'UTC', -1)).toThrow(RangeError);
    expect(() => next('FREQ=DAILY', start, 'UTC', 1.5)).toThrow(RangeError);
  });

  it('a rare occurrence far away is still found (every 999 years on Feb 29)', () => {
    // 2028 + 999k is a leap year first at k = 4: 6024. The next, 10020, is past the year 9999.
    expect(next('FREQ=YEARLY;INTERVAL=999', '2028-02-29T09:00:00Z', 'UTC', 1, '2028-03-01T00:00:00Z')).toEqual({
      upcoming: iso('6024-02-29T09:00Z'),
      more: false,
    });
  });

  it('a rule that never matches gives nothing, without throwing', () => {
    expect(next('FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30', '2026-03-06T09:00:00Z', 'UTC')).toEqual({
      upcoming: [],
      more: false,
    });
    expect(next('FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31', '2026-03-06T09:00:00Z', 'UTC')).toEqual({
      upcoming: [],
      more: false,
    });
  });

  it('refuses a rule or a time zone that is not valid', () => {
    const start = new Date('2026-03-06T09:00:00Z');
    expect(refusal(() => upcomingOccurrences('FREQ=HOURLY', start, 'UTC', start))).toMatch(/^FREQ=HOURLY/);
    expect(refusal(() => upcomingOccurrences('FREQ=DAILY', start, 'Mars/Phobos', start))).toMatch(/Mars\/Phobos/);
  });
});

describe('checkRecurrence', () => {
  const start = new Date('2026-03-06T09:00:00Z');

  it('accepts a rule with an occurrence within 10 years', () => {
    expect(() => checkRecurrence('FREQ=DAILY', start, 'Europe/Berlin')).not.toThrow();
    expect(() => checkRecurrence('FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29', start, 'UTC')).not.toThrow();
    expect(() => checkRecurrence('FREQ=DAILY;UNTIL=20260306', start, 'UTC')).not.toThrow();
    expect(() => checkRecurrence('FREQ=DAILY;BYDAY=MO;COUNT=1000', start, 'UTC')).not.toThrow();
  });

  it('refuses a rule that never occurs', () => {
    expect(refusal(() => checkRecurrence('FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', start, 'UTC'))).toBe(
      'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30: no occurrence within 10 years of the start',
    );
    expect(refusal(() => checkRecurrence('FREQ=DAILY;BYMONTH=2,4,6;BYMONTHDAY=31', start, 'UTC'))).toMatch(
      /no occurrence within 10 years/,
    );
  });

  it('refuses a rule whose first occurrence is more than 10 years away', () => {
    // Feb 29 on a Monday: 2044.
    expect(refusal(() => checkRecurrence('FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO', start, 'UTC'))).toMatch(
      /no occurrence within 10 years/,
    );
  });

  it('refuses an UNTIL before the start', () => {
    expect(refusal(() => checkRecurrence('FREQ=DAILY;UNTIL=20260305', start, 'UTC'))).toBe(
      'UNTIL=20260305: the series ends before it starts',
    );
    expect(refusal(() => checkRecurrence('FREQ=DAILY;UNTIL=20260306T085959Z', start, 'UTC'))).toMatch(/^UNTIL=/);
  });

  it('refuses an UNTIL that ends before the first occurrence', () => {
    // 2026-03-06 is a Friday: the first Monday is the 9th.
    expect(refusal(() => checkRecurrence('FREQ=WEEKLY;BYDAY=MO;UNTIL=20260308', start, 'UTC'))).toMatch(
      /no occurrence/,
    );
  });

  it('refuses a COUNT whose occurrences do not fit the horizon', () => {
    expect(refusal(() => checkRecurrence('FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;COUNT=10', start, 'UTC'))).toMatch(
      /^COUNT=10: only 3 of them/,
    );
  });
});

describe('normalizeRecurrence', () => {
  it('returns the canonical spelling', () => {
    expect(normalizeRecurrence('freq=weekly;byday=we,mo,we;interval=2')).toBe('FREQ=WEEKLY;INTERVAL=2;BYDAY=WE,MO');
    expect(normalizeRecurrence('FREQ=DAILY;INTERVAL=1')).toBe('FREQ=DAILY');
    expect(normalizeRecurrence('COUNT=5;BYDAY=+2mo,-1FR;BYMONTHDAY=+1,1,-1;BYMONTH=03,3,12;FREQ=YEARLY')).toBe(
      'FREQ=YEARLY;BYMONTH=3,12;BYMONTHDAY=1,-1;BYDAY=2MO,-1FR;COUNT=5',
    );
    expect(normalizeRecurrence('until=20261231t235959z;freq=monthly;interval=03')).toBe(
      'FREQ=MONTHLY;INTERVAL=3;UNTIL=20261231T235959Z',
    );
    expect(normalizeRecurrence('FREQ=YEARLY;BYDAY=-53SU,53MO')).toBe('FREQ=YEARLY;BYDAY=-53SU,53MO');
    expect(normalizeRecurrence('FREQ=MONTHLY;BYDAY=5FR;COUNT=1000')).toBe('FREQ=MONTHLY;BYDAY=5FR;COUNT=1000');
    expect(normalizeRecurrence('FREQ=DAILY;UNTIL=20280229')).toBe('FREQ=DAILY;UNTIL=20280229');
  });

  const refused: [string, string][] = [
    ['', 'the rule is empty; it needs at least FREQ'],
    ['FREQ=DAILY;BYMONTH=' + '1,'.repeat(245) + '1', 'the rule is 510 characters long; at most 500'],
    ['FREQ=DAILY; COUNT=2', 'the rule contains white space, which is not allowed'],
    ['RRULE:FREQ=DAILY', 'RRULE: give the rule without the "RRULE:" prefix'],
    ['FREQ=DAILY;', 'the rule has an empty part (a ";" too many)'],
    ['FREQ=DAILY;;COUNT=2', 'the rule has an empty part (a ";" too many)'],
    ['COUNT=2', 'FREQ: missing; every rule needs one'],
    ['FREQ=HOURLY', 'FREQ=HOURLY: FREQ is one of DAILY, WEEKLY, MONTHLY, YEARLY'],
    ['FREQ=SECONDLY', 'FREQ=SECONDLY: FREQ is one of DAILY, WEEKLY, MONTHLY, YEARLY'],
    ['FREQ=DAILY;FREQ=WEEKLY', 'FREQ: given more than once'],
    ['FREQ=DAILY;COUNT=2;COUNT=3', 'COUNT: given more than once'],
    ['FREQ=DAILY;COUNT=', 'COUNT: has no value'],
    ['FREQ=DAILY;COUNT', 'COUNT: has no value'],
    ['FREQ=', 'FREQ: has no value'],
    [
      'FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1',
      'BYSETPOS: not supported; the parts are FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT, UNTIL',
    ],
    [
      'FREQ=DAILY;BYHOUR=9',
      'BYHOUR: not supported; the parts are FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT, UNTIL',
    ],
    [
      'FREQ=WEEKLY;WKST=SU',
      'WKST: not supported; the parts are FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT, UNTIL',
    ],
    [
      'DTSTART=20260101T090000Z;FREQ=DAILY',
      'DTSTART: not supported; the parts are FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, COUNT, UNTIL',
    ],
    ['FREQ=DAILY;INTERVAL=0', 'INTERVAL=0: INTERVAL is a whole number from 1 to 999'],
    ['FREQ=DAILY;INTERVAL=1000', 'INTERVAL=1000: INTERVAL is a whole number from 1 to 999'],
    ['FREQ=DAILY;INTERVAL=-1', 'INTERVAL=-1: INTERVAL is a whole number from 1 to 999'],
    ['FREQ=DAILY;INTERVAL=1.5', 'INTERVAL=1.5: INTERVAL is a whole number from 1 to 999'],
    ['FREQ=DAILY;COUNT=0', 'COUNT=0: COUNT is a whole number from 1 to 1000'],
    ['FREQ=DAILY;COUNT=1001', 'COUNT=1001: COUNT is a whole number from 1 to 1000'],
    ['FREQ=MONTHLY;BYMONTHDAY=32', 'BYMONTHDAY=32: a day of the month is 1 to 31, or -31 to -1 counting from the end'],
    ['FREQ=MONTHLY;BYMONTHDAY=0', 'BYMONTHDAY=0: a day of the month is 1 to 31, or -31 to -1 counting from the end'],
    [
      'FREQ=MONTHLY;BYMONTHDAY=1,-32',
      'BYMONTHDAY=1,-32: a day of the month is 1 to 31, or -31 to -1 counting from the end',
    ],
    ['FREQ=MONTHLY;BYMONTHDAY=1,,2', 'BYMONTHDAY=1,,2: the list has an empty item'],
    ['FREQ=WEEKLY;BYMONTHDAY=1', 'BYMONTHDAY: cannot be used with FREQ=WEEKLY (RFC 5545); use FREQ=MONTHLY'],
    ['FREQ=YEARLY;BYMONTH=13', 'BYMONTH=13: a month is 1 to 12'],
    ['FREQ=YEARLY;BYMONTH=0', 'BYMONTH=0: a month is 1 to 12'],
    ['FREQ=YEARLY;BYMONTH=JAN', 'BYMONTH=JAN: a month is 1 to 12'],
    [
      'FREQ=WEEKLY;BYDAY=XX',
      'BYDAY=XX: a day is one of MO, TU, WE, TH, FR, SA, SU, optionally numbered as in 2MO or -1FR',
    ],
    [
      'FREQ=WEEKLY;BYDAY=MO,MONDAY',
      'BYDAY=MO,MONDAY: a day is one of MO, TU, WE, TH, FR, SA, SU, optionally numbered as in 2MO or -1FR',
    ],
    ['FREQ=WEEKLY;BYDAY=1MO', 'BYDAY=1MO: a numbered day (1MO) needs FREQ=MONTHLY or FREQ=YEARLY'],
    ['FREQ=DAILY;BYDAY=-1FR', 'BYDAY=-1FR: a numbered day (-1FR) needs FREQ=MONTHLY or FREQ=YEARLY'],
    ['FREQ=MONTHLY;BYDAY=0MO', 'BYDAY=0MO: with FREQ=MONTHLY the number of a day is 1 to 5 or -5 to -1'],
    ['FREQ=MONTHLY;BYDAY=6MO', 'BYDAY=6MO: with FREQ=MONTHLY the number of a day is 1 to 5 or -5 to -1'],
    ['FREQ=MONTHLY;BYDAY=-6MO', 'BYDAY=-6MO: with FREQ=MONTHLY the number of a day is 1 to 5 or -5 to -1'],
    ['FREQ=YEARLY;BYDAY=54MO', 'BYDAY=54MO: with FREQ=YEARLY the number of a day is 1 to 53 or -53 to -1'],
    ['FREQ=DAILY;COUNT=3;UNTIL=20261231', 'COUNT and UNTIL cannot both be given'],
    [
      'FREQ=DAILY;UNTIL=2026-12-31',
      'UNTIL=2026-12-31: UNTIL is a date (YYYYMMDD) or a UTC date-time (YYYYMMDDTHHMMSSZ)',
    ],
    ['FREQ=DAILY;UNTIL=20261231T235959', 'UNTIL=20261231T235959: a date-time must be in UTC, ending in Z'],
    ['FREQ=DAILY;UNTIL=20260230', 'UNTIL=20260230: not a real date or time'],
    ['FREQ=DAILY;UNTIL=20261231T246000Z', 'UNTIL=20261231T246000Z: not a real date or time'],
  ];

  it.each(refused)('refuses %j', (rule, detail) => {
    expect(refusal(() => normalizeRecurrence(rule))).toBe(detail);
  });

  it('a RecurrenceError is an Error whose message carries the detail', () => {
    const error = new RecurrenceError('COUNT and UNTIL cannot both be given');
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('COUNT and UNTIL cannot both be given');
  });
});

describe('time zones', () => {
  it.each(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Etc/GMT+5'])(
    'accepts %s',
    (name) => {
      expect(isTimeZone(name)).toBe(true);
    },
  );

  it.each(['Mars/Phobos', '+05:00', '-0500', '', 'America/New York', 'Europe/' + 'x'.repeat(58), 'Europe/Berlin '])(
    'refuses %j',
    (name) => {
      expect(isTimeZone(name)).toBe(false);
      expect(canonicalTimeZone(name)).toBeNull();
    },
  );

  it("spellings: Intl's case for the names it reports, the user's own for links", () => {
    expect(canonicalTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('AMERICA/NEW_YORK')).toBe('America/New_York');
    expect(canonicalTimeZone('utc')).toBe('UTC');
    expect(canonicalTimeZone('Etc/UTC')).toBe('Etc/UTC');
    expect(canonicalTimeZone('US/Eastern')).toBe('US/Eastern');
    // ICU reports these links by their older names (Asia/Calcutta, Europe/Kiev): kept as sent.
    expect(canonicalTimeZone('Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(canonicalTimeZone('Europe/Kyiv')).toBe('Europe/Kyiv');
    expect(new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Kolkata' }).resolvedOptions().timeZone).toBe(
      'Asia/Calcutta',
    );
  });
});
