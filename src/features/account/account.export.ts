import { sql, type SQL } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { isoTimestamp, TASK_JSON, USER_JSON } from '../../db/sql.ts';
import { AppError } from '../../lib/errors.ts';
import { MAX_EXPORTED_COMPLETIONS, MAX_EXPORTED_TRASH } from '../../lib/limits.ts';
import { describeError, log } from '../../lib/log.ts';

/**
 * The account export, streamed (docs/decisions/0017): the document is written as it is read, a
 * page of tasks at a time by keyset, so neither the Worker nor Postgres ever holds more than one
 * page, however many tasks and links the user has. The trash is capped: the export holds the
 * MAX_EXPORTED_TRASH most recently deleted tasks and says whether older ones were left out.
 */

/** Tasks per statement: at most about 9 KB each as JSON (2,200 characters of text), 4.5 MB a page. */
export const EXPORT_TASK_PAGE = 500;
/** Links per statement (about 130 bytes each): even 200 categories on 20,000 tasks stay under 400 pages. */
export const EXPORT_LINK_PAGE = 10_000;

/** A timestamp as text with microseconds: it casts back to exactly the stored value (keyset). */
const exact = (column: SQL): SQL => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

type Position = {
  key: string;
  id: string;
};

type Head = {
  user: Record<string, unknown> | null;
  categories: unknown[];
};

/**
 * Reads the profile and the categories (at most 200) before the response starts, so a vanished
 * account is still a clean 401; everything else is read while the body streams.
 */
export async function exportAccountStream(deps: Deps, userId: string): Promise<ReadableStream<Uint8Array>> {
  const exportedAt = deps.clock.now().toISOString();
  const result = await deps.db.execute<Head>(sql`
    select ${USER_JSON} as user,
           coalesce((select json_agg(json_build_object('id', c.id, 'name', c.name, 'color', c.color,
                       'created_at', ${isoTimestamp(sql`c.created_at`)}) order by lower(c.name), c.id)
                     from categories c where c.user_id = u.id), '[]'::json) as categories
      from users u where u.id = ${userId}`);
  const head = result.rows[0];
  if (!head?.user) throw new AppError('UNAUTHENTICATED', 'The account no longer exists.');

  const parts = documentParts(deps, userId, exportedAt, head);
  const encoder = new TextEncoder();
  // pull: the next page is read only when the client has taken the one before (backpressure).
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await parts.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        // Headers are gone: the body stops short, so the client holds invalid JSON and knows it failed.
        log('error', 'export failed mid-stream', { user_id: userId, error: describeError(error) });
        controller.error(new Error('export failed'));
      }
    },
    async cancel() {
      await parts.return(undefined);
    },
  });
}

async function* documentParts(
  deps: Deps,
  userId: string,
  exportedAt: string,
  head: Head,
): AsyncGenerator<string, void, undefined> {
  yield `{"exported_at":${JSON.stringify(exportedAt)},"user":${JSON.stringify(head.user)},"categories":${JSON.stringify(head.categories)},"tasks":[`;
  let written = 0;
  const comma = () => (written++ > 0 ? ',' : '');

  // Live tasks, oldest first (the tasks_user_created_idx order).
  for (let after: Position | null = null; ;) {
    const rows = await taskPage(deps, userId, 'live', after, EXPORT_TASK_PAGE);
    if (rows.length > 0) yield rows.map((r) => comma() + JSON.stringify(r.task)).join('');
    if (rows.length < EXPORT_TASK_PAGE) break;
    after = rows[rows.length - 1]!;
  }

  // The trash, most recently deleted first (tasks_user_trash_idx), up to the cap.
  let oldestTrash: Position | null = null;
  let trashed = 0;
  for (;;) {
    const want = Math.min(EXPORT_TASK_PAGE, MAX_EXPORTED_TRASH - trashed);
    if (want === 0) break;
    const rows = await taskPage(deps, userId, 'trash', oldestTrash, want);
    if (rows.length > 0) {
      yield rows.map((r) => comma() + JSON.stringify(r.task)).join('');
      oldestTrash = rows[rows.length - 1]!;
      trashed += rows.length;
    }
    if (rows.length < want) break;
  }
  const truncated =
    trashed === MAX_EXPORTED_TRASH && (await taskPage(deps, userId, 'trash', oldestTrash, 1)).length > 0;
  yield `],"trash_truncated":${String(truncated)},"task_categories":[`;

  // The links of the exported tasks, in the same order.
  written = 0;
  for (let after: LinkPosition | null = null; ;) {
    const rows = await linkPage(deps, userId, 'live', after, null);
    if (rows.length > 0) yield rows.map((r) => comma() + JSON.stringify(r.link)).join('');
    if (rows.length < EXPORT_LINK_PAGE) break;
    after = rows[rows.length - 1]!;
  }
  if (oldestTrash) {
    for (let after: LinkPosition | null = null; ;) {
      const rows = await linkPage(deps, userId, 'trash', after, oldestTrash);
      if (rows.length > 0) yield rows.map((r) => comma() + JSON.stringify(r.link)).join('');
      if (rows.length < EXPORT_LINK_PAGE) break;
      after = rows[rows.length - 1]!;
    }
  }

  // Completions of repeating tasks, the most recent first, up to the cap.
  yield '],"task_completions":[';
  written = 0;
  let completions = 0;
  let lastCompletion: Position | null = null;
  for (;;) {
    const want = Math.min(EXPORT_LINK_PAGE, MAX_EXPORTED_COMPLETIONS - completions);
    if (want === 0) break;
    const rows = await completionPage(deps, userId, lastCompletion, want);
    if (rows.length > 0) yield rows.map((r) => comma() + JSON.stringify(r.completion)).join('');
    completions += rows.length;
    if (rows.length < want) break;
    lastCompletion = rows[rows.length - 1]!;
  }
  const moreCompletions =
    completions === MAX_EXPORTED_COMPLETIONS && (await completionPage(deps, userId, lastCompletion, 1)).length > 0;
  yield `],"completions_truncated":${String(moreCompletions)}}`;
}

