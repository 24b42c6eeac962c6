import type { z } from '@hono/zod-openapi';
import { and, eq, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { Deps } from '../../deps.ts';
import { emailVerificationTokens, passwordResetTokens, refreshTokens, users, type User } from '../../db/schema.ts';
import { uniqueViolation } from '../../db/errors.ts';
import { logEmailFailure, type EmailMessage } from '../../lib/email.ts';
import { AppError, type RateLimitState } from '../../lib/errors.ts';
import { describeError, log } from '../../lib/log.ts';
import { jwtSettings, signAccessToken } from '../../lib/jwt.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword, type PasswordPolicy } from '../../lib/password.ts';
import { denySessions } from '../../lib/revocation.ts';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toBase64Url } from '../../lib/base64url.ts';
import { hashToken, newOpaqueToken, OPAQUE_TOKEN } from '../../lib/tokens.ts';
import { claimPasswordCheck, releaseClaim } from './lockout.ts';
import type { TokenPairSchema, UserSchema } from './auth.schemas.ts';

/**
 * Accounts and sessions. A session is a refresh-token family: login starts one, every refresh
 * rotates within it, logout ends it. Every multi-row change is one statement or one db.batch (one
 * transaction, one round trip): Neon's HTTP protocol has no interactive transactions.
 */

const DAY_MS = 24 * 60 * 60 * 1000;
const VERIFICATION_TTL_MS = DAY_MS;

export type TokenPair = z.infer<typeof TokenPairSchema>;
export type PublicUser = z.infer<typeof UserSchema>;

