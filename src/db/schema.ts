import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  boolean,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';

/**
 * The data model of docs/data-model.md. Ids are UUIDv7 made by the Worker (time-ordered, so
 * new rows land at the right edge of the primary-key index); the database default is only for
 * hand-written SQL. Every timestamp is timestamptz and every user-owned row goes when its user does.
 */

const timestamps = {
  createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull().defaultNow(),
};

/** Postgres' full-text document type; only Postgres writes it (a generated column), so no mapping. */
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });
/** Text that sorts by bytes whatever the database's default collation (fractional-indexing keys need it). */
const bytewiseText = customType<{ data: string }>({ dataType: () => 'text collate "C"' });

// Declared here once: the API's schemas take their enums and defaults from these.
export const taskStatus = pgEnum('task_status', ['todo', 'in_progress', 'done']);
export const taskPriority = pgEnum('task_priority', ['low', 'medium', 'high', 'urgent']);
export const DEFAULT_CATEGORY_COLOR = '#6B7280';

export const users = pgTable(
  'users',
  {
    id: uuid()
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    // Stored lower-cased: uniqueness is case-insensitive by construction, and the check keeps it so.
    email: text().notNull(),
    passwordHash: text().notNull(),
    fullName: text().notNull(),
    isActive: boolean().notNull().default(false),
    emailVerifiedAt: timestamp({ withTimezone: true, mode: 'date' }),
    failedLoginCount: integer().notNull().default(0),
    lockedUntil: timestamp({ withTimezone: true, mode: 'date' }),
    /**
     * An IANA zone name (validated by the API, src/lib/time-zone.ts): where the user's days begin
     * and end, for recurring tasks and reminders. UTC until the user sets one.
     */
    timeZone: text().notNull().default('UTC'),
    ...timestamps,
    updatedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('users_email_key').on(t.email),
    check('users_time_zone_length', sql`char_length(${t.timeZone}) between 1 and 64`),
    check('users_email_lower', sql`${t.email} = lower(${t.email})`),
    check('users_failed_login_count_nonnegative', sql`${t.failedLoginCount} >= 0`),
  ],
);

