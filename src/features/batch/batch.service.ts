import { sql, type SQL } from 'drizzle-orm';
import { v5 as uuidv5 } from 'uuid';
import type { Deps } from '../../deps.ts';
import { postgresErrorDetail, sqlState } from '../../db/errors.ts';
import type { Write, WriteOptions } from '../../db/write.ts';
import { positionBetween, previousPosition } from '../../db/positions.ts';
import { commitChangeSeq, NEW_TASK_JSON, nextChangeSeq } from '../../db/sql.ts';
import { AppError, type FieldError } from '../../lib/errors.ts';
import { BATCH_COMMAND_RETENTION_DAYS, MAX_LIVE_TASKS_PER_USER } from '../../lib/limits.ts';
import { problemBody, type Problem } from '../../lib/problem.ts';
import { hashToken } from '../../lib/tokens.ts';
import * as categories from '../categories/categories.service.ts';
import type { CategoryJson } from '../categories/categories.schemas.ts';
import { changesAfter, encodeSyncCursor, type FeedPosition } from '../tasks/tasks.changes.ts';
import * as order from '../tasks/tasks.move.ts';
import type { TaskJson } from '../tasks/tasks.schemas.ts';
import * as tasks from '../tasks/tasks.service.ts';
import {
  planSeries,
  SchedulePending,
  schedulePending,
  type SeriesChange,
  type SeriesFound,
} from '../tasks/tasks.recurrence.ts';
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
  /** A task.create's input, its id and its (resolved) parent: creates in a row run as one statement. */
  create?: { input: tasks.NewTask; id: string; parentId: string | null };
}

/** What one statement of the batch does: one command, or a run of creates under one parent. */
type Step = { kind: 'one'; index: number } | { kind: 'creates'; indexes: number[]; parentId: string | null };

