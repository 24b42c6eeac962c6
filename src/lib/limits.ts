/**
 * Per-account caps against abuse, far above what a person keeps (docs/decisions/0017). The schemas
 * state them as maxItems, the services enforce them under the user's row lock.
 */
export const MAX_LIVE_TASKS_PER_USER = 10_000;
export const MAX_CATEGORIES_PER_USER = 200;
/** Subtasks nest at most this many levels: a top-level task is level 1 (docs/decisions/0026). */
export const MAX_TASK_DEPTH = 4;
/**
 * The longest position key a move may write (docs/decisions/0027). Keys grow by a character every
 * few moves into the very same gap; far below the 2,704 bytes a btree index entry may hold.
 */
export const MAX_POSITION_LENGTH = 512;

/** The account export holds every live task and the most recently deleted ones up to this many. */
export const MAX_EXPORTED_TRASH = 10_000;
export const MAX_EXPORTED_TASKS = MAX_LIVE_TASKS_PER_USER + MAX_EXPORTED_TRASH;
/** The completions of repeating tasks an export holds, the most recent ones (years of daily tasks). */
export const MAX_EXPORTED_COMPLETIONS = 100_000;
/** Each exported task links to at most every category of the user. */
export const MAX_EXPORTED_LINKS = MAX_EXPORTED_TASKS * MAX_CATEGORIES_PER_USER;

/** The session list shows at most this many sessions, the most recently used first. */
export const MAX_LISTED_SESSIONS = 1000;

/** Commands in one POST /api/v1/batch (docs/decisions/0028). */
export const MAX_BATCH_COMMANDS = 100;
/** A batch counts against the per-user rate limit as one request per this many commands (rounded up). */
export const BATCH_COMMANDS_PER_REQUEST = 10;
/** How long a batch command's answer is kept for replays. */
export const BATCH_COMMAND_RETENTION_DAYS = 30;

/** Reminders one task may carry (docs/decisions/0030). */
export const MAX_REMINDERS_PER_TASK = 5;
/** The longest a reminder may come before its due date: four weeks, in minutes. */
export const MAX_REMINDER_MINUTES_BEFORE = 40_320;
