/**
 * Per-account caps against abuse, far above what a person keeps (docs/decisions/0017). The schemas
 * state them as maxItems, the services enforce them under the user's row lock.
 */
export const MAX_LIVE_TASKS_PER_USER = 10_000;
export const MAX_CATEGORIES_PER_USER = 200;
