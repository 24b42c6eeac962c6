/**
 * EXPLAIN ANALYZE of the task queries on a realistic data set: 1,000 users, 100,000 tasks (one heavy
 * user with 10,000 of them, the per-user cap), 5% soft-deleted, categories on a third of the tasks.
 * The list SQL is the API's own (src/db/task-queries.ts), rendered by drizzle: filters, sorts, deep
 * pages by offset beside the same pages by cursor, and full-text search.
 *
 *   npm run bench:explain        (needs PostgreSQL: STANDINS_POSTGRES_URL, or the binaries on PATH)
 *
 * Prints each query's plan shape and time (the median of 5 runs), and writes the full plans to
 * bench/results/explain.txt.
 */
import fs from 'node:fs';
import path from 'node:path';
import { neon, neonConfig } from '@neondatabase/serverless';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { applyMigrations } from '../drizzle/migrator.ts';
import { startStandIns } from '../dev/stand-ins/server.ts';
import {
  taskListStatement,
  type TaskListFilter,
  type TaskListPosition,
  type TaskListRow,
} from '../src/db/task-queries.ts';

// One heavy user at the per-user cap, 999 with 90 tasks each.
const SEED = `
insert into users (id, email, password_hash, full_name, created_at, updated_at)
select gen_random_uuid(), 'user' || i || '@example.com', '$pbkdf2-sha256$v=1$i=100000,r=6$x$y', 'User ' || i, now(), now()
  from generate_series(1, 1000) i;

with ranked as (select id, row_number() over (order by email) as n from users)
-- position: a random key of the manual order's format (docs/decisions/0027), unique in practice.
insert into tasks (id, user_id, title, description, status, priority, due_date, created_at, updated_at, deleted_at, position)
select gen_random_uuid(), r.id,
       'Task ' || g || ' of ' || r.n, case when g % 3 = 0 then 'Some details' end,
       (array['todo','in_progress','done'])[1 + (g % 3)]::task_status,
       (array['low','medium','high','urgent'])[1 + ((g * 7) % 4)]::task_priority,
       case when g % 4 <> 0 then now() + ((g % 60) - 20) * interval '1 day' end,
       now() - (g % 365) * interval '1 day' - (g % 1440) * interval '1 minute',
       now() - (g % 30) * interval '1 day',
       case when g % 20 = 0 then now() - interval '1 day' end,
       'z' || left(md5(gen_random_uuid()::text), 26)
  from ranked r
  cross join lateral generate_series(1, case when r.n = 1 then 10000 else 90 end) g;

insert into categories (id, user_id, name, color, created_at)
select gen_random_uuid(), u.id, 'Category ' || c, '#6B7280', now()
  from users u cross join generate_series(1, 10) c;

insert into task_categories (task_id, category_id, created_at)
select t.id, (select c.id from categories c where c.user_id = t.user_id order by c.name limit 1 offset (abs(hashtext(t.id::text)) % 10)), now()
  from tasks t where abs(hashtext(t.id::text)) % 3 = 0;

-- Subtasks: the heaviest user's live tasks in groups of ten, the first of each the parent of the
-- other nine (about 950 parents, 8,550 subtasks).
with heavy as (
  select id, row_number() over (order by created_at, id) as n
    from tasks
   where deleted_at is null
     and user_id = (select user_id from tasks group by user_id order by count(*) desc limit 1)
)
update tasks t set parent_id = p.id
  from heavy c join heavy p on p.n = c.n - (c.n - 1) % 10
 where t.id = c.id and c.n <> p.n;
`;

