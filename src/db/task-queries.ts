import { sql, type SQL } from 'drizzle-orm';
import { TASK_JSON } from './sql.ts';

/**
 * The task list as one statement: the page (as JSON, categories included) and the total, so an
 * empty page past the end still says how many there are. Here rather than in the service so the
 * EXPLAIN benchmark (bench/explain.ts) measures exactly the SQL the API runs.
 */

export interface TaskListFilter {
  page: number;
  limit: number;
  sort: string;
  status?: string | undefined;
  priority?: string | undefined;
  due_from?: string | undefined;
  due_to?: string | undefined;
  category_id?: string | undefined;
}

const SORT_COLUMNS: Record<string, SQL> = {
  created_at: sql`t.created_at`,
  updated_at: sql`t.updated_at`,
  due_date: sql`t.due_date`,
  priority: sql`t.priority`,
  status: sql`t.status`,
  title: sql`lower(t.title)`,
};

export function taskListStatement(userId: string, query: TaskListFilter): SQL {
  const descending = query.sort.startsWith('-');
  const column = SORT_COLUMNS[query.sort.replace(/^-/, '')];
  if (!column) throw new Error(`unknown sort ${query.sort}: the schema should have refused it`);
  const direction = descending ? sql`desc` : sql`asc`;
  // Tasks without a due date come last whichever way due dates are sorted; the id breaks ties.
  // Only due_date says NULLS: on a NOT NULL column it would stop Postgres using the index backwards.
  const nulls = query.sort.endsWith('due_date') ? sql` nulls last` : sql``;
  const order = sql`${column} ${direction}${nulls}, t.id ${direction}`;

  const filters: SQL[] = [sql`t.user_id = ${userId}`, sql`t.deleted_at is null`];
  if (query.status) filters.push(sql`t.status = ${query.status}::task_status`);
  if (query.priority) filters.push(sql`t.priority = ${query.priority}::task_priority`);
  if (query.due_from) filters.push(sql`t.due_date >= ${query.due_from}::timestamptz`);
  if (query.due_to) filters.push(sql`t.due_date <= ${query.due_to}::timestamptz`);
  if (query.category_id) {
    filters.push(
      sql`exists (select 1 from task_categories tc where tc.task_id = t.id and tc.category_id = ${query.category_id})`,
    );
  }
  const where = sql.join(filters, sql` and `);
  const offset = (query.page - 1) * query.limit;

  return sql`
    with page as (
      select ${TASK_JSON} as task from tasks t where ${where} order by ${order} limit ${query.limit} offset ${offset}
    )
    select (select count(*) from tasks t where ${where})::int as total,
           coalesce((select json_agg(task) from page), '[]'::json) as items`;
}