/** The user as clients see it: never the hash, the counters or the lock. */
export function publicUser(
  user: Pick<User, 'id' | 'email' | 'fullName' | 'isActive' | 'emailVerifiedAt' | 'createdAt' | 'updatedAt'>,
): PublicUser {
  return {
    id: user.id,
    email: user.email,
    full_name: user.fullName,
    is_active: user.isActive,
    email_verified_at: user.emailVerifiedAt ? user.emailVerifiedAt.toISOString() : null,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}

export function passwordPolicy(deps: Deps): PasswordPolicy {
  return { rounds: deps.config.PASSWORD_HASH_ROUNDS };
}

/** Who is logging in, for the session list: the client's User-Agent and a coarse location. */
export interface ClientInfo {
  userAgent: string | null;
  location: string | null;
}

/** A new refresh token row for a family; the token itself goes to the client only. */
export function refreshRow(
  deps: Deps,
  userId: string,
  familyId: string,
  familyExpiresAt: Date,
  now: Date,
  client: ClientInfo,
) {
  const token = newOpaqueToken();
  const idle = new Date(now.getTime() + deps.config.REFRESH_IDLE_DAYS * DAY_MS);
  return {
    token,
    row: {
      id: deps.ids.uuid(),
      userId,
      familyId,
      tokenHash: hashToken(token),
      expiresAt: idle < familyExpiresAt ? idle : familyExpiresAt,
      familyExpiresAt,
      createdAt: now,
      userAgent: client.userAgent,
      location: client.location,
    },
  };
}

async function tokenPair(
  deps: Deps,
  session: { userId: string; familyId: string; emailVerified: boolean },
  refreshToken: string,
  now: Date,
): Promise<TokenPair> {
  const { token, expiresIn } = await signAccessToken(
    { userId: session.userId, sessionId: session.familyId, emailVerified: session.emailVerified },
    jwtSettings(deps.config),
    now,
  );
  return { access_token: token, refresh_token: refreshToken, token_type: 'Bearer', expires_in: expiresIn };
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
  input: { email: string; password: string; full_name: string },
  client: ClientInfo,
): Promise<{ user: PublicUser; tokens: TokenPair; email: EmailMessage }> {
  const now = deps.clock.now();
  const passwordHash = await hashPassword(input.password, passwordPolicy(deps));
  const userId = deps.ids.uuid();
  const familyId = deps.ids.uuid();
  const familyExpiresAt = new Date(now.getTime() + deps.config.REFRESH_ABSOLUTE_DAYS * DAY_MS);
  const refresh = refreshRow(deps, userId, familyId, familyExpiresAt, now, client);
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
      deps.db.insert(refreshTokens).values(refresh.row),
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
    tokens: await tokenPair(deps, { userId, familyId, emailVerified: false }, refresh.token, now),
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

  const familyId = deps.ids.uuid();
  const familyExpiresAt = new Date(now.getTime() + deps.config.REFRESH_ABSOLUTE_DAYS * DAY_MS);
  const refresh = refreshRow(deps, user.id, familyId, familyExpiresAt, now, client);
  const rehash = check.needsRehash ? await hashPassword(input.password, policy) : undefined;
  const [[updated]] = await deps.db.batch([
    deps.db
      .update(users)
      .set({ ...releaseClaim(claim), ...(rehash ? { passwordHash: rehash, updatedAt: now } : {}) })
      .where(eq(users.id, user.id))
      .returning(),
    deps.db.insert(refreshTokens).values(refresh.row),
  ]);
  return {
    user: publicUser(updated ?? user),
    tokens: await tokenPair(
      deps,
      { userId: user.id, familyId, emailVerified: user.emailVerifiedAt !== null },
      refresh.token,
      now,
    ),
  };
}

type RefreshOutcome = {
  id: string;
  user_id: string;
  family_id: string;
  expires_at: string;
  family_expires_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
  email_verified: boolean;
  rotated: number;
  recent: number;
  oldest: string | null;
};

/** What a successful refresh tells the handler for its RateLimit headers. */
export interface RefreshResult {
  tokens: TokenPair;
  limit: RateLimitState;
}

const REFRESH_WINDOW_SECONDS = 60;

/**
 * The successor of a refresh token, derived from it with a server secret (HMAC-SHA256 keyed by the
 * signing key of JWT_KEYS, under a label of its own): every retry of one token within the grace
 * window computes the same successor, so rotation is idempotent and a family has one live token.
 * Without the secret nobody can compute it, so an old token still only reaches the server, where
 * reuse detection sees it.
 */
export function successorToken(deps: Deps, presented: string): string {
  const key = deps.config.JWT_KEYS[0];
  if (!key) throw new Error('JWT_KEYS has no signing key');
  const encoder = new TextEncoder();
  return toBase64Url(
    hmac(sha256, encoder.encode(key.secret), encoder.encode(`edgetask refresh successor v1\0${presented}`)),
  );
}

/**
 * Rotation with reuse detection (RFC 9700 4.14.2), in one statement. The presented token's row is
 * locked first (FOR UPDATE: concurrent refreshes of one token queue on it and each sees the latest
 * state). A live token is revoked as `rotated` and its successor inserted; a token rotated less than
 * REFRESH_GRACE_SECONDS ago gets the same successor back without any write (a client retry; the
 * successor is derived, see successorToken). A token presented after that, or one revoked by
 * logout, revokes its whole family. Each family may rotate RATE_LIMIT_REFRESH_PER_MINUTE times a
 * minute (counted from its own rows: docs/decisions/0015-refresh-rotation-and-limit.md).
 */
export async function rotateRefreshToken(deps: Deps, presented: string): Promise<RefreshResult> {
  if (!OPAQUE_TOKEN.test(presented)) throw refreshInvalid();
  const now = deps.clock.now();
  const graceStart = new Date(now.getTime() - deps.config.REFRESH_GRACE_SECONDS * 1000);
  const windowStart = new Date(now.getTime() - REFRESH_WINDOW_SECONDS * 1000);
  const limit = deps.config.RATE_LIMIT_REFRESH_PER_MINUTE;
  const next = successorToken(deps, presented);
  const idle = new Date(now.getTime() + deps.config.REFRESH_IDLE_DAYS * DAY_MS);
  const presentedHash = hashToken(presented);

  const result = await deps.db.execute<RefreshOutcome>(sql`
    with target as (
      select id, user_id, family_id, expires_at, family_expires_at, revoked_at, revoked_reason
      from refresh_tokens where token_hash = ${presentedHash}
      for update
    ),
    recent as (
      select count(*)::int as n, min(f.created_at) as oldest
      from refresh_tokens f join target t on f.family_id = t.family_id
      where f.rotated_from is not null and f.created_at > ${windowStart}
    ),
    claimed as (
      update refresh_tokens r
         set revoked_at = ${now}, revoked_reason = 'rotated', last_used_at = ${now}
        from target t, recent
       where r.id = t.id and t.revoked_at is null and r.revoked_at is null
         and r.expires_at > ${now} and r.family_expires_at > ${now}
         and recent.n < ${limit}
      returning r.id, r.user_id, r.family_id, r.family_expires_at, r.user_agent, r.location
    ),
    inserted as (
      insert into refresh_tokens (id, user_id, family_id, token_hash, expires_at, family_expires_at, created_at, rotated_from, user_agent, location)
      select ${deps.ids.uuid()}, user_id, family_id, ${hashToken(next)}, least(${idle}::timestamptz, family_expires_at), family_expires_at, ${now}, id, user_agent, location
      from claimed
      returning id
    )
    select t.id, t.user_id, t.family_id, t.expires_at, t.family_expires_at, t.revoked_at, t.revoked_reason,
           (select u.email_verified_at is not null from users u where u.id = t.user_id) as email_verified,
           (select count(*) from inserted)::int as rotated,
           recent.n as recent, recent.oldest
    from target t, recent`);
  const outcome = result.rows[0];
  if (!outcome) throw refreshInvalid();
  const session = { userId: outcome.user_id, familyId: outcome.family_id, emailVerified: outcome.email_verified };
  const resetSeconds = outcome.oldest
    ? Math.max(
        1,
        Math.ceil((new Date(outcome.oldest).getTime() + REFRESH_WINDOW_SECONDS * 1000 - now.getTime()) / 1000),
      )
    : REFRESH_WINDOW_SECONDS;
  const used = outcome.recent + outcome.rotated;
  const state = (remaining: number): RateLimitState => ({
    scope: 'family',
    limit,
    remaining,
    resetSeconds,
    windowSeconds: REFRESH_WINDOW_SECONDS,
  });
  const answer = async (): Promise<RefreshResult> => ({
    tokens: await tokenPair(deps, session, next, now),
    limit: state(Math.max(0, limit - used)),
  });
  if (outcome.rotated === 1) return answer();

  const expired = new Date(outcome.expires_at) <= now || new Date(outcome.family_expires_at) <= now;
  if (outcome.revoked_at === null && !expired) {
    // Live, but the family used up its rotations for this minute.
    throw new AppError(
      'RATE_LIMITED',
      `Too many refreshes: ${limit} per minute per session. Retry after ${resetSeconds} s.`,
      { retryAfterSeconds: resetSeconds, rateLimit: state(0) },
    );
  }
  const retry =
    outcome.revoked_reason === 'rotated' && outcome.revoked_at !== null && new Date(outcome.revoked_at) > graceStart;
  if (retry && !expired) return answer();
  if (expired && outcome.revoked_reason === null) throw refreshInvalid();
  // Presented again after rotation (outside the grace window), or after the session was ended.
  const reused = outcome.revoked_reason === 'rotated';
  await revokeFamilies(deps, [outcome.family_id], reused ? 'reuse' : 'logout');
  throw reused
    ? new AppError(
        'REFRESH_TOKEN_REUSED',
        'This refresh token was already used; the session has been revoked. Log in again.',
      )
    : new AppError('REFRESH_TOKEN_REVOKED', 'This session has ended. Log in again.');
}

function refreshInvalid(): AppError {
  return new AppError('REFRESH_TOKEN_INVALID', 'The refresh token is unknown or expired. Log in again.');
}

type RevokeReason = 'logout' | 'logout_all' | 'reuse' | 'password_change';

/**
 * Ends sessions: every token matching `which`, including rotated ones, so no grace window applies
 * to them any more. Tokens already ended keep their first reason.
 */
async function revokeTokens(deps: Deps, which: SQL, reason: RevokeReason): Promise<void> {
  const now = deps.clock.now();
  const ended = await deps.db
    .update(refreshTokens)
    .set({ revokedAt: sql`coalesce(${refreshTokens.revokedAt}, ${now})`, revokedReason: reason })
    .where(and(which, or(isNull(refreshTokens.revokedReason), eq(refreshTokens.revokedReason, 'rotated'))))
    .returning({ familyId: refreshTokens.familyId });
  // Their access tokens stop working now, not when they expire.
  await denyEndedSessions(
    deps,
    ended.map((row) => row.familyId),
  );
}

/** A failure here is logged, not thrown: the sessions are ended in the database either way. */
export async function denyEndedSessions(deps: Deps, familyIds: string[]): Promise<void> {
  try {
    await denySessions(deps.redis, familyIds);
  } catch (error) {
    log('error', 'could not deny ended sessions', { sessions: familyIds.length, error: describeError(error) });
  }
}

function revokeFamilies(deps: Deps, familyIds: string[], reason: RevokeReason): Promise<void> {
  return revokeTokens(deps, inArray(refreshTokens.familyId, familyIds), reason);
}

/** Logout: the family of the presented token ends. Unknown tokens are ignored (no oracle). */
export async function logoutSession(deps: Deps, presented: string): Promise<void> {
  if (!OPAQUE_TOKEN.test(presented)) return;
  const family = sql`${refreshTokens.familyId} = (select family_id from refresh_tokens where token_hash = ${hashToken(presented)})`;
  await revokeTokens(deps, family, 'logout');
}

export async function logoutAllSessions(deps: Deps, userId: string): Promise<void> {
  await revokeTokens(deps, eq(refreshTokens.userId, userId), 'logout_all');
}

export async function findUser(deps: Deps, userId: string): Promise<PublicUser> {
  const [user] = await deps.db.select().from(users).where(eq(users.id, userId)).limit(1);
  // The token is valid but its user is gone (account deleted): treat it as unauthenticated.
  if (!user) throw new AppError('UNAUTHENTICATED', 'The account no longer exists.');
  return publicUser(user);
}

/** Redeems a verification token: single use, within 24 h; activates the account. One statement. */
export async function verifyEmail(deps: Deps, presented: string): Promise<PublicUser> {
  if (!OPAQUE_TOKEN.test(presented)) throw verificationInvalid();
  const now = deps.clock.now();
  const result = await deps.db.execute<{
    id: string;
    email: string;
    full_name: string;
    is_active: boolean;
    email_verified_at: string;
    created_at: string;
    updated_at: string;
  }>(sql`
    with used as (
      update email_verification_tokens set used_at = ${now}
       where token_hash = ${hashToken(presented)} and used_at is null and expires_at > ${now}
      returning user_id
    )
    update users set email_verified_at = coalesce(email_verified_at, ${now}), is_active = true, updated_at = ${now}
     where id = (select user_id from used)
    returning id, email, full_name, is_active, email_verified_at, created_at, updated_at`);
  const row = result.rows[0];
  if (!row) throw verificationInvalid();
  return publicUser({
    id: row.id,
    email: row.email,
    fullName: row.full_name,
    isActive: row.is_active,
    emailVerifiedAt: new Date(row.email_verified_at),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  });
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
    deps.db
      .update(emailVerificationTokens)
      .set({ usedAt: now })
      .where(and(eq(emailVerificationTokens.userId, userId), isNull(emailVerificationTokens.usedAt))),
    deps.db
      .insert(emailVerificationTokens)
      .values({ id: deps.ids.uuid(), userId, tokenHash: hashToken(token), expiresAt, createdAt: now }),
  ]);
  return verificationMessage(deps, address, token);
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
  const dayAgo = new Date(now.getTime() - DAY_MS);
  const [refresh, verification, reset] = await deps.db.batch([
    deps.db
      .delete(refreshTokens)
      .where(
        or(
          sql`${refreshTokens.familyExpiresAt} <= ${now}`,
          sql`not exists (select 1 from refresh_tokens live where live.family_id = ${refreshTokens.familyId} and live.revoked_at is null and live.expires_at > ${now})`,
        ),
      )
      .returning({ id: refreshTokens.id }),
    deps.db
      .delete(emailVerificationTokens)
      .where(
        or(sql`${emailVerificationTokens.expiresAt} <= ${now}`, sql`${emailVerificationTokens.usedAt} <= ${dayAgo}`),
      )
      .returning({ id: emailVerificationTokens.id }),
    deps.db
      .delete(passwordResetTokens)
      .where(or(sql`${passwordResetTokens.expiresAt} <= ${now}`, sql`${passwordResetTokens.usedAt} <= ${dayAgo}`))
      .returning({ id: passwordResetTokens.id }),
  ]);
  return { refreshTokens: refresh.length, verificationTokens: verification.length, resetTokens: reset.length };
}