const database = `edgetask_explain_${Date.now().toString(36)}`;
const standIns = await startStandIns({
  backend: 'real',
  ...(process.env.STANDINS_POSTGRES_URL ? { postgresUrl: process.env.STANDINS_POSTGRES_URL } : {}),
  ...(process.env.STANDINS_REDIS_URL ? { redisUrl: process.env.STANDINS_REDIS_URL } : {}),
  upstashToken: 'explain',
  dropCreatedDatabases: true,
});
try {
  neonConfig.fetchEndpoint = standIns.neonFetchEndpoint;
  await applyMigrations(neon(`postgresql://u:p@explain.local/${database}`));
  const pool = await standIns.sql.pool(database);
  const started = performance.now();
  await pool.query(SEED);
  await pool.query('analyze');
  const counts = await pool.query<{ users: number; tasks: number; links: number }>(
    'select (select count(*) from users)::int as users, (select count(*) from tasks)::int as tasks, (select count(*) from task_categories)::int as links',
  );
  process.stdout.write(
    `seeded ${JSON.stringify(counts.rows[0])} in ${((performance.now() - started) / 1000).toFixed(1)} s\n\n`,
  );

  const heavy = (
    await pool.query<{ id: string }>(`select user_id as id from tasks group by user_id order by count(*) desc limit 1`)
  ).rows[0]!.id;
  const typical = (
    await pool.query<{ id: string }>(
      `select user_id as id from tasks group by user_id order by count(*) limit 1 offset 500`,
    )
  ).rows[0]!.id;
  const category = (await pool.query<{ id: string }>(`select id from categories where user_id = $1 limit 1`, [heavy]))
    .rows[0]!.id;
  const task = (
    await pool.query<{ id: string }>(`select id from tasks where user_id = $1 and deleted_at is null limit 1`, [heavy])
  ).rows[0]!.id;

  const parent = (
    await pool.query<{ id: string }>(
      `select parent_id as id from tasks where user_id = $1 and parent_id is not null limit 1`,
      [heavy],
    )
  ).rows[0]!.id;

  const base: TaskListFilter = { page: 1, limit: 20, sort: '-created_at' };
  const soon = new Date(Date.now() + 7 * 86_400_000).toISOString();
  const cases: [string, string, TaskListFilter][] = [
    ['list, default sort (typical user)', typical, base],
    ['list, default sort (heavy user)', heavy, base],
    ['list, status=todo, sort -due_date', heavy, { ...base, status: 'todo', sort: '-due_date' }],
    ['list, priority=urgent, sort priority', heavy, { ...base, priority: 'urgent', sort: 'priority' }],
    [
      'list, due in the next 7 days, sort due_date',
      heavy,
      { ...base, due_from: new Date().toISOString(), due_to: soon, sort: 'due_date' },
    ],
    ['list, category filter', heavy, { ...base, category_id: category }],
    ['list, sort title, page 50', heavy, { ...base, sort: 'title', page: 50 }],
    ['list, sort -updated_at, limit 100', heavy, { ...base, sort: '-updated_at', limit: 100 }],
    ['list, subtasks of one task (parent_id)', heavy, { ...base, parent_id: parent }],
    ['list, top level only (top_level=true)', heavy, { ...base, top_level: 'true' }],
    ['list, manual order of the top level (sort=position)', heavy, { ...base, top_level: 'true', sort: 'position' }],
    ['list, manual order of subtasks (sort=position)', heavy, { ...base, parent_id: parent, sort: 'position' }],
  ];
  const dialect = new PgDialect();

  // Deep pages: an offset walks past every row before the page; a cursor starts inside the index.
  // The cursor is the one the API hands out at that depth: the statement's own `last`.
  const positionAfter = async (filter: TaskListFilter, rows: number): Promise<TaskListPosition> => {
    const query = dialect.sqlToQuery(taskListStatement(heavy, { ...filter, page: rows / filter.limit }));
    // The stand-ins' pool hands back Postgres' text, as Neon does: the JSON is parsed here.
    const result = await pool.query<{ last: string | null }>(query.sql, query.params);
    const raw = result.rows[0]?.last;
    const last = raw ? (JSON.parse(raw) as TaskListRow<unknown>['last']) : null;
    if (!last) throw new Error(`no position after row ${rows} for ${filter.sort}`);
    return { key: last[0], id: last[1] };
  };
  for (const [sort, rows] of [
    ['-created_at', 20],
    ['-created_at', 8980],
    ['title', 8980],
    ['priority', 8980],
    ['due_date', 8980],
    // 7,500 of the heavy user's 9,500 live tasks have a due date: this page holds the last 20 of
    // them and, from the second index range, the first task without one.
    ['-due_date', 7480],
  ] as const) {
    const filter = { ...base, sort };
    cases.push(
      [`list, sort ${sort}, page ${rows / 20 + 1} (offset ${rows})`, heavy, { ...filter, page: rows / 20 + 1 }],
      [`list, sort ${sort}, cursor after row ${rows}`, heavy, { ...filter, after: await positionAfter(filter, rows) }],
    );
  }

  // Search on the heavy user: "details" is in a third of the descriptions, "4242" in one title.
  const details: TaskListFilter = { ...base, sort: 'relevance', q: 'details' };
  cases.push(
    ['search "details", by relevance', heavy, details],
    ['search "task 4242", by relevance', heavy, { ...details, q: 'task 4242' }],
    ['search "details", status=todo', heavy, { ...details, status: 'todo' }],
    ['search "details", category filter', heavy, { ...details, category_id: category }],
    ['search "details", sort -created_at', heavy, { ...details, sort: '-created_at' }],
    ['search "details", by relevance, page 150 (offset 2980)', heavy, { ...details, page: 150 }],
    [
      'search "details", by relevance, cursor after row 2980',
      heavy,
      { ...details, after: await positionAfter(details, 2980) },
    ],
    ['search without a word ("!!!"): nothing is read', heavy, { ...details, q: '!!!' }],
  );

  const report: string[] = [];
  for (const [name, userId, filter] of cases) {
    const query = dialect.sqlToQuery(taskListStatement(userId, filter));
    report.push(`## ${name}\n${await explain(pool, query.sql, query.params)}`);
  }
  report.push(
    `## get one task with its categories (owner check included)\n${await explain(pool, `select t.user_id, t.title, (select json_agg(c.name) from task_categories tc join categories c on c.id = tc.category_id where tc.task_id = t.id) from tasks t where t.id = $1 and t.deleted_at is null`, [task])}`,
  );

  const out = path.join(import.meta.dirname, 'results', 'explain.txt');
  fs.writeFileSync(out, `${report.join('\n\n')}\n`);
  for (const section of report) {
    const [title, ...plan] = section.split('\n');
    // The root's buffer count: pages touched by the whole statement, steadier than time on a busy machine.
    const buffers = plan[1]?.trim().startsWith('Buffers:') ? [`    total ${plan[1].trim()}`] : [];
    const shape = [...buffers, ...plan.filter((l) => /Scan|Sort|Execution Time/.test(l)).map((l) => `    ${l.trim()}`)];
    process.stdout.write(`${title}\n${shape.join('\n')}\n`);
  }
  process.stdout.write(`\nfull plans: ${path.relative(process.cwd(), out)}\n`);
} finally {
  await standIns.close();
}

/** Runs each plan `runs` times and keeps the one of median time, so a busy machine skews it less. */
async function explain(pool: pg.Pool, text: string, params: unknown[], runs = 5): Promise<string> {
  const plans: { plan: string; ms: number }[] = [];
  for (let run = 0; run < runs; run++) {
    const result = await pool.query<{ 'QUERY PLAN': string }>({
      text: `explain (analyze, buffers, costs off) ${text}`,
      values: params,
    });
    const plan = result.rows.map((r) => r['QUERY PLAN']).join('\n');
    plans.push({ plan, ms: Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? Number.NaN) });
  }
  plans.sort((a, b) => a.ms - b.ms);
  return plans[Math.floor(runs / 2)]!.plan;
}