export const tasks = pgTable(
  'tasks',
  {
    id: uuid()
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /**
     * The task this one is a subtask of (same user, at most MAX_TASK_DEPTH levels), set at creation
     * only. A live task's parent is always live: deleting a task trashes its live subtree, a subtask
     * of a task in the trash cannot be restored or created. Purging a task purges its subtree.
     */
    parentId: uuid().references((): AnyPgColumn => tasks.id, { onDelete: 'cascade' }),
    /**
     * Where the task stands among its siblings (the live tasks with the same parent), in the order
     * the user set: a fractional-indexing key (docs/decisions/0027), compared byte by byte. New
     * tasks go last; a move writes this row only. Unique among live siblings.
     */
    position: bytewiseText().notNull(),
    title: text().notNull(),
    description: text(),
    status: taskStatus().notNull().default('todo'),
    priority: taskPriority().notNull().default('medium'),
    dueDate: timestamp({ withTimezone: true, mode: 'date' }),
    ...timestamps,
    updatedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    deletedAt: timestamp({ withTimezone: true, mode: 'date' }),
    version: integer().notNull().default(1),
    /**
     * Recurring tasks (docs/decisions/0029): the rule (canonical RRULE text, src/lib/recurrence.ts)
     * and the series' start (DTSTART, read as wall-clock time in the user's zone). A rule needs a
     * due date: the due date is the occurrence open now.
     */
    recurrence: text(),
    recurrenceStart: timestamp({ withTimezone: true, mode: 'date' }),
    /**
     * The schedule the Worker computed: the occurrences after the due date (at most MAX_UPCOMING,
     * ascending), whether more follow, and the zone they were computed in. A completion advances in
     * SQL from this list, so it stays one statement. Null when unknown (the Worker fills it in).
     */
    recurrenceUpcoming: timestamp({ withTimezone: true, mode: 'date' }).array(),
    recurrenceMore: boolean().notNull().default(false),
    recurrenceZone: text(),
    /** How many times the series was completed (each one is a task_completions row). */
    completedOccurrences: integer().notNull().default(0),
    /**
     * The user's change counter (task_sync_state.seq) when this task last changed in any way the
     * API shows: fields, deletion, restore, category links. Delta sync reads changes past a cursor.
     */
    changeSeq: bigint({ mode: 'number' }).notNull().default(0),
    // What `q=` searches, kept by Postgres itself so no write path can forget it. The `simple`
    // configuration folds case but neither stems nor drops stop words: users write in every
    // language, and an English stemmer would mangle the rest. A title match weighs more (A) than
    // a description match (B) in ts_rank.
    search: tsvector()
      .notNull()
      .generatedAlwaysAs(
        sql`setweight(to_tsvector('simple'::regconfig, "title"), 'A') || setweight(to_tsvector('simple'::regconfig, coalesce("description", '')), 'B')`,
      ),
  },
  (t) => [
    check('tasks_title_length', sql`char_length(${t.title}) between 3 and 200`),
    check('tasks_description_length', sql`${t.description} is null or char_length(${t.description}) <= 2000`),
    check('tasks_version_positive', sql`${t.version} >= 1`),
    check('tasks_position_length', sql`char_length(${t.position}) between 2 and 512`),
    check('tasks_recurrence_length', sql`${t.recurrence} is null or char_length(${t.recurrence}) between 1 and 500`),
    // A series has a start and a due date; a task without a rule has neither schedule nor start.
    check(
      'tasks_recurrence_consistent',
      sql`(${t.recurrence} is null) = (${t.recurrenceStart} is null) and (${t.recurrence} is null or ${t.dueDate} is not null)`,
    ),
    // The list endpoint always filters by user and live rows, then sorts by one of these keys with
    // the id as tie-break: one partial index per sort order serves filter, order and limit, so a
    // page is read in index order and never sorted (bench/explain.ts shows the plans).
    index('tasks_user_created_idx')
      .on(t.userId, t.createdAt, t.id)
      .where(sql`${t.deletedAt} is null`),
    index('tasks_user_updated_idx')
      .on(t.userId, t.updatedAt, t.id)
      .where(sql`${t.deletedAt} is null`),
    index('tasks_user_due_idx')
      .on(t.userId, t.dueDate, t.id)
      .where(sql`${t.deletedAt} is null`),
    // Tasks without a due date come last in both directions, so descending needs its own order.
    index('tasks_user_due_desc_idx')
      .on(t.userId, t.dueDate.desc().nullsLast(), t.id.desc())
      .where(sql`${t.deletedAt} is null`),
    index('tasks_user_status_idx')
      .on(t.userId, t.status, t.id)
      .where(sql`${t.deletedAt} is null`),
    index('tasks_user_priority_idx')
      .on(t.userId, t.priority, t.id)
      .where(sql`${t.deletedAt} is null`),
    index('tasks_user_title_idx')
      .on(t.userId, sql`lower(${t.title})`, t.id)
      .where(sql`${t.deletedAt} is null`),
    // Search: one GIN index over (user, document), so the user filter and the text match are
    // one index scan (user_id is a GIN key thanks to btree_gin, created by the migration).
    index('tasks_user_search_idx')
      .using('gin', t.userId, t.search)
      .where(sql`${t.deletedAt} is null`),
    // Delta sync: every row of the user, live or trashed, in change order.
    index('tasks_user_change_idx').on(t.userId, t.changeSeq, t.id),
    // The trash, newest deletion first, and the purge of old deletions across users.
    index('tasks_user_trash_idx')
      .on(t.userId, t.deletedAt.desc(), t.id.desc())
      .where(sql`${t.deletedAt} is not null`),
    index('tasks_deleted_at_idx')
      .on(t.deletedAt)
      .where(sql`${t.deletedAt} is not null`),
    // Subtasks: a task's live children (subtask_count, `parent_id=`), its subtree with one
    // deleted_at (delete, restore), and the foreign key's cascade. Top-level tasks are not in it.
    index('tasks_parent_idx')
      .on(t.parentId, t.deletedAt)
      .where(sql`${t.parentId} is not null`),
    // Manual order: live siblings never share a position (a move computes its key under the
    // user's row lock), and `sort=position` reads a list of siblings in index order. Two indexes,
    // since top-level tasks have no parent to group them by.
    uniqueIndex('tasks_top_position_idx')
      .on(t.userId, t.position)
      .where(sql`${t.parentId} is null and ${t.deletedAt} is null`),
    uniqueIndex('tasks_sub_position_idx')
      .on(t.parentId, t.position)
      .where(sql`${t.parentId} is not null and ${t.deletedAt} is null`),
    // The minute cron's refill of repeating tasks' schedules: by the last occurrence listed, for
    // the series that go on after it.
    index('tasks_schedule_end_idx')
      .on(sql`(${t.recurrenceUpcoming}[cardinality(${t.recurrenceUpcoming})])`)
      .where(sql`${t.recurrenceMore} and ${t.deletedAt} is null`),
  ],
);

