import { sql, type SQL } from 'drizzle-orm';
import { v5 as uuidv5 } from 'uuid';
import type { Deps } from '../../deps.ts';
import { postgresErrorDetail, sqlState } from '../../db/errors.ts';
import type { Write, WriteOptions } from '../../db/write.ts';
import { AppError, type FieldError } from '../../lib/errors.ts';
import { BATCH_COMMAND_RETENTION_DAYS } from '../../lib/limits.ts';
import { problemBody, type Problem } from '../../lib/problem.ts';
import { hashToken } from '../../lib/tokens.ts';
import * as categories from '../categories/categories.service.ts';
import type { CategoryJson } from '../categories/categories.schemas.ts';
import { changesAfter, encodeSyncCursor, type FeedPosition } from '../tasks/tasks.changes.ts';
import * as order from '../tasks/tasks.move.ts';
import type { TaskJson } from '../tasks/tasks.schemas.ts';
import * as tasks from '../tasks/tasks.service.ts';
import type { BatchCommand, BatchRequest, BatchResponse, BatchResult } from './batch.schemas.ts';

/**
 * Batched writes (docs/decisions/0028): every command becomes the statement its single route runs
 * (src/db/write.ts), and the whole batch is one Neon transaction, one round trip: the user's row
 * lock first (which also reads the change number, for the sync position), then one statement per
 * command, each of which records its row in batch_commands, then the change number after.
 *
 * - Replays: a command id already recorded is not run again (its writes are guarded by
 *   `unlessRecorded`) and is answered from the recorded row, by the same code that answers a fresh
 *   one. A create's id is derived from the user and the command id, so a replayed create has the
 *   same id, and the temp ids of a resent batch map to the same tasks.
 * - Atomic mode: after each command, batch_stop_unless aborts the transaction if it did not apply;
 *   the error carries that command's row, so the answer still says why.
 */

type Outcome = { kind: 'task'; value: TaskJson } | { kind: 'category'; value: CategoryJson } | { kind: 'none' };

interface Planned {
  command: BatchCommand;
  /** The statement and its answer, or why the command was refused before reaching the database. */
  write: Write<unknown, Outcome> | null;
  refused: AppError | null;
  fingerprint: string;
}

const MAX_POSITION: FeedPosition = {
  seq: 0,
  kind: 1,
  a: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
  b: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
};

const SUCCESS_STATUS: Record<BatchCommand['type'], number> = {
  'task.create': 201,
  'task.update': 200,
  'task.delete': 204,
  'task.restore': 200,
  'task.move': 200,
  'category.create': 201,
  'category.delete': 204,
  'task.link': 200,
  'task.unlink': 204,
};

export async function runBatch(
  deps: Deps,
  userId: string,
  request: BatchRequest,
  since: FeedPosition | null,
  context: { instance: string; requestId: string },
): Promise<BatchResponse> {
  const atomic = request.mode === 'atomic';
  refuseDuplicates(request.commands);
  const planned = plan(deps, userId, request.commands);
  const problem = (error: AppError, index: number): Problem =>
    problemBody(error.code, error.detail, context, {
      errors: error.errors?.map((e) => commandPointer(e, index)),
      extensions: error.extensions,
    });
  const notApplied = (index: number): BatchResult => ({
    id: planned[index]!.command.id,
    status: 424,
    replayed: false,
    problem: problem(
      new AppError('NOT_APPLIED', 'Not applied: the batch is atomic and another of its commands failed.'),
      index,
    ),
  });

  const refusedEarly = planned.findIndex((p) => p.refused !== null);
  if (atomic && refusedEarly !== -1) {
    return {
      mode: request.mode,
      applied: false,
      results: planned.map((p, i) => (i === refusedEarly ? failed(p, problem(p.refused!, i), false) : notApplied(i))),
      temp_ids: [],
      sync: null,
    };
  }

  const now = deps.clock.now();
  const writes = planned.flatMap((p, index) => (p.write ? [{ p, index }] : []));
  const statements = [
    deps.db.execute<{ seq: number; caught_up: boolean | null }>(sql`
      select seq::int as seq, ${since ? sql`${changesAfter(userId, since)} is false` : sql`null::boolean`} as caught_up
        from task_sync_state where user_id = ${userId} for update`),
    ...writes.map(({ p, index }) =>
      deps.db.execute<{ answer: unknown; prior_fingerprint: string | null }>(
        commandStatement(userId, p, atomic ? index : null, now),
      ),
    ),
    deps.db.execute<{ seq: number }>(sql`select seq::int as seq from task_sync_state where user_id = ${userId}`),
  ];
  let rows: { rows: Record<string, unknown>[] }[];
  try {
    rows = await deps.db.batch(statements as unknown as [(typeof statements)[0], ...typeof statements]);
  } catch (error) {
    const state = sqlState(error);
    if (state === 'ET001') return atomicFailure(planned, error, problem, notApplied, request.mode);
    // A task at the highest version refuses any change with a raise (tasks.service): in a batch it
    // undoes every command, so it answers for the whole batch.
    throw tasks.highestVersion(error) ?? error;
  }

  const head = rows[0]!.rows[0] as { seq: number; caught_up: boolean | null };
  const tail = rows.at(-1)!.rows[0] as { seq: number };
  const results: BatchResult[] = [];
  const tempIds: BatchResponse['temp_ids'] = [];
  let statement = 1;
  planned.forEach((p, index) => {
    if (!p.write) {
      results.push(failed(p, problem(p.refused!, index), false));
      return;
    }
    const row = rows[statement++]!.rows[0] as { answer: unknown; prior_fingerprint: string | null };
    const replayed = row.prior_fingerprint !== null;
    if (replayed && row.prior_fingerprint !== p.fingerprint) {
      const reused = new AppError(
        'COMMAND_ID_REUSED',
        'This command id was used before for a different command: give each command an id of its own.',
      );
      results.push(failed(p, problem(reused, index), true));
      return;
    }
    try {
      const outcome = p.write.answer(row.answer);
      results.push(succeeded(p, outcome, replayed));
      const tempId = tempOf(p.command);
      if (tempId && outcome.kind !== 'none') tempIds.push({ temp_id: tempId, id: outcome.value.id });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      results.push(failed(p, problem(error, index), replayed));
    }
  });
  return {
    mode: request.mode,
    applied: results.every((r) => r.status < 300),
    results,
    temp_ids: tempIds,
    sync: {
      next_cursor: encodeSyncCursor({ ...MAX_POSITION, seq: tail.seq }),
      caught_up: head.caught_up === true,
    },
  };
}

