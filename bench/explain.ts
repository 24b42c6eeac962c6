/**
 * EXPLAIN ANALYZE of the task queries on a realistic data set: 1,000 users, 100,000 tasks (one heavy
 * user with 10,000 of them, the per-user cap), 5% soft-deleted, categories on a third of the tasks.
 * The list SQL is the API's own (src/db/task-queries.ts), rendered by drizzle.
 *
 *   npm run bench:explain        (needs PostgreSQL: STANDINS_POSTGRES_URL, or the binaries on PATH)
 *
 * Prints each query's plan shape and time, and writes the full plans to bench/results/explain.txt.
 */
import fs from 'node:fs';
import path from 'node:path';
import { neon, neonConfig } from '@neondatabase/serverless';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { applyMigrations } from '../drizzle/migrator.ts';
import { startStandIns } from '../dev/stand-ins/server.ts';
import { taskListStatement, type TaskListFilter } from '../src/db/task-queries.ts';

// One heavy user at the per-user cap, 999 with 90 tasks each.
const SEED = `
insert into users (id, email, password_hash, full_name, created_at, updated_at)
select gen_random_uuid(), 'user' || i || '@example.com', '$pbkdf2-sha256$v=1$i=100000,r=6$x$y', 'User ' || i, now(), now()
  from generate_series(1, 1000) i;

with ranked as (select id, row_number() over (order by email) as n from users)
insert into tasks (id, user_id, title, description, status, priority, due_date, created_at, updated_at, deleted_at)
select gen_random_uuid(), r.id,
       'Task ' || g || ' of ' || r.n, case when g % 3 = 0 then 'Some details' end,
       (array['todo','in_progress','done'])[1 + (g % 3)]::task_status,
       (array['low','medium','high','urgent'])[1 + ((g * 7) % 4)]::task_priority,
       case when g % 4 <> 0 then now() + ((g % 60) - 20) * interval '1 day' end,
       now() - (g % 365) * interval '1 day' - (g % 1440) * interval '1 minute',
       now() - (g % 30) * interval '1 day',
       case when g % 20 = 0 then now() - interval '1 day' end
  from ranked r
  cross join lateral generate_series(1, case when r.n = 1 then 10000 else 90 end) g;

insert into categories (id, user_id, name, color, created_at)
select gen_random_uuid(), u.id, 'Category ' || c, '#6B7280', now()
  from users u cross join generate_series(1, 10) c;

insert into task_categories (task_id, category_id, created_at)
select t.id, (select c.id from categories c where c.user_id = t.user_id order by c.name limit 1 offset (abs(hashtext(t.id::text)) % 10)), now()
  from tasks t where abs(hashtext(t.id::text)) % 3 = 0;
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
  ];
  const dialect = new PgDialect();
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
    const shape = plan.filter((l) => /Scan|Sort|Execution Time/.test(l)).map((l) => `    ${l.trim()}`);
    process.stdout.write(`${title}\n${shape.join('\n')}\n`);
  }
  process.stdout.write(`\nfull plans: ${path.relative(process.cwd(), out)}\n`);
} finally {
  await standIns.close();
}

async function explain(pool: pg.Pool, text: string, params: unknown[]): Promise<string> {
  const result = await pool.query<{ 'QUERY PLAN': string }>({
    text: `explain (analyze, buffers, costs off) ${text}`,
    values: params,
  });
  return result.rows.map((r) => r['QUERY PLAN']).join('\n');
}
