import { and, eq, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { users, type User } from '../../db/schema.ts';
import { AppError } from '../../lib/errors.ts';

/**
 * The account lockout, shared by every route that checks a password (login, change-password,
 * DELETE /account): a check is claimed in the database BEFORE the hash runs, in one conditional
 * UPDATE, so however many attempts arrive at once at most LOCKOUT_THRESHOLD are evaluated per lock
 * window. The claim counts the attempt as a failure up front; the claim that reaches the threshold
 * sets the lock, and later claims find the row locked and are refused (423) without hashing.
 * A success gives back only what its own claim took (docs/decisions/0014-lockout-claim.md).
 */

export interface Claim {
  user: User;
  /** failed_login_count right after this claim: the failures it knew of, itself included. */
  count: number;
  /** The lock this claim set (it reached the threshold), or null. */
  lockedUntil: Date | null;
}

/**
 * Claims one password check for the user matched by `which`: the UPDATE and a read of the lock
 * state, in one transaction and one round trip. Returns null when no user matches; throws 423 when
 * the account is locked. The read comes after the UPDATE, so it sees a lock set by a concurrent
 * claim that made this one miss.
 */
export async function claimPasswordCheck(deps: Deps, which: SQL): Promise<Claim | null> {
  const now = deps.clock.now();
  const threshold = deps.config.LOCKOUT_THRESHOLD;
  const lockUntil = new Date(now.getTime() + deps.config.LOCKOUT_MINUTES * 60_000);
  // An expired lock starts the count afresh; reaching the threshold sets the lock.
  const count = sql`case when ${users.lockedUntil} is not null then 1 else ${users.failedLoginCount} + 1 end`;
  const [claimed, [current]] = await deps.db.batch([
    deps.db
      .update(users)
      .set({
        failedLoginCount: count,
        lockedUntil: sql`case when ${count} >= ${threshold} then ${lockUntil}::timestamptz else null end`,
      })
      .where(and(which, or(isNull(users.lockedUntil), lte(users.lockedUntil, now))))
      .returning(),
    deps.db.select({ lockedUntil: users.lockedUntil }).from(users).where(which).limit(1),
  ]);
  const user = claimed[0];
  if (user) return { user, count: user.failedLoginCount, lockedUntil: user.lockedUntil };
  if (!current) return null;
  // Locked. The lock read after the UPDATE is the one that refused this claim; if it is gone
  // already (a reset in between), the full lock time is the honest upper bound.
  throw accountLocked(current.lockedUntil && current.lockedUntil > now ? current.lockedUntil : lockUntil, now);
}

/**
 * What a successful check writes back, for the `users` update that follows it: the failures this
 * claim knew of are forgiven, failures claimed concurrently after it stay counted, and a lock is
 * lifted only if this claim set it (a lock set by others' failures stays).
 */
export function releaseClaim(claim: Claim): { failedLoginCount: SQL; lockedUntil: SQL } {
  return {
    failedLoginCount: sql`greatest(${users.failedLoginCount} - ${claim.count}, 0)`,
    lockedUntil: claim.lockedUntil
      ? sql`case when ${users.lockedUntil} = ${claim.lockedUntil} then null else ${users.lockedUntil} end`
      : sql`${users.lockedUntil}`,
  };
}

/** Releases a claim on its own (a check that succeeded but writes nothing else to the user). */
export async function releaseClaimNow(deps: Deps, claim: Claim): Promise<void> {
  await deps.db.update(users).set(releaseClaim(claim)).where(eq(users.id, claim.user.id));
}

export function accountLocked(until: Date, now: Date): AppError {
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return new AppError(
    'ACCOUNT_LOCKED',
    `Too many failed password checks: the account is locked for ${Math.ceil(seconds / 60)} more minute(s).`,
    {
      retryAfterSeconds: seconds,
      extensions: { locked_until: until.toISOString() },
    },
  );
}
