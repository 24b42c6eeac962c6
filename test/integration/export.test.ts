import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, register, type Registered } from '../helpers/auth.ts';
import { setupTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Issue 12, item 12: the export is streamed a page at a time, complete and valid JSON however much
 * there is, with the trash capped at the 10,000 most recently deleted tasks.
 */

interface ExportDocument {
  exported_at: string;
  user: { id: string };
  categories: { id: string }[];
  tasks: { id: string; deleted_at: string | null; categories: unknown[] }[];
  trash_truncated: boolean;
  task_categories: { task_id: string; category_id: string; created_at: string }[];
  task_completions: unknown[];
  completions_truncated: boolean;
}

let app: TestApp;

beforeAll(async () => {
  app = await setupTestApp();
});

/** Seeds tasks straight into the database; the same creation (or deletion) time for many of them. */
async function seed(user: Registered, live: number, trashed: number): Promise<void> {
  await app.sql`
    insert into tasks (user_id, title, created_at, position)
    select ${user.userId}, 'Live ' || g, now() - (g % 7) * interval '1 hour', 'z' || left(md5(gen_random_uuid()::text), 26) from generate_series(1, ${live}) g`;
  await app.sql`
    insert into tasks (user_id, title, deleted_at, position)
    select ${user.userId}, 'Trashed ' || g, now() - (g / 3) * interval '1 second', 'z' || left(md5(gen_random_uuid()::text), 26) from generate_series(1, ${trashed}) g`;
}

async function exportOf(user: Registered): Promise<{ text: string; doc: ExportDocument }> {
  const res = await app.request('/api/v1/account/export', bearer(user.accessToken));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const text = await res.text();
  return { text, doc: JSON.parse(text) as ExportDocument };
}

const ids = (rows: Record<string, unknown>[]) => rows.map((r) => String(r.id)).sort();

describe('GET /account/export, streamed', () => {
  it('is complete and valid JSON across many pages of tasks and links, in bounded statements', async () => {
    const user = await register(app);
    const other = await register(app);
    await seed(user, 3_500, 1_100);
    await seed(other, 20, 20);
    await app.sql`
      insert into categories (user_id, name) select ${user.userId}, 'Label ' || g from generate_series(1, 3) g`;
    // Every task three links: 10,500 live links (more than one page) and 3,300 in the trash.
    await app.sql`
      insert into task_categories (task_id, category_id)
      select t.id, c.id from tasks t cross join categories c where t.user_id = ${user.userId} and c.user_id = ${user.userId}`;

    await app.resetCounters();
    const { doc } = await exportOf(user);
    const counters = await app.counters();

    expect(doc.user.id).toBe(user.userId);
    expect(doc.trash_truncated).toBe(false);
    const tasks = await app.sql`select id from tasks where user_id = ${user.userId}`;
    expect(doc.tasks.map((t) => t.id).sort()).toEqual(ids(tasks));
    expect(new Set(doc.tasks.map((t) => t.id)).size).toBe(4_600);
    // Live ones first, then the trash.
    expect(doc.tasks.slice(0, 3_500).every((t) => t.deleted_at === null)).toBe(true);
    expect(doc.tasks.slice(3_500).every((t) => t.deleted_at !== null)).toBe(true);
    expect(doc.tasks.every((t) => t.categories.length === 3)).toBe(true);
    const links = await app.sql`
      select tc.task_id, tc.category_id from task_categories tc join tasks t on t.id = tc.task_id where t.user_id = ${user.userId}`;
    const key = (l: Record<string, unknown>) => `${String(l.task_id)}/${String(l.category_id)}`;
    expect(doc.task_categories.map(key).sort()).toEqual(links.map(key).sort());
    expect(doc.task_categories).toHaveLength(13_800);
    // Pages, not one statement: the profile and categories, 8 live pages of at most 500 (the last
    // one empty), 3 of the trash, 2 of live links (at most 10,000 each), 1 of trashed links and 1
    // of completions (none here).
    expect(counters.neon.requests).toBe(1 + 8 + 3 + 2 + 1 + 1);
    expect(doc.task_completions).toEqual([]);
    expect(doc.completions_truncated).toBe(false);
  }, 60_000);

  it('holds the 10,000 most recently deleted tasks, says the trash was cut, and only their links', async () => {
    const user = await register(app);
    await seed(user, 2, 10_006);
    const [category] =
      await app.sql`insert into categories (user_id, name) values (${user.userId}, 'Old') returning id`;
    // The three oldest deletions are left out, and their links with them; the newest one stays.
    await app.sql`
      insert into task_categories (task_id, category_id)
      select id, ${category?.id} from tasks where user_id = ${user.userId} and deleted_at is not null
       order by deleted_at asc, id asc limit 3`;
    await app.sql`
      insert into task_categories (task_id, category_id)
      select id, ${category?.id} from tasks where user_id = ${user.userId} and deleted_at is not null
       order by deleted_at desc, id desc limit 1`;

    const { doc } = await exportOf(user);
    expect(doc.trash_truncated).toBe(true);
    const trashed = doc.tasks.filter((t) => t.deleted_at !== null);
    expect(trashed).toHaveLength(10_000);
    expect(doc.tasks).toHaveLength(10_002);
    const newest = await app.sql`
      select id from tasks where user_id = ${user.userId} and deleted_at is not null
       order by deleted_at desc, id desc limit 10000`;
    expect(trashed.map((t) => t.id)).toEqual(newest.map((r) => String(r.id)));
    expect(doc.task_categories.map((l) => l.task_id)).toEqual([String(newest[0]?.id)]);
  }, 60_000);

  it('exactly 10,000 in the trash: all of them, not cut', async () => {
    const user = await register(app);
    await seed(user, 0, 10_000);
    const { doc } = await exportOf(user);
    expect(doc.trash_truncated).toBe(false);
    expect(doc.tasks).toHaveLength(10_000);
    expect(doc.task_categories).toEqual([]);
  }, 60_000);

  it('an account with nothing: empty arrays', async () => {
    const user = await register(app);
    const { doc } = await exportOf(user);
    expect(doc).toMatchObject({ categories: [], tasks: [], task_categories: [], trash_truncated: false });
  });
});
