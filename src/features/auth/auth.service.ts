import type { z } from '@hono/zod-openapi';
import { and, eq, isNull, or, sql } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { emailVerificationTokens, passwordResetTokens, users, type User } from '../../db/schema.ts';
import { uniqueViolation } from '../../db/errors.ts';
import { USER_JSON } from '../../db/sql.ts';
import { logEmailFailure, type EmailMessage } from '../../lib/email.ts';
import { AppError } from '../../lib/errors.ts';
import { jwtSettings, signAccessToken } from '../../lib/jwt.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword, type PasswordPolicy } from '../../lib/password.ts';
import { hashToken, newOpaqueToken, OPAQUE_TOKEN } from '../../lib/tokens.ts';
import { deleteEndedSessions, startSession, type ClientInfo, type Session } from '../sessions/sessions.service.ts';
import { claimPasswordCheck, releaseClaim } from './lockout.ts';
import type { TokenPairSchema, UserSchema } from './auth.schemas.ts';

/**
 * Accounts: registration, login and email verification; their sessions are sessions.service.ts.
 * Every multi-row change is one statement or one db.batch (one transaction, one round trip):
 * Neon's HTTP protocol has no interactive transactions.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
const VERIFICATION_TTL_MS = DAY_MS;

export type TokenPair = z.infer<typeof TokenPairSchema>;
export type PublicUser = z.infer<typeof UserSchema>;

/** The user as clients see it: never the hash, the counters or the lock. */
export function publicUser(
  user: Pick<
    User,
    'id' | 'email' | 'fullName' | 'timeZone' | 'isActive' | 'emailVerifiedAt' | 'createdAt' | 'updatedAt'
  >,
): PublicUser {
  return {
    id: user.id,
    email: user.email,
    full_name: user.fullName,
    time_zone: user.timeZone,
    is_active: user.isActive,
    email_verified_at: user.emailVerifiedAt ? user.emailVerifiedAt.toISOString() : null,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

export function passwordPolicy(deps: Deps): PasswordPolicy {
  return { rounds: deps.config.PASSWORD_HASH_ROUNDS };
}

/** The pair a client gets for a session: a new access token and the session's refresh token. */
export async function tokenPair(deps: Deps, session: Session, now: Date): Promise<TokenPair> {
  const { token, expiresIn } = await signAccessToken(
    {
      userId: session.userId,
      sessionId: session.familyId,
      emailVerified: session.emailVerified,
      timeZone: session.timeZone,
    },
    jwtSettings(deps.config),
    now,
  );
  return { access_token: token, refresh_token: session.refreshToken, token_type: 'Bearer', expires_in: expiresIn };
}

function verificationMessage(deps: Deps, to: string, token: string): EmailMessage {
  const link = `${deps.config.APP_URL}/verify-email?token=${encodeURIComponent(token)}`;
  return {
    kind: 'verify-email',
    to,
    subject: 'Confirm your email address for edgetask',
    text: `Open this link to confirm your email address (valid for 24 hours):\n\n${link}\n\nOr enter this code in the app: ${token}\n\nIf you did not sign up, ignore this message.`,
  };
}

export async function registerUser(
  deps: Deps,
  input: { email: string; password: string; full_name: string; time_zone?: string | undefined },
  client: ClientInfo,
): Promise<{ user: PublicUser; tokens: TokenPair; email: EmailMessage }> {
  const now = deps.clock.now();
  const passwordHash = await hashPassword(input.password, passwordPolicy(deps));
  const userId = deps.ids.uuid();
  const session = startSession(deps, userId, client, now);
  const verification = newOpaqueToken();

  let created: User | undefined;
  try {
    // The user, the verification token and the first session: all or nothing, one round trip.
    const [inserted] = await deps.db.batch([
      deps.db
        .insert(users)
        .values({
          id: userId,
          email: input.email,
          passwordHash,
          fullName: input.full_name,
          ...(input.time_zone !== undefined ? { timeZone: input.time_zone } : {}),
          createdAt: now,
          updatedAt: now,
        })
        .returning(),
      deps.db.insert(emailVerificationTokens).values({
        id: deps.ids.uuid(),
        userId,
        tokenHash: hashToken(verification),
        expiresAt: new Date(now.getTime() + VERIFICATION_TTL_MS),
        createdAt: now,
      }),
      session.insert,
    ]);
    created = inserted[0];
  } catch (error) {
    if (uniqueViolation(error, 'users_email_key')) {
      throw new AppError('EMAIL_TAKEN', 'An account with this email address already exists.');
    }
    throw error;
  }
  if (!created) throw new Error('insert returned no user');
  return {
    user: publicUser(created),
    tokens: await tokenPair(deps, { ...session, userId, emailVerified: false, timeZone: created.timeZone }, now),
    email: verificationMessage(deps, input.email, verification),
  };
}

/**
 * The attempt is claimed before the hash runs (src/features/auth/lockout.ts): a locked account
 * answers 423 without hashing, a wrong password is already counted, and an unknown email costs the
 * same one statement and one hash as a real account.
 */
export async function loginUser(
  deps: Deps,
  input: { email: string; password: string },
  client: ClientInfo,
): Promise<{ user: PublicUser; tokens: TokenPair }> {
  const now = deps.clock.now();
  const policy = passwordPolicy(deps);
  const claim = await claimPasswordCheck(deps, eq(users.email, input.email));
  if (!claim) {
    // The same work as a real check, so response time does not tell which emails have accounts.
    await verifyAgainstDummy(input.password, policy);
    throw new AppError('INVALID_CREDENTIALS', 'The email or the password is wrong.');
  }
  const user = claim.user;
  const check = await verifyPassword(input.password, user.passwordHash, policy);
  if (!check.ok) throw new AppError('INVALID_CREDENTIALS', 'The email or the password is wrong.');

  const session = startSession(deps, user.id, client, now);
  const rehash = check.needsRehash ? await hashPassword(input.password, policy) : undefined;
  const [[updated]] = await deps.db.batch([
    deps.db
      .update(users)
      .set({ ...releaseClaim(claim), ...(rehash ? { passwordHash: rehash, updatedAt: now } : {}) })
      .where(eq(users.id, user.id))
      .returning(),
    session.insert,
  ]);
  return {
    user: publicUser(updated ?? user),
    tokens: await tokenPair(
      deps,
      { ...session, userId: user.id, emailVerified: user.emailVerifiedAt !== null, timeZone: user.timeZone },
      now,
    ),
  };
}

export async function findUser(deps: Deps, userId: string): Promise<PublicUser> {
  const [user] = await deps.db.select().from(users).where(eq(users.id, userId)).limit(1);
  // The token is valid but its user is gone (account deleted): treat it as unauthenticated.
  if (!user) throw new AppError('UNAUTHENTICATED', 'The account no longer exists.');
  return publicUser(user);
}

/** Changes the account's own fields; a deleted account's still-valid token is 401. One statement. */
export async function updateUser(
  deps: Deps,
  userId: string,
  changes: { full_name?: string | undefined; time_zone?: string | undefined },
): Promise<PublicUser> {
  const [user] = await deps.db
    .update(users)
    .set({
      ...(changes.full_name !== undefined ? { fullName: changes.full_name } : {}),
      ...(changes.time_zone !== undefined ? { timeZone: changes.time_zone } : {}),
      updatedAt: deps.clock.now(),
    })
    .where(eq(users.id, userId))
    .returning();
  if (!user) throw new AppError('UNAUTHENTICATED', 'The account no longer exists.');
  return publicUser(user);
}

/** Redeems a verification token: single use, within 24 h; activates the account. One statement. */
export async function verifyEmail(deps: Deps, presented: string): Promise<PublicUser> {
  if (!OPAQUE_TOKEN.test(presented)) throw verificationInvalid();
  const now = deps.clock.now();
  const result = await deps.db.execute<{ user: PublicUser }>(sql`
    with used as (
      update email_verification_tokens set used_at = ${now}
       where token_hash = ${hashToken(presented)} and used_at is null and expires_at > ${now}
      returning user_id
    ),
    verified as (
      update users set email_verified_at = coalesce(email_verified_at, ${now}), is_active = true, updated_at = ${now}
       where id = (select user_id from used)
      returning *
    )
    select ${USER_JSON} as user
      from verified u`);
  const user = result.rows[0]?.user;
  if (!user) throw verificationInvalid();
  return user;
}

function verificationInvalid(): AppError {
  return new AppError(
    'VERIFICATION_TOKEN_INVALID',
    'This verification link is unknown, already used or expired. Ask for a new one.',
  );
}

/** The user asking for a new verification email: 409 when already verified. */
export async function resendableUser(deps: Deps, userId: string): Promise<PublicUser> {
  const user = await findUser(deps, userId);
  if (user.email_verified_at) throw new AppError('ALREADY_VERIFIED', 'This email address is already verified.');
  return user;
}

export function verificationExpiry(deps: Deps): Date {
  return new Date(deps.clock.now().getTime() + VERIFICATION_TTL_MS);
}

/** A fresh verification token (earlier unused ones stop working) and its message. */
export async function renewVerification(
  deps: Deps,
  userId: string,
  address: string,
  expiresAt: Date,
): Promise<EmailMessage> {
  const now = deps.clock.now();
  const token = newOpaqueToken();
  await deps.db.batch([
    retireLinks(deps, emailVerificationTokens, userId, now),
    deps.db
      .insert(emailVerificationTokens)
      .values({ id: deps.ids.uuid(), userId, tokenHash: hashToken(token), expiresAt, createdAt: now }),
  ]);
  return verificationMessage(deps, address, token);
}

/** The tables of links sent by email: verification and password reset. */
type EmailedLinks = typeof emailVerificationTokens | typeof passwordResetTokens;

/** The user's unused emailed links of one kind stop working: a statement for the caller's batch. */
export function retireLinks(deps: Deps, links: EmailedLinks, userId: string, now: Date) {
  return deps.db
    .update(links)
    .set({ usedAt: now })
    .where(and(eq(links.userId, userId), isNull(links.usedAt)));
}

/**
 * Sends after the response, through waitUntil: a failed send is logged (without the message) and
 * loses nothing, because the account and its token are already stored and the user can resend.
 */
export async function sendQuietly(deps: Deps, message: EmailMessage, requestId?: string): Promise<void> {
  try {
    await deps.email.send(message);
  } catch (error) {
    logEmailFailure(message, error, requestId);
  }
}

/**
 * The cron's cleanup: verification tokens past expiry or used a day ago, and sessions with no
 * live token left or past their absolute end. Revoked tokens of a live family stay: reuse
 * detection needs them.
 */
export async function deleteExpiredTokens(
  deps: Deps,
): Promise<{ refreshTokens: number; verificationTokens: number; resetTokens: number }> {
  const now = deps.clock.now();
  const [refresh, verification, reset] = await deps.db.batch([
    deleteEndedSessions(deps, now),
    deleteSpentLinks(deps, emailVerificationTokens, now),
    deleteSpentLinks(deps, passwordResetTokens, now),
  ]);
  return { refreshTokens: refresh.length, verificationTokens: verification.length, resetTokens: reset.length };
}

/** Links past expiry or used a day ago. */
function deleteSpentLinks(deps: Deps, links: EmailedLinks, now: Date) {
  const dayAgo = new Date(now.getTime() - DAY_MS);
  return deps.db
    .delete(links)
    .where(or(sql`${links.expiresAt} <= ${now}`, sql`${links.usedAt} <= ${dayAgo}`))
    .returning({ id: links.id });
}
