import { eq, sql } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { emailVerificationTokens, passwordResetTokens, users } from '../../db/schema.ts';
import type { EmailMessage } from '../../lib/email.ts';
import { AppError } from '../../lib/errors.ts';
import { describeError, log } from '../../lib/log.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '../../lib/password.ts';
import { purgeUserData } from '../../lib/user-data.ts';
import { hashToken, newOpaqueToken, OPAQUE_TOKEN } from '../../lib/tokens.ts';
import { passwordPolicy, retireLinks } from '../auth/auth.service.ts';
import { claimPasswordCheck, releaseClaim, type Claim } from '../auth/lockout.ts';
import { denyDeletedUser, denyEnded, endSessionsForPassword } from '../sessions/sessions.service.ts';

/**
 * The account lifecycle: password change and reset, export and deletion. The sessions they end
 * (and whose access tokens they deny) are src/features/sessions/sessions.service.ts.
 */

const RESET_TTL_MS = 60 * 60 * 1000;

/**
 * Checks the user's password under the same lockout as login (src/features/auth/lockout.ts): the
 * check is claimed first, a locked account answers 423 without hashing, a wrong one counts.
 */
async function checkPassword(deps: Deps, userId: string, password: string): Promise<Claim> {
  const claim = await claimPasswordCheck(deps, eq(users.id, userId));
  if (!claim) {
    await verifyAgainstDummy(password, passwordPolicy(deps));
    throw new AppError('UNAUTHENTICATED', 'The account no longer exists.');
  }
  const check = await verifyPassword(password, claim.user.passwordHash, passwordPolicy(deps));
  if (!check.ok) throw new AppError('PASSWORD_MISMATCH', 'The current password is wrong.');
  return claim;
}

/** A new password; every other session ends, this one goes on. */
export async function changePassword(
  deps: Deps,
  userId: string,
  sessionId: string,
  input: { current_password: string; new_password: string },
): Promise<void> {
  const claim = await checkPassword(deps, userId, input.current_password);
  const now = deps.clock.now();
  const passwordHash = await hashPassword(input.new_password, passwordPolicy(deps));
  const [, ended] = await deps.db.batch([
    deps.db
      .update(users)
      .set({ passwordHash, updatedAt: now, ...releaseClaim(claim) })
      .where(eq(users.id, userId)),
    endSessionsForPassword(deps, userId, now, sessionId),
    // Links mailed before the change stop working: a reset link must not undo it.
    retireLinks(deps, passwordResetTokens, userId, now),
    retireLinks(deps, emailVerificationTokens, userId, now),
  ]);
  const families = ended.map((row) => row.familyId);
  await denyEnded(deps, families);
}

/**
 * Always the same answer and the same work whether the address has an account or not: one
 * statement that stores a token only for an existing user. The email goes out after the response.
 */
export async function requestPasswordReset(deps: Deps, email: string): Promise<EmailMessage | null> {
  const now = deps.clock.now();
  const token = newOpaqueToken();
  const result = await deps.db.execute<{ user_id: string }>(sql`
    insert into password_reset_tokens (id, user_id, token_hash, expires_at, created_at)
    select ${deps.ids.uuid()}, id, ${hashToken(token)}, ${new Date(now.getTime() + RESET_TTL_MS)}, ${now}
      from users where email = ${email}
    returning user_id`);
  if (result.rows.length === 0) return null;
  const link = `${deps.config.APP_URL}/reset-password?token=${encodeURIComponent(token)}`;
  return {
    kind: 'password-reset',
    to: email,
    subject: 'Reset your edgetask password',
    text: `Open this link to choose a new password (valid for 1 hour):\n\n${link}\n\nOr enter this code in the app: ${token}\n\nIf you did not ask for this, ignore this message: your password stays as it is.`,
  };
}

/** Redeems a reset token (single use, 1 h): sets the password, unlocks, and ends every session. */
export async function resetPassword(deps: Deps, input: { token: string; new_password: string }): Promise<void> {
  if (!OPAQUE_TOKEN.test(input.token)) throw resetInvalid();
  const now = deps.clock.now();
  const passwordHash = await hashPassword(input.new_password, passwordPolicy(deps));
  const result = await deps.db.execute<{ user_id: string | null; sessions: string[] | null }>(sql`
    with used as (
      update password_reset_tokens set used_at = ${now}
       where token_hash = ${hashToken(input.token)} and used_at is null and expires_at > ${now}
      returning user_id
    ),
    reset as (
      update users set password_hash = ${passwordHash}, failed_login_count = 0, locked_until = null, updated_at = ${now}
       where id = (select user_id from used)
      returning id
    ),
    ended as ${endSessionsForPassword(deps, sql`(select id from reset)`, now)},
    others as (
      -- Other reset links of this user stop working too.
      update password_reset_tokens set used_at = ${now}
       where user_id = (select user_id from used) and used_at is null
      returning id
    ),
    verifications as (
      -- So do pending verification links (issue 12: a reset ends every pending link).
      update email_verification_tokens set used_at = ${now}
       where user_id = (select id from reset) and used_at is null
      returning id
    )
    select (select id from reset) as user_id,
           (select array_agg(distinct family_id) from ended) as sessions,
           (select count(*) from others) as others,
           (select count(*) from verifications) as verifications`);
  const row = result.rows[0];
  if (!row?.user_id) throw resetInvalid();
  await denyEnded(deps, row.sessions ?? []);
}

function resetInvalid(): AppError {
  return new AppError('RESET_TOKEN_INVALID', 'This reset link is unknown, already used or expired. Ask for a new one.');
}

/**
 * Deletes the user and, by cascade, every row of theirs, in one statement. Their tokens stop
 * working at once: refresh tokens are gone with the rows, access tokens are denied by user. Their
 * Upstash data (cached reads, Idempotency-Key records, rate-limit windows) goes in `defer`, after
 * the response: finding it walks the keyspace (src/lib/user-data.ts).
 */
export async function deleteAccount(
  deps: Deps,
  userId: string,
  password: string,
  defer: (work: () => Promise<unknown>) => void = () => undefined,
): Promise<void> {
  await checkPassword(deps, userId, password);
  const deleted = await deps.db.delete(users).where(eq(users.id, userId)).returning({ id: users.id });
  if (deleted.length === 0) throw new AppError('UNAUTHENTICATED', 'The account no longer exists.');
  await denyDeletedUser(deps, userId);
  defer(() =>
    purgeUserData(deps.redis, userId).catch((error: unknown) => {
      // The cached entries and rate-limit windows expire on their own (5 minutes, 2 minutes);
      // Idempotency-Key records after 24 h.
      log('error', "could not remove a deleted user's Upstash data", { error: describeError(error) });
    }),
  );
}