type AnswerRow = { answer: unknown; prior_fingerprint: string | null };

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
  context: {
    instance: string;
    requestId: string;
    /** The user's zone from the access token: where rules of repeating tasks are computed. */
    zone?: string | undefined;
    /** Work after the response: schedules of repeating tasks that ran short are computed again. */
    after?: ((work: () => Promise<unknown>) => void) | undefined;
  },
): Promise<BatchResponse> {
  const atomic = request.mode === 'atomic';
  refuseDuplicates(request.commands);
  const series = await Promise.all(request.commands.map((command) => seriesOf(command, context.zone)));
  const refill = (taskId: string, found: SeriesFound) =>
    context.after?.(() => tasks.fillSchedule(deps, userId, taskId, found));
  const planned = plan(deps, userId, request.commands, series, refill);
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
  const steps = stepsOf(planned);
  const statements = [
    deps.db.execute<{ seq: number; caught_up: boolean | null }>(sql`
      select seq::int as seq, ${since ? sql`${changesAfter(userId, since)} is false` : sql`null::boolean`} as caught_up
        from task_sync_state where user_id = ${userId} for update`),
    ...steps.map((step) =>
      deps.db.execute<AnswerRow & { n?: number }>(
        step.kind === 'one'
          ? commandStatement(userId, planned[step.index]!, atomic ? step.index : null, now)
          : createsStatement(deps, userId, step, planned, atomic, now),
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
  const answers = new Map<number, AnswerRow>();
  steps.forEach((step, i) => {
    const found = rows[i + 1]!.rows as (AnswerRow & { n?: number })[];
    if (step.kind === 'one') answers.set(step.index, found[0]!);
    else for (const row of found) answers.set(row.n!, row);
  });
  planned.forEach((p, index) => {
    if (!p.write) {
      results.push(failed(p, problem(p.refused!, index), false));
      return;
    }
    const row = answers.get(index)!;
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
function plan(
  deps: Deps,
  userId: string,
  commands: BatchCommand[],
  series: (SeriesChange | AppError)[],
  refill: Refill,
): Planned[] {
  const real = new Map<string, string>();
  const resolve = (id: string) => real.get(id) ?? id;
  return commands.map((command, index) => {
    const recorded = sql`not exists (select 1 from batch_commands where user_id = ${userId} and command_id = ${command.id})`;
    const options: WriteOptions = { unlessRecorded: recorded };
    // What the command asks, without its id: the same id with another request is refused on replay.
    const fingerprint = hashToken(JSON.stringify({ ...command, id: undefined }));
    try {
      const id = uuidv5(command.id, userId);
      const change = series[index]!;
      if (change instanceof AppError) throw change;
      const write = build(deps, userId, command, options, resolve, id, change, refill);
      const temp = tempOf(command);
      if (temp !== undefined) real.set(temp, id);
      // A repeating task is created by a statement of its own: the runs of creates carry no series.
      // So is one with reminders.
      if (command.type === 'task.create' && change.kind === 'keep' && !command.args.reminders?.length) {
        const { parent_id, ...input } = command.args;
        const parentId = parent_id == null ? null : resolve(parent_id);
        return {
          command,
          write,
          refused: null,
          fingerprint,
          create: { input: { ...input, parent_id: parentId }, id, parentId },
        };
      }
      return { command, write, refused: null, fingerprint };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return { command, write: null, refused: error, fingerprint };
    }
  });
}

type Refill = (taskId: string, found: SeriesFound) => void;

/** What a create or update does to a series (tasks.recurrence.ts), or why it is refused. */
async function seriesOf(command: BatchCommand, zone: string | undefined): Promise<SeriesChange | AppError> {
  if (command.type !== 'task.create' && command.type !== 'task.update') return { kind: 'keep' };
  try {
    return await planSeries(command.args, zone, command.type === 'task.create');
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
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
  series: SeriesChange,
  refill: Refill,
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
        series,
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
      const taskId = resolve(command.task_id);
      const write = tasks.updateTaskWrite(deps, userId, taskId, changes, check, options, series);
      // A completion whose schedule is unknown is refused here (the single route computes it and
      // tries again; a batch is built before it runs): the schedule is computed after the response.
      return {
        ...write,
        answer: (row) => {
          let task: tasks.WithSeries;
          try {
            task = write.answer(row as Parameters<typeof write.answer>[0]);
          } catch (error) {
            if (!(error instanceof SchedulePending)) throw error;
            refill(taskId, error.found);
            throw schedulePending();
          }
          if (task.schedule_short) refill(taskId, task.schedule_short);
          return asTask(tasks.stripSeries(task));
        },
      };
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
 * The statements of the batch, in command order. Creates in a row under the same parent (none of
 * them created by another of the run) share one statement: a statement per create costs its
 * planning, about a millisecond, a hundred times over.
 */
function stepsOf(planned: Planned[]): Step[] {
  const steps: Step[] = [];
  planned.forEach((p, index) => {
    if (!p.write) return;
    const last = steps.at(-1);
    const create = p.create;
    if (create && last?.kind === 'creates' && last.parentId === create.parentId) {
      const madeHere = last.indexes.some((i) => planned[i]!.create!.id === create.parentId);
      if (!madeHere && last.indexes.at(-1) === index - 1) {
        last.indexes.push(index);
        return;
      }
    }
    steps.push(create ? { kind: 'creates', indexes: [index], parentId: create.parentId } : { kind: 'one', index });
  });
  return steps;
}

/**
 * A run of creates under one parent as one statement, with the rules of createTaskWrite row by
 * row: the parent read once, the cap counted in command order (the first ones fit), keys chained
 * after the last sibling, one change number, the parent's version moved once. Each command's row
 * has the shape createTaskWrite answers from, so the same code answers, recorded or fresh.
 */
function createsStatement(
  deps: Deps,
  userId: string,
  step: Extract<Step, { kind: 'creates' }>,
  planned: Planned[],
  atomic: boolean,
  now: Date,
): SQL {
  const runs = step.indexes.map((i) => ({ p: planned[i]!, n: i }));
  const column = <T>(f: (r: (typeof runs)[number]) => T) => sql.param(runs.map(f));
  const parentId = step.parentId;
  const stop = atomic
    ? sql`, batch_stop_unless(prior.answer is not null or exists (select 1 from inserted t where t.id = a.id), a.n, a.answer)`
    : sql``;
  return sql`with recursive seq as (${nextChangeSeq(userId)}),
    ${tasks.parentFacts(parentId)}
    input as (
      select * from unnest(${column((r) => r.p.create!.id)}::uuid[], ${column((r) => r.p.command.id)}::text[],
                           ${column((r) => r.p.fingerprint)}::text[], ${column((r) => r.p.create!.input.title)}::text[],
                           ${column((r) => r.p.create!.input.description ?? null)}::text[],
                           ${column((r) => r.p.create!.input.priority)}::text[],
                           ${column((r) => r.p.create!.input.due_date ?? null)}::timestamptz[], ${column((r) => r.n)}::int[])
        as i(id, command_id, fingerprint, title, description, priority, due_date, n)
    ),
    fresh as (
      select i.*, row_number() over (order by i.n) as k from input i
       where not exists (select 1 from batch_commands b where b.user_id = ${userId} and b.command_id = i.command_id)
    ),
    room as (select ${MAX_LIVE_TASKS_PER_USER} - count(*) as free from tasks where user_id = ${userId} and deleted_at is null),
    allowed as (
      select f.*, row_number() over (order by f.n) as r from fresh f
       where f.k <= (select free from room) and ${tasks.parentAccepts(userId, parentId)} and (select seq from seq) > 0
         and not exists (select 1 from tasks t where t.id = f.id)
    ),
    keys(r, position) as (
      select 1::bigint, ${positionBetween(previousPosition(userId, parentId, sql`null::uuid`, null), sql`null`)}
       where exists (select 1 from allowed)
      union all
      select keys.r + 1, task_position_between(keys.position, null) from keys where keys.r < (select count(*) from allowed)
    ),
    inserted as (
      insert into tasks (id, user_id, parent_id, position, title, description, priority, due_date, created_at, updated_at, change_seq)
      select a.id, ${userId}, ${parentId}::uuid, keys.position, a.title, a.description, a.priority::task_priority, a.due_date,
             ${now}, ${now}, (select seq from seq)
        from allowed a join keys on keys.r = a.r
      on conflict (id) do nothing
      returning *
    ),
    parent_bumped as (
      update tasks p set version = p.version + 1, updated_at = ${now}, change_seq = (select seq from seq)
       where p.id = ${parentId}::uuid and p.user_id = ${userId} and p.deleted_at is null
         and exists (select 1 from inserted) and (select seq from seq) > 0
    ),
    committed as (${commitChangeSeq(userId, 'inserted')}),
    answers as (
      select i.n, i.id, i.command_id, i.fingerprint, jsonb_build_object(
        'parent_owner', (select user_id from parent), 'parent_in_trash', (select in_trash from parent),
        'parent_level', (select level from parent), 'task', (select ${NEW_TASK_JSON} from inserted t where t.id = i.id),
        'id_taken', exists (select 1 from tasks t where t.id = i.id),
        'user_exists', exists (select 1 from task_sync_state where user_id = ${userId})) as answer
      from input i
    ),
    recorded as (
      insert into batch_commands (user_id, command_id, fingerprint, answer, created_at)
      select ${userId}, a.command_id, a.fingerprint, a.answer, ${now} from answers a
       where exists (select 1 from fresh f where f.command_id = a.command_id)
    )
    select a.n, coalesce(prior.answer, a.answer) as answer, prior.fingerprint as prior_fingerprint${stop}
      from answers a left join batch_commands prior on prior.user_id = ${userId} and prior.command_id = a.command_id
     order by a.n`;
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