/**
 * One row per user who ever changed a task: `seq` numbers the user's task changes. Every task
 * write takes this row's lock first, so a user's changes commit in `seq` order and a sync reader
 * that sees change n has seen every change before it (docs/decisions/0013-delta-sync.md).
 * `purged_seq` is the newest change whose tombstone the trash purge has since removed: a client
 * whose cursor is older may have missed it and must sync from scratch.
 */
export const taskSyncState = pgTable('task_sync_state', {
  userId: uuid()
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  seq: bigint({ mode: 'number' }).notNull().default(0),
  purgedSeq: bigint({ mode: 'number' }).notNull().default(0),
});

/**
 * The history of a recurring task: one row per completed occurrence (its due date, and when it was
 * completed). A completion writes it in the same statement that advances the task.
 */
export const taskCompletions = pgTable(
  'task_completions',
  {
    id: uuid().primaryKey(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    taskId: uuid()
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    dueDate: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    completedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    // A task's history, newest first (GET /tasks/{id}/completions); the user's, for the export.
    index('task_completions_task_idx').on(t.taskId, t.completedAt.desc(), t.id.desc()),
    index('task_completions_user_idx').on(t.userId, t.completedAt.desc(), t.id.desc()),
  ],
);

/**
 * A task's reminders (at most MAX_REMINDERS_PER_TASK): at an instant (`at`), or `minutes_before`
 * its due date. `remind_at` is when it fires, kept by the task's writes (a due date that moves
 * moves it, and re-arms it); null for a reminder before a due date the task does not have. The
 * scheduled handler claims due ones (`claimed_until`, a lease) and records `sent_at`.
 */
export const taskReminders = pgTable(
  'task_reminders',
  {
    id: uuid().primaryKey(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    taskId: uuid()
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    at: timestamp({ withTimezone: true, mode: 'date' }),
    minutesBefore: integer(),
    remindAt: timestamp({ withTimezone: true, mode: 'date' }),
    sentAt: timestamp({ withTimezone: true, mode: 'date' }),
    claimedUntil: timestamp({ withTimezone: true, mode: 'date' }),
  },
  (t) => [
    check('task_reminders_one_kind', sql`(${t.at} is null) <> (${t.minutesBefore} is null)`),
    check('task_reminders_minutes', sql`${t.minutesBefore} is null or ${t.minutesBefore} between 0 and 40320`),
    index('task_reminders_task_idx').on(t.taskId),
    index('task_reminders_user_idx').on(t.userId),
    // The scheduled handler's scan: the unsent ones, by when they fire.
    index('task_reminders_due_idx')
      .on(t.remindAt)
      .where(sql`${t.sentAt} is null and ${t.remindAt} is not null`),
  ],
);

/** Tombstones of removed task-category links, for delta sync (a task row cannot show what it lost). */
export const taskLinkRemovals = pgTable(
  'task_link_removals',
  {
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    taskId: uuid()
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    // No foreign key: the category may be gone (deleting it is one way to lose the link).
    categoryId: uuid().notNull(),
    changeSeq: bigint({ mode: 'number' }).notNull(),
    removedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    index('task_link_removals_user_change_idx').on(t.userId, t.changeSeq, t.taskId, t.categoryId),
    index('task_link_removals_removed_at_idx').on(t.removedAt),
  ],
);

export const categories = pgTable(
  'categories',
  {
    id: uuid()
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    color: text().notNull().default(DEFAULT_CATEGORY_COLOR),
    ...timestamps,
    /** Renames and recolours: optimistic locking as for tasks (ETag "<id>.<version>", If-Match). */
    updatedAt: timestamp({ withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    version: integer().notNull().default(1),
  },
  (t) => [
    // Unique per user, case-insensitively: "Work" and "work" are the same category.
    uniqueIndex('categories_user_name_key').on(t.userId, sql`lower(${t.name})`),
    check('categories_name_length', sql`char_length(${t.name}) between 3 and 50`),
    check('categories_color_hex', sql`${t.color} ~ '^#[0-9A-Fa-f]{6}$'`),
    check('categories_version_positive', sql`${t.version} >= 1`),
  ],
);

export const taskCategories = pgTable(
  'task_categories',
  {
    taskId: uuid()
      .notNull()
      .references(() => tasks.id, { onDelete: 'cascade' }),
    categoryId: uuid()
      .notNull()
      .references(() => categories.id, { onDelete: 'cascade' }),
    ...timestamps,
  },
  (t) => [primaryKey({ columns: [t.taskId, t.categoryId] }), index('task_categories_category_idx').on(t.categoryId)],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: uuid()
      .primaryKey()
      .default(sql`gen_random_uuid()`),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** Every token descended from one login shares a family; reuse of a revoked one revokes it all. */
    familyId: uuid().notNull(),
    /** SHA-256 of the opaque token, hex: the token itself is never stored. */
    tokenHash: text().notNull(),
    expiresAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    /** The family's absolute end (30 days after login), copied onto every rotation. */
    familyExpiresAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
    ...timestamps,
    lastUsedAt: timestamp({ withTimezone: true, mode: 'date' }),
    revokedAt: timestamp({ withTimezone: true, mode: 'date' }),
    /**
     * Why it stopped working. Only a token revoked because it was `rotated` gets the reuse grace
     * window; one revoked by logout or reuse detection never works again.
     */
    revokedReason: text({ enum: ['rotated', 'logout', 'logout_all', 'reuse', 'password_change'] }),
    rotatedFrom: uuid().references((): AnyPgColumn => refreshTokens.id, { onDelete: 'set null' }),
    /** What the session list shows: the client and a coarse location at login, kept on rotation. */
    userAgent: text(),
    location: text(),
  },
  (t) => [
    uniqueIndex('refresh_tokens_token_hash_key').on(t.tokenHash),
    index('refresh_tokens_user_idx').on(t.userId),
    index('refresh_tokens_family_idx').on(t.familyId),
    index('refresh_tokens_expires_idx').on(t.expiresAt),
    check('refresh_tokens_revoked_consistent', sql`(${t.revokedAt} is null) = (${t.revokedReason} is null)`),
  ],
);

/**
 * A single-use token sent by email (verification, password reset): only its SHA-256 is stored,
 * it expires, and `used_at` marks it spent. One shape, so both kinds behave the same.
 */
function oneTimeTokenTable<N extends string>(name: N) {
  return pgTable(
    name,
    {
      id: uuid()
        .primaryKey()
        .default(sql`gen_random_uuid()`),
      userId: uuid()
        .notNull()
        .references(() => users.id, { onDelete: 'cascade' }),
      tokenHash: text().notNull(),
      expiresAt: timestamp({ withTimezone: true, mode: 'date' }).notNull(),
      ...timestamps,
      usedAt: timestamp({ withTimezone: true, mode: 'date' }),
    },
    (t) => [
      uniqueIndex(`${name}_token_hash_key`).on(t.tokenHash),
      index(`${name}_user_idx`).on(t.userId),
      index(`${name}_expires_idx`).on(t.expiresAt),
    ],
  );
}

/**
 * Commands of POST /api/v1/batch already run, each with the row its statement returned and a
 * digest of the command, so a command id sent again is answered from here instead of running twice
 * (docs/decisions/0028). Written in the command's own statement; the cron drops them after
 * BATCH_COMMAND_RETENTION_DAYS.
 */
export const batchCommands = pgTable(
  'batch_commands',
  {
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    commandId: text().notNull(),
    fingerprint: text().notNull(),
    answer: jsonb().notNull(),
    createdAt: timestamp({ withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.commandId] }),
    index('batch_commands_created_at_idx').on(t.createdAt),
    check('batch_commands_id_length', sql`char_length(${t.commandId}) between 1 and 64`),
  ],
);

export const emailVerificationTokens = oneTimeTokenTable('email_verification_tokens');
export const passwordResetTokens = oneTimeTokenTable('password_reset_tokens');

export type User = typeof users.$inferSelect;
export type Task = typeof tasks.$inferSelect;
export type Category = typeof categories.$inferSelect;
export type RefreshToken = typeof refreshTokens.$inferSelect;