/** Command ids and temp ids are unique within a batch (400 naming the second one). */
function refuseDuplicates(commands: BatchCommand[]): void {
  const ids = new Set<string>();
  const temps = new Set<string>();
  const errors: FieldError[] = [];
  commands.forEach((command, i) => {
    if (ids.has(command.id)) errors.push({ pointer: `/body/commands/${i}/id`, message: 'Used by an earlier command' });
    ids.add(command.id);
    const temp = tempOf(command);
    if (temp !== undefined) {
      if (temps.has(temp)) {
        errors.push({ pointer: `/body/commands/${i}/temp_id`, message: 'Used by an earlier command' });
      }
      temps.add(temp);
    }
  });
  if (errors.length > 0) throw new AppError('VALIDATION_FAILED', 'One or more fields are invalid.', { errors });
}

/**
 * Each command's write, with the temp ids of earlier creates replaced by their real ids. A create
 * gets the id derived from the user and its command id (UUIDv5 in the user's namespace).
 */
function plan(deps: Deps, userId: string, commands: BatchCommand[]): Planned[] {
  const real = new Map<string, string>();
  const resolve = (id: string) => real.get(id) ?? id;
  return commands.map((command) => {
    const recorded = sql`not exists (select 1 from batch_commands where user_id = ${userId} and command_id = ${command.id})`;
    const options: WriteOptions = { unlessRecorded: recorded };
    // What the command asks, without its id: the same id with another request is refused on replay.
    const fingerprint = hashToken(JSON.stringify({ ...command, id: undefined }));
    try {
      const write = build(deps, userId, command, options, resolve, uuidv5(command.id, userId));
      const temp = tempOf(command);
      if (temp !== undefined) real.set(temp, uuidv5(command.id, userId));
      return { command, write, refused: null, fingerprint };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return { command, write: null, refused: error, fingerprint };
    }
  });
}

function tempOf(command: BatchCommand): string | undefined {
  return 'temp_id' in command ? command.temp_id : undefined;
}

const asTask = (value: TaskJson): Outcome => ({ kind: 'task', value });
const none = (): Outcome => ({ kind: 'none' });

/** The single route's write for this command; every id through `resolve`. */
function build(
  deps: Deps,
  userId: string,
  command: BatchCommand,
  options: WriteOptions,
  resolve: (id: string) => string,
  newId: string,
): Write<unknown, Outcome> {
  const opt = <T extends string | null | undefined>(id: T): T => (typeof id === 'string' ? (resolve(id) as T) : id);
  const version = (args: { version?: number | undefined } | undefined) =>
    args?.version === undefined ? undefined : ({ from: 'body', version: args.version } as const);
  switch (command.type) {
    case 'task.create': {
      const { parent_id, ...input } = command.args;
      const write = tasks.createTaskWrite(
        deps,
        userId,
        { ...input, parent_id: opt(parent_id) },
        { ...options, id: newId },
      );
      return mapAnswer(write, asTask);
    }
    case 'task.update': {
      const { version: expected, ...changes } = command.args;
      if (expected === undefined) {
        throw new AppError('VALIDATION_FAILED', 'One or more fields are invalid.', {
          errors: [{ pointer: '/body/version', message: 'Required in a batch: send the version you read' }],
        });
      }
      const check = { from: 'body', version: expected } as const;
      return mapAnswer(tasks.updateTaskWrite(deps, userId, resolve(command.task_id), changes, check, options), asTask);
    }
    case 'task.delete':
      return mapAnswer(
        tasks.deleteTaskWrite(deps, userId, resolve(command.task_id), version(command.args), options),
        none,
      );
    case 'task.restore':
      return mapAnswer(
        tasks.restoreTaskWrite(deps, userId, resolve(command.task_id), version(command.args), options),
        asTask,
      );
    case 'task.move': {
      const { parent_id, before, after } = command.args;
      const move = { parent_id: opt(parent_id), before: opt(before), after: opt(after) };
      const write = order.moveTaskWrite(deps, userId, resolve(command.task_id), move, version(command.args), options);
      return mapAnswer(write, asTask);
    }
    case 'category.create': {
      const write = categories.createCategoryWrite(deps, userId, command.args, { ...options, id: newId });
      return mapAnswer(write, (value) => ({ kind: 'category', value }));
    }
    case 'category.delete':
      return mapAnswer(categories.deleteCategoryWrite(deps, userId, resolve(command.category_id), options), none);
    case 'task.link': {
      const write = categories.assignCategoryWrite(
        deps,
        userId,
        resolve(command.task_id),
        resolve(command.category_id),
        options,
      );
      return mapAnswer(write, asTask);
    }
    case 'task.unlink': {
      const write = categories.removeCategoryWrite(
        deps,
        userId,
        resolve(command.task_id),
        resolve(command.category_id),
        options,
      );
      return mapAnswer(write, none);
    }
  }
}

