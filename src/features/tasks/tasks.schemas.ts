import { z } from '@hono/zod-openapi';
import { int32, storableTimestamp, text, timestamp, uuid } from '../../lib/schemas.ts';
import {
  MAX_REMINDER_MINUTES_BEFORE,
  MAX_REMINDERS_PER_TASK,
  MAX_CATEGORIES_PER_USER,
  MAX_LIVE_TASKS_PER_USER,
  MAX_POSITION_LENGTH,
  MAX_TASK_DEPTH,
} from '../../lib/limits.ts';
import { taskPriority, taskStatus } from '../../db/schema.ts';

export const TASK_STATUSES = taskStatus.enumValues;
export const TASK_PRIORITIES = taskPriority.enumValues;

/** Sort keys clients may use; `-` in front sorts descending. The id always breaks ties. */
export const TASK_SORT_FIELDS = [
  'created_at',
  'updated_at',
  'due_date',
  'priority',
  'status',
  'title',
  'position',
] as const;
/** The manual order: only among siblings (`parent_id=` or `top_level=true`). */
const POSITION_SORTS = ['position', '-position'];
/** Best match first: only with `q`, and the default then. */
export const RELEVANCE = 'relevance';
// The default without q first: Scalar's "Test Request" sends an optional enum's first value on a
// first try (docs/decisions/0018), and relevance without q is a 400.
const SORTS: [string, ...string[]] = [
  '-created_at',
  RELEVANCE,
  ...TASK_SORT_FIELDS.flatMap((f) => [f, `-${f}`]).filter((sort) => sort !== '-created_at'),
];

/** Room for the longest cursor key (a 200-character title, every character JSON-escaped). */
export const CURSOR_MAX_LENGTH = 2048;
export const CURSOR_PATTERN = /^[A-Za-z0-9_-]+$/;
export const SEARCH_MAX_LENGTH = 200;
/** A position key: fractional-indexing's base-62 digits (docs/decisions/0027). */
export const POSITION_PATTERN = new RegExp(`^[0-9A-Za-z]{2,${MAX_POSITION_LENGTH}}$`);

const id = uuid().openapi({ examples: ['01a21ce1-50cf-7237-b8b8-bcd30d1af7d3'] });

/** Longer than any sensible rule; the engine (src/lib/recurrence.ts) refuses longer ones too. */
export const MAX_RECURRENCE_LENGTH = 500;

const RECURRENCE_RULES =
  'An RFC 5545 RRULE value without the `RRULE:` prefix, from this subset: FREQ (DAILY, WEEKLY, MONTHLY, ' +
  'YEARLY), INTERVAL, BYDAY (with ordinals such as `-1FR` for monthly and yearly rules), BYMONTHDAY (1 to 31 or ' +
  '-31 to -1), BYMONTH, COUNT and UNTIL (a date, the whole day in your time zone, or an instant ending in `Z`). ' +
  "Occurrences keep the due date's wall-clock time in your time zone (`time_zone` on your account) across DST " +
  'changes; a month without the day asked for (the 31st, Feb 29) is skipped.';

const ReminderInputSchema = z
  .strictObject({
    at: storableTimestamp().optional().openapi({ description: 'Remind at this instant (in the future)' }),
    minutes_before: int32(0, MAX_REMINDER_MINUTES_BEFORE)
      .optional()
      .openapi({
        description:
          'Remind this many minutes before the due date: it follows the due date when it moves (and fires again), ' +
          'and waits while the task has none',
        examples: [30],
      }),
  })
  .refine((r) => (r.at === undefined) !== (r.minutes_before === undefined), {
    message: 'Send either at or minutes_before',
  })
  .openapi('ReminderInput', { description: 'A reminder: at an instant, or some minutes before the due date' });

function remindersInput(description: string) {
  return z
    .array(ReminderInputSchema)
    .max(MAX_REMINDERS_PER_TASK)
    .optional()
    .openapi({
      description: `${description} At most ${MAX_REMINDERS_PER_TASK}. Each is emailed to you once when it is due (within about a minute), unless the task is done or in the trash by then.`,
      examples: [[{ minutes_before: 30 }, { at: '2026-12-01T08:00:00.000Z' }]],
    });
}

export const ReminderSchema = z
  .object({
    id: uuid().openapi({ description: 'The reminder id' }),
    at: timestamp().nullable().openapi({ description: 'The instant asked for; null for one before the due date' }),
    minutes_before: int32(0, MAX_REMINDER_MINUTES_BEFORE)
      .nullable()
      .openapi({ description: 'Minutes before the due date; null for one at an instant', examples: [30] }),
    remind_at: timestamp()
      .nullable()
      .openapi({ description: 'When it fires; null for one before a due date the task does not have' }),
  })
  .openapi('Reminder', {
    description:
      'A reminder. Whether it was sent is not part of the task: sending one changes neither the version nor the ETag, so an edit made offline before it still applies.',
  });

