import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { register, type Registered } from '../helpers/auth.ts';
import {
  as,
  createCategory,
  createTask,
  inDays,
  type Problem,
  type TaskBody,
  type TaskPage,
} from '../helpers/tasks.ts';
import { setupTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * GET /api/v1/tasks beyond offsets: keyset cursors (stable while another writer inserts and
 * deletes between pages, for every sort, both directions) and full-text search (`q`). The order
 * each walk is checked against is the documented one, written here in SQL independently of
 * src/db/task-queries.ts.
 */

let app: TestApp;

beforeAll(async () => {
  // The walks make many requests per user; the limiter is not what they test.
  app = await setupTestApp({ env: { RATE_LIMIT_USER_PER_MINUTE: '100000' } });
});

async function list(user: Registered, query: string): Promise<TaskPage> {
  const res = await as(app, user.accessToken).get(`/api/v1/tasks?${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json<TaskPage>();
}

async function problem(user: Registered, query: string): Promise<Problem> {
  const res = await as(app, user.accessToken).get(`/api/v1/tasks?${query}`);
  expect(res.status, await res.clone().text()).toBe(400);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  return res.json<Problem>();
}

const ids = (page: TaskPage) => page.items.map((t) => t.id);

/** Every page of a list, by cursor from the first page (which is page mode). */
async function walkAll(user: Registered, query: string): Promise<TaskBody[]> {
  const items: TaskBody[] = [];
  let cursor: string | null = null;
  for (let n = 0; n < 200; n++) {
    const page: TaskPage = await list(user, cursor ? `${query}&cursor=${cursor}` : query);
    expect(page.page).toBe(cursor ? null : 1);
    items.push(...page.items);
    cursor = page.next_cursor;
    if (!cursor) return items;
  }
  throw new Error('the walk did not end');
}

/** Deterministic randomness, so a failing walk can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const STATUSES = ['todo', 'in_progress', 'done'];
const PRIORITIES = ['low', 'medium', 'high', 'urgent'];
// Case variants of one title, non-ASCII letters, and ties everywhere, so the id decides often.
const TITLES = ['alpha plan', 'Alpha plan', 'ALPHA plan', 'beta', 'Beta', 'gamma plan', 'Ärger plan', 'zeta'];

/**
 * 30 tasks written straight to the table (the API cannot set timestamps), with sort keys that tie
 * in groups and carry microseconds the API never shows: a cursor must hold the stored value.
 * Every task mentions "plan" in its title or description, so a search for it lists them all.
 */
async function seed(userId: string): Promise<string[]> {
  const rows = Array.from({ length: 30 }, (_, i) => {
    const title = TITLES[i % TITLES.length]!;
    return {
      title,
      description: title.includes('plan') ? (i % 4 === 0 ? 'plan plan' : null) : 'a plan for later',
      status: STATUSES[i % 3],
      priority: PRIORITIES[(i * 7) % 4],
      due: i % 3 === 0 ? null : `2030-01-0${1 + (i % 4)}T08:00:00.${i % 2 ? '123456' : '000001'}Z`,
      created: `2026-0${1 + (i % 5)}-15T10:00:00.${i % 3}00500Z`,
      updated: `2026-06-01T12:00:00.00000${i % 4}Z`,
    };
  });
  const inserted = await app.sql`
    insert into tasks (id, user_id, title, description, status, priority, due_date, created_at, updated_at, position)
    select gen_random_uuid(), ${userId}, x.title, x.description, x.status::task_status, x.priority::task_priority,
           x.due::timestamptz, x.created::timestamptz, x.updated::timestamptz, 'z' || left(md5(gen_random_uuid()::text), 26)
      from json_to_recordset(${JSON.stringify(rows)}::json)
        as x(title text, description text, status text, priority text, due text, created text, updated text)
    returning id`;
  return inserted.map((r) => r.id as string);
}

/** The documented orders, independently of the API's SQL. */
const ORDER: Record<string, string> = {
  created_at: 't.created_at asc, t.id asc',
  '-created_at': 't.created_at desc, t.id desc',
  updated_at: 'u asc, t.id asc',
  '-updated_at': 'u desc, t.id desc',
  due_date: 't.due_date asc nulls last, t.id asc',
  '-due_date': 't.due_date desc nulls last, t.id desc',
  priority: 't.priority asc, t.id asc',
  '-priority': 't.priority desc, t.id desc',
  status: 't.status asc, t.id asc',
  '-status': 't.status desc, t.id desc',
  title: 'lower(t.title) asc, t.id asc',
  '-title': 'lower(t.title) desc, t.id desc',
  relevance: "ts_rank(t.search, websearch_to_tsquery('simple', $3)) desc, t.id desc",
};

/**
 * Every task of the user that ever matched (deleted ones included) in the sort's order. A delete
 * moves updated_at, so a deleted task is placed by the updated_at it had while it was listed.
 */
async function fullOrder(
  userId: string,
  sort: string,
  q: string | undefined,
  updatedBeforeDelete: Map<string, string>,
): Promise<string[]> {
  const rows = await app.sql.query(
    `select t.id from tasks t
       left join json_to_recordset($2::json) as o(id uuid, updated timestamptz) on o.id = t.id
       cross join lateral (select coalesce(o.updated, t.updated_at) as u) x
      where t.user_id = $1 ${q === undefined ? 'and $3::text is null' : "and t.search @@ websearch_to_tsquery('simple', $3)"}
      order by ${ORDER[sort]}`,
    [userId, JSON.stringify([...updatedBeforeDelete].map(([id, updated]) => ({ id, updated }))), q ?? null],
  );
  return rows.map((r) => r.id as string);
}

const liveCount = async (userId: string, q: string | undefined) =>
  Number(
    (
      await app.sql.query(
        `select count(*)::int as n from tasks t where t.user_id = $1 and t.deleted_at is null
            and ($2::text is null or t.search @@ websearch_to_tsquery('simple', $2))`,
        [userId, q ?? null],
      )
    )[0]?.n,
  );

interface WriterEvent {
  /** The last task of the page read just before the writer acted: where the cursor stood. */
  anchor: string;
  inserted: string;
  deleted: string;
}

describe('cursor pagination under a concurrent writer', () => {
  const cases: [string, string | undefined][] = [
    ...Object.keys(ORDER)
      .filter((s) => s !== 'relevance')
      .map((s): [string, undefined] => [s, undefined]),
    ['relevance', 'plan'],
  ];

  it.each(cases)(
    'sort=%s (q=%s): tasks present throughout appear exactly once, in order; inserts behind the cursor never, ahead once',
    async (sort, q) => {
      const user = await register(app);
      const initial = await seed(user.userId);
      const rng = random([...sort].reduce((h, c) => h * 31 + c.charCodeAt(0), 7));
      const base = `limit=4&sort=${sort}${q ? `&q=${q}` : ''}`;
      const seen: string[] = [];
      const events: WriterEvent[] = [];
      const updatedBeforeDelete = new Map<string, string>();
      let live = new Set(initial);
      let cursor: string | null = null;

      for (let n = 0; ; n++) {
        expect(n, 'the walk ends').toBeLessThan(40);
        const page: TaskPage = await list(user, cursor ? `${base}&cursor=${cursor}` : base);
        // Page mode for the first page, cursor mode after it; total counts every match each time.
        expect(page.page).toBe(cursor ? null : 1);
        expect(page.limit).toBe(4);
        expect(page.total).toBe(await liveCount(user.userId, q));
        seen.push(...ids(page));
        if (!page.next_cursor) {
          expect(page.items.length).toBeLessThanOrEqual(4);
          break;
        }
        expect(page.items).toHaveLength(4);
        cursor = page.next_cursor;

        // The other writer: one new task with random keys, and one original task deleted (the
        // cursor's own anchor on the second page: the cursor holds values, not a row).
        const anchor = page.items.at(-1)!.id;
        const mention = rng() < 0.5 ? 'plan' : 'other';
        const inserted = await createTask(app, user.accessToken, {
          title: `${['Aardvark', 'middle', 'Zulu', 'alpha'][Math.floor(rng() * 4)]} ${mention} ${n}`,
          description: rng() < 0.5 ? 'plan' : null,
          priority: PRIORITIES[Math.floor(rng() * 4)],
          due_date: rng() < 0.3 ? null : inDays(1 + rng() * 2000),
        });
        const candidates = [...live];
        const victim = n === 1 && live.has(anchor) ? anchor : candidates[Math.floor(rng() * candidates.length)]!;
        const [before] = await app.sql`
          select to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as u from tasks where id = ${victim}`;
        updatedBeforeDelete.set(victim, before?.u as string);
        expect((await as(app, user.accessToken).delete(`/api/v1/tasks/${victim}`)).status).toBe(204);
        live = new Set([...live].filter((id) => id !== victim));
        events.push({ anchor, inserted: inserted.id, deleted: victim });
      }

      const order = await fullOrder(user.userId, sort, q, updatedBeforeDelete);
      const position = new Map(order.map((id, i) => [id, i]));
      // In order and never twice: each task seen lies strictly after the one before it.
      const positions = seen.map((id) => position.get(id) ?? -1);
      expect(positions.every((p) => p >= 0)).toBe(true);
      for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1]!);
      const seenSet = new Set(seen);
      // Present throughout (never deleted, matching): exactly once.
      for (const id of live) if (position.has(id)) expect(seenSet.has(id), `kept ${id}`).toBe(true);
      for (const event of events) {
        const anchorAt = position.get(event.anchor)!;
        // Deleted after a page: seen if and only if it came at or before that page's end.
        expect(seenSet.has(event.deleted), `deleted ${event.deleted}`).toBe(
          position.has(event.deleted) && position.get(event.deleted)! <= anchorAt,
        );
        // Inserted after a page: seen if and only if it sorts after that page's end.
        const insertedAt = position.get(event.inserted);
        expect(seenSet.has(event.inserted), `inserted ${event.inserted}`).toBe(
          insertedAt !== undefined && insertedAt > anchorAt,
        );
      }
      expect(events.length, 'the writer acted between pages').toBeGreaterThan(3);
    },
    30_000,
  );
});

describe('cursor pagination', () => {
  let user: Registered;
  let category: { id: string };

  beforeAll(async () => {
    user = await register(app);
    await seed(user.userId);
    category = await createCategory(app, user.accessToken, 'Cursor walk');
    const [first, second, third] = (await list(user, 'limit=3&sort=title')).items;
    for (const task of [first!, second!, third!]) {
      await as(app, user.accessToken).post(`/api/v1/tasks/${task.id}/categories/${category.id}`);
    }
  });

  it.each([
    'sort=-due_date&status=todo',
    'sort=priority&priority=high',
    'sort=due_date&due_from=2030-01-02T00:00:00Z&due_to=2030-01-03T23:00:00Z',
    'sort=title&category_id=CAT',
    'sort=created_at&q=alpha',
    'q=plan&status=done',
    'q=plan&priority=low&sort=-updated_at',
    'q=plan&category_id=CAT',
    'q=plan&due_from=2030-01-02T00:00:00Z',
  ])('by cursor (limit 2) lists exactly what one big page lists: %s', async (query) => {
    const filters = query.replace('CAT', category.id);
    const whole = await list(user, `${filters}&limit=100`);
    expect(whole.next_cursor).toBeNull();
    const walked = await walkAll(user, `${filters}&limit=2`);
    expect(walked.map((t) => t.id)).toEqual(ids(whole));
    expect(whole.total).toBe(whole.items.length);
    expect(whole.total).toBeGreaterThan(0);
  });

  it('continues page mode by cursor: page 1, then the cursor gives what page 2 gives', async () => {
    const first = await list(user, 'limit=5&sort=-due_date');
    expect(first).toMatchObject({ page: 1, limit: 5, total: 30 });
    const byCursor = await list(user, `limit=5&sort=-due_date&cursor=${first.next_cursor}`);
    const byPage = await list(user, 'limit=5&sort=-due_date&page=2');
    expect(ids(byCursor)).toEqual(ids(byPage));
    expect(byCursor).toMatchObject({ page: null, total: 30 });
    expect(byPage.page).toBe(2);
    // Both modes say where the next page starts, and from the same task they say the same.
    expect(byPage.next_cursor).toBe(byCursor.next_cursor);
  });

  it('says null on the last page, also when the last page is exactly full', async () => {
    expect((await list(user, 'limit=30')).next_cursor).toBeNull();
    expect((await list(user, 'limit=29')).next_cursor).not.toBeNull();
    expect((await list(user, 'limit=10&page=3')).next_cursor).toBeNull();
    expect((await list(user, 'limit=10&page=4')).items).toEqual([]);
  });

  it('walks into and through the tasks without a due date, both directions', async () => {
    for (const sort of ['due_date', '-due_date']) {
      const walked = await walkAll(user, `sort=${sort}&limit=3`);
      const dues = walked.map((t) => t.due_date);
      expect(dues.slice(-10)).toEqual(Array(10).fill(null));
      expect(dues.slice(0, 20).every((d) => d !== null)).toBe(true);
      expect(new Set(walked.map((t) => t.id)).size).toBe(30);
    }
  });

  it('holds keys longer than the API shows: 200-character titles, astral and control characters', async () => {
    const other = await register(app);
    for (const title of [`${'𝔘'.repeat(199)}\u0002`, '\u0001'.repeat(200), `${'𝔘'.repeat(199)}\u0001`, 'zzz']) {
      await createTask(app, other.accessToken, { title });
    }
    const whole = await list(other, 'sort=title&limit=100');
    const walked: TaskBody[] = [];
    const lengths: number[] = [];
    let cursor: string | null = null;
    do {
      const page: TaskPage = await list(other, `sort=title&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      walked.push(...page.items);
      cursor = page.next_cursor;
      if (cursor) lengths.push(cursor.length);
    } while (cursor);
    expect(walked.map((t) => t.id)).toEqual(ids(whole));
    expect(walked).toHaveLength(4);
    // Every character of the 200 control characters is escaped in the cursor's JSON: the longest key.
    expect(Math.max(...lengths)).toBeGreaterThan(1500);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(2048);
  });
});

