import type { z } from '@hono/zod-openapi';
import { sql, type SQL } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { isoTimestamp, TASK_JSON } from '../../db/sql.ts';
import { fromBase64Url, toBase64Url } from '../../lib/base64url.ts';
import { AppError } from '../../lib/errors.ts';
import type { ChangesPageSchema, TaskChange } from './tasks.schemas.ts';

/**
 * Delta sync (docs/decisions/0013-delta-sync.md). Every task write stamps the user's next change
 * number on the rows it touches, under a per-user lock, so change numbers commit in order: a
 * reader that sees change n has seen every change before it. A feed page is every task whose last
 * change is past the cursor (its current state, or a tombstone if it is in the trash) and every
 * removed category link past the cursor, in change order.
 *
 * One statement may stamp one number on many rows (deleting a category touches every task that had
 * it), so a position is the change number plus the row's key: (seq, kind, a, b), kind 0 for a task
 * (a = its id), 1 for a removed link (a = task, b = category).
 */

const NIL = '00000000-0000-0000-0000-000000000000';

export interface FeedPosition {
  seq: number;
  kind: 0 | 1;
  a: string;
  b: string;
}

// Before everything: rows written before delta sync existed carry change number 0, and no id is NIL.
const START: FeedPosition = { seq: 0, kind: 0, a: NIL, b: NIL };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeSyncCursor(p: FeedPosition): string {
  return toBase64Url(`s1.${p.seq}.${p.kind}.${p.a}.${p.b}`);
}

/** The position a cursor names, or null if it is not one this API made. */
export function decodeSyncCursor(cursor: string): FeedPosition | null {
  const bytes = fromBase64Url(cursor);
  if (!bytes) return null;
  const [tag, seq, kind, a, b, ...rest] = new TextDecoder().decode(bytes).split('.');
  if (tag !== 's1' || rest.length > 0 || !seq || !/^(0|[1-9][0-9]{0,15})$/.test(seq)) return null;
  if ((kind !== '0' && kind !== '1') || !a || !b || !UUID.test(a) || !UUID.test(b)) return null;
  const n = Number(seq);
  if (!Number.isSafeInteger(n)) return null;
  return { seq: n, kind: kind === '0' ? 0 : 1, a, b };
}

export type ChangesPage = z.infer<typeof ChangesPageSchema>;

/**
 * SQL: whether the feed holds anything past `since` that a client at that cursor has not seen (a
 * change, or a purged tombstone it may have missed). The batch endpoint asks it under the user's
 * row lock, before its own writes.
 */
export function changesAfter(userId: string, since: FeedPosition): SQL {
  return sql`(exists (select 1 from tasks t where t.user_id = ${userId} and t.change_seq >= ${since.seq}
                and (t.change_seq, 0, t.id) > (${since.seq}::bigint, ${since.kind}::int, ${since.a}::uuid))
           or exists (select 1 from task_link_removals r where r.user_id = ${userId} and r.change_seq >= ${since.seq}
                and (r.change_seq, 1, r.task_id, r.category_id)
                    > (${since.seq}::bigint, ${since.kind}::int, ${since.a}::uuid, ${since.b}::uuid))
           or coalesce((select purged_seq from task_sync_state where user_id = ${userId}) > ${since.seq}, false))`;
}

export async function taskChanges(
  deps: Deps,
  userId: string,
  since: FeedPosition | null,
  limit: number,
): Promise<ChangesPage> {
  const from = since ?? START;
  const result = await deps.db.execute<{
    purged_seq: number | null;
    items: { seq: number; kind: 0 | 1; a: string; b: string; change: TaskChange }[];
  }>(sql`
    with feed as (
      (select t.change_seq as seq, 0 as kind, t.id as a, ${NIL}::uuid as b,
              case when t.deleted_at is null
                   then json_build_object('type', 'task', 'task', ${TASK_JSON})
                   else json_build_object('type', 'task_deleted', 'task_id', t.id, 'version', t.version,
                                          'deleted_at', ${isoTimestamp(sql`t.deleted_at`)})
              end as change
         from tasks t
        where t.user_id = ${userId} and t.change_seq >= ${from.seq}
          and (t.change_seq, 0, t.id) > (${from.seq}::bigint, ${from.kind}::int, ${from.a}::uuid)
        order by t.change_seq, t.id
        limit ${limit + 1})
      union all
      (select r.change_seq, 1, r.task_id, r.category_id,
              json_build_object('type', 'category_unlinked', 'task_id', r.task_id, 'category_id', r.category_id,
                                'removed_at', ${isoTimestamp(sql`r.removed_at`)})
         from task_link_removals r
        where r.user_id = ${userId} and r.change_seq >= ${from.seq}
          and (r.change_seq, 1, r.task_id, r.category_id)
              > (${from.seq}::bigint, ${from.kind}::int, ${from.a}::uuid, ${from.b}::uuid)
        order by r.change_seq, r.task_id, r.category_id
        limit ${limit + 1})
    ),
    page as (select * from feed order by seq, kind, a, b limit ${limit + 1})
    select (select purged_seq from task_sync_state where user_id = ${userId}) as purged_seq,
           coalesce((select json_agg(json_build_object('seq', seq, 'kind', kind, 'a', a, 'b', b, 'change', change)
                                     order by seq, kind, a, b) from page), '[]'::json) as items`);
  const row = result.rows[0];
  // A cursor older than a purged tombstone may have missed that deletion.
  if (since && row?.purged_seq != null && since.seq < row.purged_seq) {
    throw new AppError(
      'SYNC_CURSOR_EXPIRED',
      'Changes this cursor has not seen were purged from the trash since. Sync again without a cursor.',
    );
  }
  const items = row?.items ?? [];
  const page = items.slice(0, limit);
  const last = page.at(-1);
  return {
    changes: page.map((item) => item.change),
    next_cursor: encodeSyncCursor(last ? { seq: last.seq, kind: last.kind, a: last.a, b: last.b } : from),
    has_more: items.length > limit,
  };
}