/** The characters of a rule: what is outside is refused before the engine reads it. */
const RECURRENCE_PATTERN = /^[A-Za-z0-9=;,+-]+$/;

/** A rule as a request sends it: validated by the engine, which names the part that is wrong (400). */
function recurrenceRule(description: string) {
  return z
    .string()
    .min(1)
    .max(MAX_RECURRENCE_LENGTH)
    .regex(RECURRENCE_PATTERN, 'Letters, digits and = ; , + - only: an RRULE value such as FREQ=WEEKLY;BYDAY=MO')
    .nullable()
    .optional()
    .openapi({
      description: `${description} The rules are those of Task.recurrence.`,
      examples: ['FREQ=WEEKLY;BYDAY=MO,WE,FR', 'FREQ=MONTHLY;BYDAY=-1FR', 'FREQ=DAILY;COUNT=10'],
    });
}

/** What z.uuid() accepts (RFC 9562 versions 1-8, nil and max), stated in the document. */
const UUID_PATTERN = z.regexes.uuid().source;

export const TaskIdParamSchema = z.object({
  task_id: id.openapi({ param: { name: 'task_id', in: 'path' }, description: 'The task id' }),
});
export const TaskCategoryParamSchema = z.object({
  task_id: id.openapi({ param: { name: 'task_id', in: 'path' }, description: 'The task id' }),
  cat_id: id.openapi({ param: { name: 'cat_id', in: 'path' }, description: 'The category id' }),
});

export const CreateTaskSchema = z
  .strictObject({
    title: text(3, 200).openapi({ description: 'What is to be done', examples: ['Write the quarterly report'] }),
    description: text(0, 2000).nullable().optional().openapi({ description: 'Details, if any' }),
    due_date: storableTimestamp().nullable().optional().openapi({ description: 'Must be in the future' }),
    priority: z.enum(TASK_PRIORITIES).default('medium').openapi({ description: 'How urgent it is' }),
    parent_id: uuid()
      .nullable()
      .optional()
      .openapi({
        description:
          `Makes it a subtask of this task: one of yours, not in the trash (403 for another user's, 404 for a ` +
          `missing or deleted one). At most ${MAX_TASK_DEPTH} levels: a subtask of a level-${MAX_TASK_DEPTH} task is ` +
          `409. The parent gets a new version (its subtask_count changes). Set at creation only.`,
        pattern: UUID_PATTERN,
        examples: ['01a21ce1-50cf-7237-b8b8-bcd30d1af7d3'],
      }),
    reminders: remindersInput('Reminders for the task.'),
    recurrence: recurrenceRule(
      'Makes the task repeat: it needs a `due_date`, the first occurrence (the series starts there). Completing ' +
        'the task then moves it to its next occurrence; the last one completes it for good.',
    ),
  })
  .openapi('CreateTaskRequest', { description: 'A new task: the body of POST /api/v1/tasks' });

export const UpdateTaskSchema = z
  .strictObject({
    title: text(3, 200).optional().openapi({ description: 'A new title' }),
    description: text(0, 2000).nullable().optional().openapi({ description: 'A new description; null removes it' }),
    due_date: storableTimestamp().nullable().optional().openapi({ description: 'Must be in the future when set' }),
    priority: z.enum(TASK_PRIORITIES).optional().openapi({ description: 'A new priority' }),
    status: z
      .enum(TASK_STATUSES)
      .optional()
      .openapi({
        description:
          'A new status. `done` on a repeating task with occurrences left moves it to its next occurrence instead: ' +
          'the due date becomes the first occurrence after now (missed ones are skipped), the status `todo`, and ' +
          'the completion is recorded (GET /api/v1/tasks/{task_id}/completions). The last occurrence stays done.',
      }),
    reminders: remindersInput("The task's reminders: the list replaces the one it has (`[]` removes them all)."),
    recurrence: recurrenceRule(
      'A new rule, which (re)starts the series at the `due_date` sent with it (required then); null stops ' +
        'repeating. A `due_date` sent alone moves only the occurrence open now (the next completion goes to the first occurrence after it); `due_date: null` stops repeating too.',
    ),
    version: int32(1).optional().openapi({
      description: 'The version you read; 409 if it changed since. Required unless an If-Match header is sent.',
    }),
  })
  .refine((body) => Object.keys(body).some((k) => k !== 'version'), {
    message: 'Nothing to change: send at least one field besides version',
  })
  .openapi('UpdateTaskRequest', {
    description: 'The fields to change, with the version read: the body of PATCH /api/v1/tasks/{task_id}',
  });