function mapAnswer<Row, R>(write: Write<Row, R>, to: (value: R) => Outcome): Write<unknown, Outcome> {
  return { ...write, answer: (row) => to(write.answer(row as Row | undefined)) };
}

/**
 * The command's statement, its row recorded under its command id unless one is recorded already,
 * in which case the recorded row answers. `atomicIndex`: stop the batch if it did not apply.
 */
function commandStatement(userId: string, p: Planned, atomicIndex: number | null, now: Date): SQL {
  const write = p.write!;
  const id = p.command.id;
  const fresh = sql`(select to_jsonb(r) from batch_result r)`;
  const stop =
    atomicIndex === null
      ? sql``
      : sql`, batch_stop_unless(prior.answer is not null or ${write.applied}, ${atomicIndex}, ${fresh})`;
  return sql`with recursive ${write.ctes},
    batch_result as (select ${write.select}),
    batch_recorded as (
      insert into batch_commands (user_id, command_id, fingerprint, answer, created_at)
      select ${userId}, ${id}, ${p.fingerprint}, to_jsonb(r), ${now} from batch_result r
       where not exists (select 1 from batch_commands where user_id = ${userId} and command_id = ${id})
    )
    select coalesce(prior.answer, ${fresh}) as answer, prior.fingerprint as prior_fingerprint${stop}
      from (select 1) one
      left join batch_commands prior on prior.user_id = ${userId} and prior.command_id = ${id}`;
}

/** An atomic batch stopped at a command: its row says why; the others did not apply. */
function atomicFailure(
  planned: Planned[],
  error: unknown,
  problem: (error: AppError, index: number) => Problem,
  notApplied: (index: number) => BatchResult,
  mode: BatchRequest['mode'],
): BatchResponse {
  const detail = JSON.parse(postgresErrorDetail(error) ?? '{}') as { command?: number; answer?: unknown };
  const index = detail.command ?? -1;
  const p = planned[index];
  if (!p?.write) throw error;
  let reason: AppError;
  try {
    p.write.answer(detail.answer);
    reason = new AppError('CONFLICT', 'This command did not apply.');
  } catch (refusal) {
    if (!(refusal instanceof AppError)) throw refusal;
    reason = refusal;
  }
  return {
    mode,
    applied: false,
    results: planned.map((q, i) => (i === index ? failed(q, problem(reason, i), false) : notApplied(i))),
    temp_ids: [],
    sync: null,
  };
}

function succeeded(p: Planned, outcome: Outcome, replayed: boolean): BatchResult {
  const result: BatchResult = { id: p.command.id, status: SUCCESS_STATUS[p.command.type], replayed };
  if (outcome.kind === 'task') result.task = outcome.value;
  if (outcome.kind === 'category') result.category = outcome.value;
  return result;
}

function failed(p: Planned, problem: Problem, replayed: boolean): BatchResult {
  return { id: p.command.id, status: problem.status, replayed, problem: problem };
}

/** A field a service names (`/body/parent_id`) is a field of this command's `args`. */
function commandPointer(error: FieldError, index: number): FieldError {
  const field = error.pointer.startsWith('/body/') ? error.pointer.slice('/body/'.length) : null;
  return { ...error, pointer: field === null ? error.pointer : `/body/commands/${index}/args/${field}` };
}

/** The cron: answers to batch commands are kept BATCH_COMMAND_RETENTION_DAYS for replays, then go. */
export async function purgeBatchCommands(deps: Deps): Promise<number> {
  const cutoff = new Date(deps.clock.now().getTime() - BATCH_COMMAND_RETENTION_DAYS * 86_400_000);
  const result = await deps.db.execute<{ n: number }>(sql`
    with gone as (delete from batch_commands where created_at < ${cutoff} returning 1)
    select count(*)::int as n from gone`);
  return result.rows[0]?.n ?? 0;
}