describe('cursor errors', () => {
  let user: Registered;
  let titleCursor: string;
  let searchCursor: string;

  const encode = (value: unknown) =>
    btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(value))))
      .replaceAll('+', '-')
      .replaceAll('/', '_')
      .replace(/=+$/, '');
  const decode = (cursor: string) =>
    JSON.parse(
      new TextDecoder().decode(
        Uint8Array.from(atob(cursor.replaceAll('-', '+').replaceAll('_', '/')), (c) => c.charCodeAt(0)),
      ),
    ) as Record<string, unknown>;

  beforeAll(async () => {
    user = await register(app);
    await seed(user.userId);
    titleCursor = (await list(user, 'sort=title&limit=2')).next_cursor!;
    searchCursor = (await list(user, 'q=plan&limit=2')).next_cursor!;
  });

  it('decodes to a small document naming the sort and the position', () => {
    expect(decode(titleCursor)).toEqual({
      v: 1,
      s: 'title',
      k: 'alpha plan',
      i: expect.stringMatching(/^[0-9a-f-]{36}$/) as string,
    });
    expect(decode(searchCursor)).toMatchObject({ s: 'relevance', q: expect.stringMatching(/^[0-9a-f]{8}$/) as string });
  });

  it.each([
    ['made for another sort', () => `sort=-title&cursor=${titleCursor}`],
    ['made for the default sort, used with another', () => `sort=created_at&cursor=${titleCursor}`],
    ['made for another search', () => `q=plans&cursor=${searchCursor}`],
    ['a relevance cursor without q', () => `sort=created_at&cursor=${searchCursor}`],
    ['not base64url', () => 'cursor=abc!def'],
    ['truncated', () => `sort=title&cursor=${titleCursor.slice(0, -5)}`],
    ['one character', () => 'cursor=A'],
    ['base64 of text', () => `cursor=${encode('hello').slice(1, -1)}`],
    ['JSON of another shape', () => `cursor=${encode([1, 'title', 'a', crypto.randomUUID()])}`],
    ['an extra member', () => `sort=title&cursor=${encode({ ...decode(titleCursor), admin: true })}`],
    ['another version', () => `sort=title&cursor=${encode({ ...decode(titleCursor), v: 2 })}`],
    ['an id that is no UUID', () => `sort=title&cursor=${encode({ ...decode(titleCursor), i: "1' or 1=1" })}`],
    [
      'a date that does not exist',
      () =>
        `sort=due_date&cursor=${encode({ v: 1, s: 'due_date', k: '2030-02-30T00:00:00.000000Z', i: crypto.randomUUID() })}`,
    ],
    [
      'year 0',
      () =>
        `sort=created_at&cursor=${encode({ v: 1, s: 'created_at', k: '0000-01-01T00:00:00.000000Z', i: crypto.randomUUID() })}`,
    ],
    [
      'a date as text',
      () => `sort=created_at&cursor=${encode({ v: 1, s: 'created_at', k: 'yesterday', i: crypto.randomUUID() })}`,
    ],
    [
      'a null key where the sort has no nulls',
      () => `sort=created_at&cursor=${encode({ v: 1, s: 'created_at', k: null, i: crypto.randomUUID() })}`,
    ],
    [
      'an unknown priority',
      () => `sort=priority&cursor=${encode({ v: 1, s: 'priority', k: 'critical', i: crypto.randomUUID() })}`,
    ],
    ['a rank out of range', () => `q=plan&cursor=${encode({ ...decode(searchCursor), k: '1e99' })}`],
    ['a rank that is no number', () => `q=plan&cursor=${encode({ ...decode(searchCursor), k: 'NaN' })}`],
    ['a NUL in a title key', () => `sort=title&cursor=${encode({ ...decode(titleCursor), k: 'a\u0000b' })}`],
    ['too long', () => `cursor=${'A'.repeat(2049)}`],
    ['empty', () => 'cursor='],
  ])('400 with a pointer to /query/cursor for a cursor %s', async (_what, query) => {
    const body = await problem(user, query());
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.errors?.map((e) => e.pointer)).toEqual(['/query/cursor']);
  });

  it('400 for cursor with page, and for sort=relevance without q', async () => {
    expect((await problem(user, `sort=title&page=2&cursor=${titleCursor}`)).errors).toEqual([
      { pointer: '/query/cursor', message: expect.stringContaining('page') as string },
    ]);
    expect((await problem(user, 'sort=relevance')).errors?.map((e) => e.pointer)).toEqual(['/query/sort']);
  });

  it('a forged but well-formed cursor only chooses where in your own list a page starts', async () => {
    const bob = await register(app);
    const forged = encode({ v: 1, s: 'title', k: '', i: '00000000-0000-0000-0000-000000000000' });
    const page = await list(bob, `sort=title&cursor=${forged}`);
    expect(page).toEqual({ items: [], total: 0, page: null, limit: 20, next_cursor: null });
    const own = await list(user, `sort=title&limit=30&cursor=${forged}`);
    expect(own.items).toHaveLength(30);
    expect(own.items.every((t) => t.user_id === user.userId)).toBe(true);
  });

  it('whatever the cursor and q, the answer is 200 or a 400 problem, never a 5xx', async () => {
    const documents = fc.record(
      {
        v: fc.oneof(fc.constant(1), fc.anything()),
        s: fc.oneof(fc.constantFrom('title', '-due_date', 'relevance', 'created_at'), fc.string()),
        k: fc.oneof(
          fc.string(),
          fc.constant(null),
          fc.double().map(String),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        ),
        i: fc.oneof(fc.uuid().map(String), fc.string()),
      },
      { requiredKeys: [] },
    );
    const cursor = fc.oneof(
      fc.string({ maxLength: 60 }),
      documents.map(encode),
      fc.constantFrom(titleCursor, searchCursor),
    );
    const q = fc.option(
      fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constantFrom('plan', ':*', '!!', "'", '\\', '" or -')),
      { nil: undefined },
    );
    const sort = fc.option(fc.constantFrom('title', '-due_date', 'relevance', 'created_at'), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(cursor, q, sort, async (c, s, o) => {
        const params = new URLSearchParams({ cursor: c, limit: '3' });
        if (s !== undefined) params.set('q', s);
        if (o !== undefined) params.set('sort', o);
        const res = await as(app, user.accessToken).get(`/api/v1/tasks?${params.toString()}`);
        expect([200, 400], `${params.toString()}: ${await res.clone().text()}`).toContain(res.status);
        if (res.status === 400) expect(res.headers.get('content-type')).toBe('application/problem+json');
        await res.body?.cancel();
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});

describe('search: q', () => {
  let user: Registered;
  let tasks: Record<string, TaskBody>;
  let work: { id: string };

  beforeAll(async () => {
    user = await register(app);
    work = await createCategory(app, user.accessToken, 'Work');
    const specs: Record<string, Record<string, unknown>> = {
      titleMatch: { title: 'Quarterly report', priority: 'high', due_date: inDays(3) },
      descriptionMatch: { title: 'Numbers for Q4', description: 'The quarterly report is due', due_date: inDays(30) },
      both: { title: 'Report draft', description: 'quarterly numbers', priority: 'low' },
      unrelated: { title: 'Buy milk', description: 'semi-skimmed' },
      cafe: { title: 'Café au lait', description: 'Übung macht den Meister' },
      japanese: { title: '日本語のテキスト', description: 'こんにちは 世界' },
      punctuation: { title: 'C++ & Rust: a comparison', description: "it's 100% done?" },
    };
    tasks = {};
    for (const [name, spec] of Object.entries(specs)) tasks[name] = await createTask(app, user.accessToken, spec);
    await as(app, user.accessToken).patch(`/api/v1/tasks/${tasks.both!.id}`, { status: 'done', version: 1 });
    await as(app, user.accessToken).post(`/api/v1/tasks/${tasks.descriptionMatch!.id}/categories/${work.id}`);
  });

  const search = (query: string) => list(user, query);
  const names = (page: TaskPage) => page.items.map((t) => Object.entries(tasks).find(([, v]) => v.id === t.id)?.[0]);

  it('ranks a title match above a description match, best first by default', async () => {
    const page = await search('q=quarterly%20report');
    expect(names(page)).toEqual(['titleMatch', 'both', 'descriptionMatch']);
    expect(page).toMatchObject({ total: 3, page: 1, next_cursor: null });
    // Every word must match, in either field; one of them in the title is enough to rank higher.
    expect(names(await search('q=quarterly%20numbers'))).toEqual(['descriptionMatch', 'both']);
  });

  it('ignores case and punctuation, and keeps web-search syntax: "phrases", or, -word', async () => {
    expect(names(await search('q=QUARTERLY'))).toEqual(['titleMatch', 'both', 'descriptionMatch']);
    expect(names(await search(`q=${encodeURIComponent('"report is due"')}`))).toEqual(['descriptionMatch']);
    expect(names(await search(`q=${encodeURIComponent('milk or lait')}`)).sort()).toEqual(['cafe', 'unrelated']);
    // (With a negation ts_rank hardly tells matches apart, so only the set is checked.)
    expect(names(await search(`q=${encodeURIComponent('quarterly -draft')}`)).sort()).toEqual([
      'descriptionMatch',
      'titleMatch',
    ]);
    expect(names(await search(`q=${encodeURIComponent('report!!! (draft)')}`))).toEqual(['both']);
  });

  it('finds words in any script', async () => {
    expect(names(await search(`q=${encodeURIComponent('café')}`))).toEqual(['cafe']);
    expect(names(await search(`q=${encodeURIComponent('ÜBUNG')}`))).toEqual(['cafe']);
    expect(names(await search(`q=${encodeURIComponent('日本語のテキスト')}`))).toEqual(['japanese']);
    expect(names(await search(`q=${encodeURIComponent('世界')}`))).toEqual(['japanese']);
    expect(names(await search(`q=${encodeURIComponent('rust')}`))).toEqual(['punctuation']);
  });

  it.each(['!!!', '...', '&|!()', ':*', '"', '-', '—', '🎉', ' ', "'", '\\', '<->'])(
    'a query without words (%s) is an empty page, not an error or the whole list',
    async (q) => {
      expect(await search(`q=${encodeURIComponent(q)}`)).toEqual({
        items: [],
        total: 0,
        page: 1,
        limit: 20,
        next_cursor: null,
      });
    },
  );

  it.each([
    ['status=done', ['both']],
    ['priority=high', ['titleMatch']],
    [`due_from=${encodeURIComponent(inDays(10))}`, ['descriptionMatch']],
    [`due_to=${encodeURIComponent(inDays(10))}`, ['titleMatch']],
    ['category_id=WORK', ['descriptionMatch']],
    ['sort=title', ['descriptionMatch', 'titleMatch', 'both']],
    ['sort=-created_at', ['both', 'descriptionMatch', 'titleMatch']],
  ])('combines with %s', async (filter, expected) => {
    const page = await search(`q=quarterly&${filter.replace('WORK', work.id)}`);
    expect(names(page)).toEqual(expected);
    expect(page.total).toBe(expected.length);
  });

  it('pages by cursor in relevance order (the rank goes in the cursor)', async () => {
    const first = await search('q=quarterly&limit=1');
    expect(names(first)).toEqual(['titleMatch']);
    const second = await search(`q=quarterly&limit=1&cursor=${first.next_cursor}`);
    const third = await search(`q=quarterly&limit=1&cursor=${second.next_cursor}`);
    expect([...names(second), ...names(third)]).toEqual(['both', 'descriptionMatch']);
    expect(third).toMatchObject({ next_cursor: null, total: 3, page: null });
  });

  it('follows edits (the document is a generated column) and never shows deleted tasks', async () => {
    const task = await createTask(app, user.accessToken, { title: 'Walk the dog' });
    expect(names(await search('q=dog')).length).toBe(1);
    await as(app, user.accessToken).patch(`/api/v1/tasks/${task.id}`, { title: 'Walk the cat', version: 1 });
    expect((await search('q=dog')).total).toBe(0);
    expect(ids(await search('q=cat'))).toEqual([task.id]);
    const [row] = await app.sql`select search::text as search from tasks where id = ${task.id}`;
    expect(row?.search).toBe("'cat':3A 'the':2A 'walk':1A");
    await as(app, user.accessToken).delete(`/api/v1/tasks/${task.id}`);
    expect((await search('q=cat')).total).toBe(0);
  });

  it("never finds another user's tasks", async () => {
    const bob = await register(app);
    expect(await list(bob, 'q=quarterly')).toMatchObject({ items: [], total: 0 });
  });

  it.each([
    ['q=', '/query/q'],
    [`q=${'x'.repeat(201)}`, '/query/q'],
    ['q=a%00b', '/query/q'],
    ['q=plan&sort=relevant', '/query/sort'],
  ])('400 for %s', async (query, pointer) => {
    expect((await problem(user, query)).errors?.map((e) => e.pointer)).toContain(pointer);
  });

  it('takes 200 characters', async () => {
    expect((await search(`q=${'ü'.repeat(200)}`)).total).toBe(0);
  });
});

describe('storage and round trips', () => {
  const timing = (res: Response, service: string) =>
    Number(new RegExp(`desc="${service} x(\\d+)"`).exec(res.headers.get('server-timing') ?? '')?.[1]);

  it('the search index is a partial GIN index over (user_id, document), with btree_gin', async () => {
    const [index] = await app.sql`select indexdef from pg_indexes where indexname = 'tasks_user_search_idx'`;
    expect(index?.indexdef).toMatch(/USING gin \(user_id, search\) WHERE \(deleted_at IS NULL\)/);
    const [extension] = await app.sql`select extname from pg_extension where extname = 'btree_gin'`;
    expect(extension?.extname).toBe('btree_gin');
  });

  it.each([
    ['a first page', () => 'limit=2&sort=due_date'],
    ['a cursor page', () => `limit=2&sort=due_date&cursor=CURSOR`],
    ['a search', () => 'q=plan&limit=2'],
    ['a search cursor page', () => 'q=plan&limit=2&cursor=SEARCH'],
  ])('%s: one Neon and one Upstash request, and none to Neon when cached', async (_what, query) => {
    const user = await register(app);
    await seed(user.userId);
    // Cursors from pages of another size, so the measured requests are not cached yet.
    const cursor = (await list(user, 'limit=3&sort=due_date')).next_cursor!;
    const searchCursor = (await list(user, 'q=plan&limit=3')).next_cursor!;
    const path = `/api/v1/tasks?${query().replace('CURSOR', cursor).replace('SEARCH', searchCursor)}`;

    await app.resetCounters();
    const miss = await as(app, user.accessToken).get(path);
    expect(miss.status).toBe(200);
    expect(miss.headers.get('x-cache')).toBe('miss');
    expect([timing(miss, 'Neon'), timing(miss, 'Upstash')]).toEqual([1, 1]);
    // The stand-ins saw the same, plus the cache fill after the response.
    const afterMiss = await app.counters();
    expect([afterMiss.neon.requests, afterMiss.upstash.requests]).toEqual([1, 2]);
    expect((await miss.json<TaskPage>()).items).toHaveLength(2);

    await app.resetCounters();
    const hit = await as(app, user.accessToken).get(path);
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect([timing(hit, 'Neon'), timing(hit, 'Upstash')]).toEqual([0, 1]);
    const afterHit = await app.counters();
    expect([afterHit.neon.requests, afterHit.upstash.requests]).toEqual([0, 1]);
  });
});

describe('the OpenAPI document', () => {
  interface Parameter {
    name: string;
    in: string;
    required?: boolean;
    description?: string;
    schema: Record<string, unknown>;
  }
  interface Doc {
    paths: Record<string, Record<string, { parameters: Parameter[] }>>;
    components: {
      schemas: Record<string, { properties: Record<string, Record<string, unknown>>; required: string[] }>;
    };
  }

  it('describes cursor, q and relevance with their limits, and the page fields', async () => {
    const doc = await (await app.request('/openapi.json')).json<Doc>();
    const parameters = doc.paths['/api/v1/tasks']!.get!.parameters;
    const param = (name: string) => parameters.find((p) => p.name === name && p.in === 'query');
    expect(param('cursor')).toMatchObject({
      required: false,
      schema: { type: 'string', maxLength: 2048, pattern: '^[A-Za-z0-9_-]+$' },
      description: expect.stringContaining('next_cursor') as string,
    });
    expect(param('q')).toMatchObject({ required: false, schema: { type: 'string', minLength: 1, maxLength: 200 } });
    expect(param('sort')?.schema.enum).toContain('relevance');
    expect(param('page')).toMatchObject({ required: false, schema: { minimum: 1, maximum: 10000, default: 1 } });

    const page = doc.components.schemas.TaskPage!;
    expect(page.required).toEqual(expect.arrayContaining(['items', 'total', 'page', 'limit', 'next_cursor']));
    expect(page.properties.page).toMatchObject({ type: ['integer', 'null'], minimum: 1 });
    expect(page.properties.next_cursor).toMatchObject({ type: ['string', 'null'], maxLength: 2048 });
  });
});
