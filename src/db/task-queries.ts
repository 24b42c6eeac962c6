import { sql, type SQL } from 'drizzle-orm';
import { TASK_JSON } from './sql.ts';

/**
 * The task list as one statement: the page (as JSON, categories included), the total, and the
 * position of the page's last task when more follow (what a cursor carries), so an empty page past
 * the end still says how many there are. Here rather than in the service so the EXPLAIN benchmark
 * (bench/explain.ts) measures exactly the SQL the API runs.
 *
 * Two ways to say where a page starts: `page` (an offset, which Postgres walks through row by row)
 * or `after` (keyset: the sort key and id of the last task already seen, which an index range
 * starts from directly, so page 500 costs what page 1 costs, and rows inserted or deleted before
 * that position do not shift the page). docs/decisions/0012-cursors-and-search.md.
 */

/** Where the previous page ended: the sort key as text (exactly as Postgres compares it) and the id. */
export interface TaskListPosition {
  key: string | null;
  id: string;
}

export interface TaskListFilter {
  limit: number;
  /** A sort field, `-` in front for descending, or `relevance` (best match first; needs `q`). */
  sort: string;
  /** Page mode: 1-based page of `limit` rows. Ignored when `after` is given. */
  page?: number | null | undefined;
  /** Keyset mode: the page starts right after this position. */
  after?: TaskListPosition | null | undefined;
  q?: string | undefined;
  status?: string | undefined;
  priority?: string | undefined;
  due_from?: string | undefined;
  due_to?: string | undefined;
  category_id?: string | undefined;
  /** Only the direct subtasks of this task. */
  parent_id?: string | undefined;
  /** `true`: only tasks without a parent; `false`: only subtasks. */
  top_level?: 'true' | 'false' | undefined;
}

/** What the statement returns: `last` is set only when at least one more task follows the page. */
export type TaskListRow<T> = {
  total: number;
  items: T[];
  last: [key: string | null, id: string] | null;
};

/**
 * `websearch_to_tsquery` accepts any text (unbalanced quotes, stray operators) and never raises a
 * syntax error. `simple`: no stemming, no stop words, so it works the same in every language; the
 * stored document (tasks.search) is built with the same configuration.
 */
const tsQuery = (q: string): SQL => sql`websearch_to_tsquery('simple', ${q})`;

/** The timestamp as text with microseconds: it casts back to exactly the stored value. */
const exactTimestamp = (column: SQL): SQL =>
  sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

interface SortKey {
  /** The value rows are ordered by, on the tasks row `t`. */
  value: SQL;
  /** The same value as text, for the cursor. */
  text: SQL;
  /** A cursor's text back in the value's type. */
  parse: (key: string) => SQL;
}

function sortKey(field: string, q: string | undefined): SortKey {
  switch (field) {
    case 'created_at':
    case 'updated_at':
    case 'due_date': {
      const column = sql.raw(`t.${field}`);
      return { value: column, text: exactTimestamp(column), parse: (key) => sql`${key}::timestamptz` };
    }
    case 'priority':
      return { value: sql`t.priority`, text: sql`t.priority::text`, parse: (key) => sql`${key}::task_priority` };
    case 'status':
      return { value: sql`t.status`, text: sql`t.status::text`, parse: (key) => sql`${key}::task_status` };
    case 'position':
      // Keys compare byte by byte (the column's collation "C"); live siblings never share one.
      return { value: sql`t.position`, text: sql`t.position`, parse: (key) => sql`${key}::text` };
    case 'title':
      return { value: sql`lower(t.title)`, text: sql`lower(t.title)`, parse: (key) => sql`${key}::text` };
    case 'relevance': {
      if (q === undefined) throw new Error('sort relevance without q: the schema should have refused it');
      // ts_rank is a real: its text form casts back to the same real, so the cursor compares exactly.
      const rank = sql`ts_rank(t.search, ${tsQuery(q)})`;
      return { value: rank, text: sql`${rank}::text`, parse: (key) => sql`${key}::real` };
    }
    default:
      throw new Error(`unknown sort ${field}: the schema should have refused it`);
  }
}