/** Tasks per page, for the list and the trash alike. */
const pageLimit = z.coerce
  .number()
  .int()
  .min(1)
  .max(100)
  .default(20)
  .openapi({ description: 'Tasks per page', format: 'int32' });

export const ListTasksQuerySchema = z
  .object({
    page: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .openapi({ description: 'Page number, 1 when absent. Not with `cursor`.', default: 1, format: 'int32' }),
    limit: pageLimit,
    cursor: z
      .string()
      .max(CURSOR_MAX_LENGTH)
      .regex(CURSOR_PATTERN)
      .optional()
      .openapi({
        description:
          'The `next_cursor` of the previous page (opaque): the page starts right after its last task. Same sort ' +
          '(and same `q` for relevance) as that page, else 400; keep the filters too. Not with `page`. A task listed ' +
          'for the whole walk appears exactly once, whatever is added or deleted meanwhile; one added later appears ' +
          'only if it sorts after the pages already read.',
      }),
    q: text(1, SEARCH_MAX_LENGTH)
      .optional()
      .openapi({
        description:
          'Full-text search in title and description (a title match ranks higher). Words must all match; `"a phrase"`, `or` and `-word` work as in web search engines. Case-insensitive, no stemming, any language. A query without any word (only punctuation) matches nothing. A query too complex for Postgres to parse (a run of 33 or more `-`, each a NOT) is 400 naming `q`.',
        examples: ['quarterly report'],
      }),
    status: z.enum(TASK_STATUSES).optional().openapi({ description: 'Only tasks with this status' }),
    priority: z.enum(TASK_PRIORITIES).optional().openapi({ description: 'Only tasks with this priority' }),
    due_from: storableTimestamp().optional().openapi({ description: 'Only tasks due at or after this instant' }),
    due_to: storableTimestamp().optional().openapi({ description: 'Only tasks due at or before this instant' }),
    category_id: uuid().optional().openapi({ description: 'Only tasks with this category' }),
    parent_id: uuid()
      .optional()
      .openapi({
        description: 'Only the subtasks of this task (its direct children). Not with `top_level`.',
        examples: ['01a21ce1-50cf-7237-b8b8-bcd30d1af7d3'],
      }),
    top_level: z
      .enum(['true', 'false'])
      .optional()
      .openapi({
        description:
          '`true`: only tasks that are no subtask (no parent); `false`: only subtasks. Not with `parent_id`.',
        examples: ['true'],
      }),
    sort: z
      .enum(SORTS)
      .optional()
      .openapi({
        description: `One of ${TASK_SORT_FIELDS.join(', ')}; prefix - for descending; or ${RELEVANCE} (best match first), which needs q. Default: ${RELEVANCE} with q, -created_at without. \`position\` is the order the user set among siblings (POST /api/v1/tasks/{task_id}/move), so it needs \`parent_id\` or \`top_level=true\`.`,
      }),
  })
  .refine((q) => !q.due_from || !q.due_to || Date.parse(q.due_from) <= Date.parse(q.due_to), {
    message: 'due_from must not be after due_to',
    path: ['due_from'],
  })
  .refine((q) => q.cursor === undefined || q.page === undefined, {
    message: 'cursor and page cannot be combined: a cursor already says where the page starts',
    path: ['cursor'],
  })
  .refine((q) => q.sort !== RELEVANCE || q.q !== undefined, {
    message: 'sort=relevance needs q',
    path: ['sort'],
  })
  .refine(
    (q) =>
      q.sort === undefined || !POSITION_SORTS.includes(q.sort) || q.parent_id !== undefined || q.top_level === 'true',
    {
      message: 'sort=position orders the tasks under one parent: send parent_id, or top_level=true for the top level',
      path: ['sort'],
    },
  )
  .refine((q) => q.parent_id === undefined || q.top_level === undefined, {
    message: 'parent_id and top_level cannot be combined: the subtasks of a task are never top-level',
    path: ['top_level'],
  });

export const CategoryRefSchema = z
  .object({
    id: uuid().openapi({ description: 'The category id' }),
    name: z.string().max(50).openapi({ description: 'The category name' }),
    color: z.string().max(7).openapi({ description: 'Its colour, `#RRGGBB`' }),
  })
  .openapi('CategoryRef');

