import { sql, type SQL } from 'drizzle-orm';
import type { Database } from './client.ts';
import { lockUser } from './sql.ts';

/**
 * A write of the API as data: its one statement (the CTEs and the final select) and how the one
 * row it returns becomes the answer. A route runs a write alone (runWrite); the batch endpoint runs
 * many in one transaction and records each row, so that a replayed command is answered from it
 * (docs/decisions/0028-batch-writes.md).
 */
export interface Write<Row, Result> {
  /** The CTEs, comma-separated, without `with recursive`. */
  ctes: SQL;
  /** What follows `select`: one row whatever happened (it may have a FROM over the CTEs). */
  select: SQL;
  /** Whether the write took effect, over the CTEs: an atomic batch stops at one that did not. */
  applied: SQL;
  /** Whether the statement must follow the user's row lock (lockUser) in the same transaction. */
  locked: boolean;
  /** The row (undefined if none) as the API answers it, or the AppError that refuses it. */
  answer: (row: Row | undefined) => Result;
}

/**
 * What a batch passes to a write's builder: `unlessRecorded` is a condition every writing part of
 * the statement must hold (nextChangeSeq takes it, so the parts that read `seq` do), false when
 * the command was already applied; `id` is the id a create gives its row.
 */
export interface WriteOptions {
  unlessRecorded?: SQL | undefined;
  id?: string | undefined;
}

export function writeStatement(write: Write<unknown, unknown>): SQL {
  return sql`with recursive ${write.ctes} select ${write.select}`;
}

/** Runs one write in one Neon round trip (with the user's row lock first when it needs it). */
export async function runWrite<Row, Result>(
  deps: { db: Database },
  userId: string,
  write: Write<Row, Result>,
): Promise<Result> {
  const statement = deps.db.execute<Row & Record<string, unknown>>(writeStatement(write as Write<unknown, unknown>));
  const result = write.locked ? (await deps.db.batch([lockUser(deps, userId), statement]))[1] : await statement;
  return write.answer(result.rows[0]);
}