export function taskListStatement(userId: string, query: TaskListFilter): SQL {
  const field = query.sort.replace(/^-/, '');
  const key = sortKey(field, query.q);
  const descending = query.sort.startsWith('-') || field === 'relevance';
  const direction = descending ? sql`desc` : sql`asc`;
  // Tasks without a due date come last whichever way due dates are sorted; the id breaks ties.
  // Only due_date says NULLS: on a NOT NULL column it would stop Postgres using the index
  // backwards. Its descending index was made with `id DESC NULLS LAST`, so the id says it too, or
  // the planner adds a sort step to reorder ids it believes could be null.
  const nullable = field === 'due_date';
  const nulls = nullable ? sql` nulls last` : sql``;
  const orderBy = (value: SQL, id: SQL) => sql`${value} ${direction}${nulls}, ${id} ${direction}${nulls}`;
  // By the output columns: the rank is then computed once per row, not again for the ordering.
  const order = orderBy(sql`k`, sql`id`);

  const filters: SQL[] = [sql`t.user_id = ${userId}`, sql`t.deleted_at is null`];
  if (query.q !== undefined) {
    // A query with no words (only punctuation, say) matches nothing, by choice: the planner folds
    // this to a constant false and reads nothing, and Postgres never sees an empty tsquery.
    filters.push(sql`numnode(${tsQuery(query.q)}) > 0`, sql`t.search @@ ${tsQuery(query.q)}`);
  }
  if (query.status) filters.push(sql`t.status = ${query.status}::task_status`);
  if (query.priority) filters.push(sql`t.priority = ${query.priority}::task_priority`);
  if (query.due_from) filters.push(sql`t.due_date >= ${query.due_from}::timestamptz`);
  if (query.due_to) filters.push(sql`t.due_date <= ${query.due_to}::timestamptz`);
  if (query.category_id) {
    filters.push(
      sql`exists (select 1 from task_categories tc where tc.task_id = t.id and tc.category_id = ${query.category_id})`,
    );
  }
  // Subtasks: tasks_parent_idx holds (parent_id, deleted_at) of every task that has a parent.
  if (query.parent_id) filters.push(sql`t.parent_id = ${query.parent_id}`);
  if (query.top_level === 'true') filters.push(sql`t.parent_id is null`);
  if (query.top_level === 'false') filters.push(sql`t.parent_id is not null`);
  const where = sql.join(filters, sql` and `);

  // One row more than the page: if it comes back, another page follows.
  const fetch = query.limit + 1;
  // Keys only: the JSON is built for the page's rows alone, not for every row an offset skips.
  const select = (condition: SQL | null, limit: SQL, offset = 0) =>
    sql`select t.id, ${key.value} as k, ${key.text} as key
          from tasks t where ${where}${condition ? sql` and ${condition}` : sql``}
         order by ${order} limit ${limit}${offset > 0 ? sql` offset ${offset}` : sql``}`;

  let pageCte: SQL;
  const after = query.after;
  if (!after) {
    pageCte = sql`page as (${select(null, sql`${fetch}`, ((query.page ?? 1) - 1) * query.limit)})`;
  } else {
    // Row-value comparisons are index conditions: the scan starts at the position, in index order.
    const beyond = descending ? sql`<` : sql`>`;
    const id = sql`${after.id}::uuid`;
    if (after.key === null) {
      if (!nullable) throw new Error(`a null cursor key for sort ${query.sort}: the cursor check should refuse it`);
      // Already among the tasks without a due date: the rest of them, by id.
      pageCte = sql`page as (${select(sql`${key.value} is null and t.id ${beyond} ${id}`, sql`${fetch}`)})`;
    } else if (!nullable) {
      pageCte = sql`page as (${select(sql`(${key.value}, t.id) ${beyond} (${key.parse(after.key)}, ${id})`, sql`${fetch}`)})`;
    } else {
      // Due dates after the position, then the tasks without one (they come last both ways): two
      // index ranges, since a row comparison never matches NULL. The second is read only when the
      // first runs out (a LIMIT of 0 reads nothing).
      pageCte = sql`head as (${select(sql`(${key.value}, t.id) ${beyond} (${key.parse(after.key)}, ${id})`, sql`${fetch}`)}),
      tail as (${select(sql`${key.value} is null`, sql`(${fetch} - (select count(*) from head))`)}),
      page as (select * from head union all select * from tail)`;
    }
  }

  // The page comes back in order whatever the plan: it is ordered again here (at most 101 rows).
  const pageOrder = orderBy(sql`p.k`, sql`p.id`);
  return sql`
    with ${pageCte}
    select (select count(*) from tasks t where ${where})::int as total,
           coalesce(array_to_json(a.tasks[1:${query.limit}::int]), '[]'::json) as items,
           case when cardinality(a.keys) > ${query.limit}::int then a.keys[${query.limit}::int] end as last
      from (select array_agg(${TASK_JSON} order by ${pageOrder}) as tasks,
                   array_agg(json_build_array(p.key, p.id) order by ${pageOrder}) as keys
              from page p join tasks t on t.id = p.id) a`;
}