export const TaskSchema = z
  .object({
    id: uuid().openapi({ description: 'The task id' }),
    user_id: uuid().openapi({ description: 'Its owner (you)' }),
    parent_id: uuid()
      .nullable()
      .openapi({
        description: 'The task this is a subtask of; null for a top-level task',
        examples: ['01a21ce1-50cf-7237-b8b8-bcd30d1af7d3'],
      }),
    position: z
      .string()
      .max(MAX_POSITION_LENGTH)
      .regex(POSITION_PATTERN)
      .openapi({
        description:
          'Its place among its siblings (the tasks with the same parent), in the order the user set: sort siblings by ' +
          'this key, comparing characters by their code (plain `<` on strings, `COLLATE "C"` in SQL). Unique among ' +
          'live siblings. A new task goes last; POST /api/v1/tasks/{task_id}/move changes it. The keys are those of ' +
          'the fractional-indexing library (generateKeyBetween), so a client offline can place a task the same way.',
        examples: ['a0'],
      }),
    title: z.string().max(200).openapi({ description: 'What is to be done' }),
    description: z.string().max(2000).nullable().openapi({ description: 'Details; null when none' }),
    status: z.enum(TASK_STATUSES).openapi({ description: 'Where it stands' }),
    priority: z.enum(TASK_PRIORITIES).openapi({ description: 'How urgent it is' }),
    due_date: timestamp().nullable().openapi({ description: 'When it is due; null when never' }),
    created_at: timestamp().openapi({ description: 'When it was created' }),
    updated_at: timestamp().openapi({ description: 'When it last changed' }),
    deleted_at: timestamp().nullable().openapi({ description: 'When it went to the trash; null when it is not there' }),
    version: int32(1).openapi({
      description: 'Increments on every change: send it back to update (optimistic locking)',
    }),
    subtask_count: int32(0, MAX_LIVE_TASKS_PER_USER).openapi({
      description:
        'How many of its direct subtasks are not in the trash. Creating, deleting or restoring a subtask changes ' +
        'it, so the task gets a new version then.',
      examples: [2],
    }),
    categories: z.array(CategoryRefSchema).max(MAX_CATEGORIES_PER_USER).openapi({ description: 'Its categories' }),
    recurrence: z
      .string()
      .max(MAX_RECURRENCE_LENGTH)
      .regex(RECURRENCE_PATTERN)
      .nullable()
      .openapi({
        description: `How the task repeats, spelled canonically (parts in a fixed order, upper case); null when it does not. ${RECURRENCE_RULES}`,
        examples: ['FREQ=WEEKLY;BYDAY=MO,WE,FR'],
      }),
    reminders: z
      .array(ReminderSchema)
      .max(MAX_REMINDERS_PER_TASK)
      .openapi({ description: 'Its reminders, the soonest first' }),
    completed_occurrences: int32(0).openapi({
      description: 'How many occurrences of a repeating task were completed (each is in its completions)',
      examples: [3],
    }),
  })
  .openapi('Task', { description: 'A task with its categories' });

export const TaskPageSchema = z
  .object({
    items: z.array(TaskSchema).max(100).openapi({ description: 'The tasks of this page' }),
    total: int32(0).openapi({ description: 'Every task matching the filters, not just this page' }),
    page: int32(1, 10_000)
      .nullable()
      .openapi({ description: 'The page number; null when the page was asked for by cursor (it has no offset)' }),
    limit: int32(1, 100).openapi({ description: 'The page size used' }),
    next_cursor: z
      .string()
      .max(CURSOR_MAX_LENGTH)
      .nullable()
      .openapi({ description: 'Pass as `cursor` for the next page; null on the last page. Set in both modes.' }),
  })
  .openapi('TaskPage');

const neighbour = (side: 'before' | 'after') =>
  uuid()
    .optional()
    .openapi({
      description:
        `Put the task right ${side} this task, a sibling under the new parent (409 if it is not). ` +
        'Not with `' +
        (side === 'before' ? 'after' : 'before') +
        '`; with neither the task goes last.',
      pattern: UUID_PATTERN,
      examples: ['01a21ce1-50cf-7237-b8b8-bcd30d1af7d3'],
    });

