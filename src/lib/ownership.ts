import { AppError } from './errors.ts';

type Resource = 'task' | 'category' | 'session';

/** A resource that does not exist (or is deleted, or was never yours to see). */
export function notFound(what: Resource): AppError {
  return new AppError('NOT_FOUND', `No such ${what}.`);
}

/**
 * The one owner check, for every resource: 404 when it does not exist, 403 when it is someone
 * else's (the contract's rule: docs/api.md; decision 0022). `owner` is the row's user id as the
 * statement read it, null or undefined when there was no row.
 */
export function checkOwner(owner: string | null | undefined, userId: string, what: Resource): void {
  if (!owner) throw notFound(what);
  if (owner !== userId) throw new AppError('FORBIDDEN', `This ${what} belongs to another user.`);
}

/** The row, once checkOwner passed on its `owner`. */
export function owned<T extends { owner?: string | null }>(row: T | undefined, userId: string, what: Resource): T {
  checkOwner(row?.owner, userId, what);
  return row as T;
}