/** A page of the user's completions, newest first (task_completions_user_idx), after `after`. */
async function completionPage(
  deps: Deps,
  userId: string,
  after: Position | null,
  limit: number,
): Promise<(Position & { completion: unknown })[]> {
  const from = after ? sql` and (c.completed_at, c.id) < (${after.key}::timestamptz, ${after.id}::uuid)` : sql``;
  const result = await deps.db.execute<Position & { completion: unknown }>(sql`
    select ${exact(sql`c.completed_at`)} as key, c.id,
           json_build_object('id', c.id, 'task_id', c.task_id, 'due_date', ${isoTimestamp(sql`c.due_date`)},
             'completed_at', ${isoTimestamp(sql`c.completed_at`)}) as completion
      from task_completions c where c.user_id = ${userId}${from}
     order by c.completed_at desc, c.id desc limit ${limit}`);
  return result.rows;
}

type Part = 'live' | 'trash';

/** The ordering of each part: live by creation, oldest first; trash by deletion, newest first. */
function order(part: Part) {
  return part === 'live'
    ? { column: sql`t.created_at`, deleted: sql`t.deleted_at is null`, beyond: sql`>`, direction: sql`asc` }
    : { column: sql`t.deleted_at`, deleted: sql`t.deleted_at is not null`, beyond: sql`<`, direction: sql`desc` };
}

async function taskPage(
  deps: Deps,
  userId: string,
  part: Part,
  after: Position | null,
  limit: number,
): Promise<(Position & { task: unknown })[]> {
  const o = order(part);
  const from = after ? sql` and (${o.column}, t.id) ${o.beyond} (${after.key}::timestamptz, ${after.id}::uuid)` : sql``;
  const result = await deps.db.execute<Position & { task: unknown }>(sql`
    select ${exact(o.column)} as key, t.id, ${TASK_JSON} as task
      from tasks t where t.user_id = ${userId} and ${o.deleted}${from}
     order by ${o.column} ${o.direction}, t.id ${o.direction} limit ${limit}`);
  return result.rows;
}

type LinkPosition = Position & {
  category_id: string;
};

/**
 * A page of links in task order, then category: `until` keeps the trash's links to the tasks the
 * export included (those deleted no earlier than the oldest one written).
 */
async function linkPage(
  deps: Deps,
  userId: string,
  part: Part,
  after: LinkPosition | null,
  until: Position | null,
): Promise<(LinkPosition & { link: unknown })[]> {
  const o = order(part);
  const conditions: SQL[] = [sql`t.user_id = ${userId}`, o.deleted];
  if (after) {
    conditions.push(
      sql`(${o.column}, t.id, tc.category_id) ${o.beyond} (${after.key}::timestamptz, ${after.id}::uuid, ${after.category_id}::uuid)`,
    );
  }
  if (until) conditions.push(sql`(${o.column}, t.id) >= (${until.key}::timestamptz, ${until.id}::uuid)`);
  const result = await deps.db.execute<LinkPosition & { link: unknown }>(sql`
    select ${exact(o.column)} as key, t.id, tc.category_id,
           json_build_object('task_id', tc.task_id, 'category_id', tc.category_id,
             'created_at', ${isoTimestamp(sql`tc.created_at`)}) as link
      from tasks t join task_categories tc on tc.task_id = t.id
     where ${sql.join(conditions, sql` and `)}
     order by ${o.column} ${o.direction}, t.id ${o.direction}, tc.category_id ${o.direction} limit ${EXPORT_LINK_PAGE}`);
  return result.rows;
}