export const MoveTaskSchema = z
  .strictObject({
    parent_id: uuid()
      .nullable()
      .optional()
      .openapi({
        description:
          'The new parent: one of your tasks, not in the trash, not the task itself or one of its subtasks, and deep ' +
          `enough room for the task and its subtasks (${MAX_TASK_DEPTH} levels at most). null: to the top level. ` +
          'Absent: the parent of `before`/`after`, or the current parent when neither is sent.',
        pattern: UUID_PATTERN,
        examples: ['01a21ce1-50cf-7237-b8b8-bcd30d1af7d3'],
      }),
    before: neighbour('before'),
    after: neighbour('after'),
    version: int32(1)
      .optional()
      .openapi({ description: 'The version you read: 409 if it changed since (or send If-Match). Optional.' }),
  })
  .refine((body) => body.before === undefined || body.after === undefined, {
    message: 'Send before or after, not both',
    path: ['after'],
  })
  .openapi('MoveTaskRequest', { description: 'Where the task goes: the body of POST /api/v1/tasks/{task_id}/move' });

export const RestoreTaskSchema = z
  .strictObject({
    version: int32(1).optional().openapi({
      description: 'When given, the task must still be at this version (409 otherwise)',
    }),
  })
  .openapi('RestoreTaskRequest');

export const TrashQuerySchema = z.object({
  page: z.coerce.number().int().min(1).max(10_000).default(1).openapi({ description: 'Page number', format: 'int32' }),
  limit: pageLimit,
});

export const TrashPageSchema = z
  .object({
    items: z.array(TaskSchema).max(100).openapi({ description: 'Deleted tasks, most recently deleted first' }),
    total: int32(0).openapi({ description: 'Every task in the trash, not just this page' }),
    page: int32(1, 10_000).openapi({ description: 'The page number' }),
    limit: int32(1, 100).openapi({ description: 'The page size used' }),
    retention_days: int32(1, 3650).openapi({ description: 'Tasks are purged this many days after deletion' }),
  })
  .openapi('TrashPage');

export const CompletionSchema = z
  .object({
    id: uuid().openapi({ description: 'The completion id' }),
    due_date: timestamp().openapi({ description: 'The due date of the occurrence completed' }),
    completed_at: timestamp().openapi({ description: 'When it was completed' }),
  })
  .openapi('Completion', { description: 'One completed occurrence of a repeating task' });

export const CompletionPageSchema = z
  .object({
    items: z.array(CompletionSchema).max(100).openapi({ description: 'Completions, most recent first' }),
    total: int32(0).openapi({ description: 'Every completion of the task, not just this page' }),
    page: int32(1, 10_000).openapi({ description: 'The page number' }),
    limit: int32(1, 100).openapi({ description: 'The page size used' }),
  })
  .openapi('CompletionPage');

export const CHANGES_MAX_LIMIT = 500;

export const ChangesQuerySchema = z.object({
  cursor: z.string().min(1).max(200).optional().openapi({
    description: 'The `next_cursor` of the previous sync; omit it to start from the beginning',
  }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(CHANGES_MAX_LIMIT)
    .default(100)
    .openapi({ description: 'At most this many changes', format: 'int32' }),
});

export const TaskChangeSchema = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('task').openapi({ description: 'The kind of change' }),
        task: TaskSchema,
      })
      .openapi('TaskUpserted', { description: 'The task as it is now: create or replace your copy' }),
    z
      .object({
        type: z.literal('task_deleted').openapi({ description: 'The kind of change' }),
        task_id: uuid().openapi({ description: 'The task that went to the trash' }),
        version: int32(1).openapi({ description: 'Its version in the trash' }),
        deleted_at: timestamp().openapi({ description: 'When it was deleted' }),
      })
      .openapi('TaskDeleted', { description: 'The task went to the trash: drop your copy' }),
    z
      .object({
        type: z.literal('category_unlinked').openapi({ description: 'The kind of change' }),
        task_id: uuid().openapi({ description: 'The task' }),
        category_id: uuid().openapi({ description: 'The category removed from it (or deleted)' }),
        removed_at: timestamp().openapi({ description: 'When it was removed' }),
      })
      .openapi('CategoryUnlinked', { description: 'The category is no longer on the task' }),
  ])
  .openapi('TaskChange');

export const ChangesPageSchema = z
  .object({
    changes: z.array(TaskChangeSchema).max(CHANGES_MAX_LIMIT).openapi({ description: 'The changes, oldest first' }),
    next_cursor: z.string().max(200).openapi({ description: 'Pass it as `cursor` next time' }),
    has_more: z.boolean().openapi({ description: 'More changes are waiting: sync again at once' }),
  })
  .openapi('TaskChanges');

export type TaskJson = z.infer<typeof TaskSchema>;
export type TaskChange = z.infer<typeof TaskChangeSchema>;
export type ListTasksQuery = z.infer<typeof ListTasksQuerySchema>;
