import type { z } from '@hono/zod-openapi';
import { and, eq, isNull, ne, or, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Deps } from '../../deps.ts';
import { refreshTokens } from '../../db/schema.ts';
import { isoTimestamp } from '../../db/sql.ts';
import { toBase64Url } from '../../lib/base64url.ts';
import { AppError } from '../../lib/errors.ts';
import { MAX_LISTED_SESSIONS } from '../../lib/limits.ts';
import { describeError, log } from '../../lib/log.ts';
import { denySessions, denyUser } from '../../lib/revocation.ts';
import { hashToken, newOpaqueToken, OPAQUE_TOKEN } from '../../lib/tokens.ts';
import type { SessionSchema } from '../account/account.schemas.ts';

/**
 * Sessions: a session is a refresh-token family. Registration or login starts one, every refresh
 * rotates within it; ending it also denies its access tokens at once (src/lib/revocation.ts). Each
 * operation is one statement, or one of its caller's db.batch or CTE (Neon's HTTP has no transactions).
 */

const DAY_MS = 24 * 60 * 60 * 1000;
/** The window of the per-family refresh limit, in seconds. */
export const REFRESH_WINDOW_SECONDS = 60;

type TokenColumns = Record<'revokedAt' | 'expiresAt' | 'familyExpiresAt', AnyColumn>;

/** refresh_tokens as `live` and as `r`, for the raw statements that read the table twice. */
const liveAlias = alias(refreshTokens, 'live');
const r = alias(refreshTokens, 'r');

/** A token that still works: not revoked, before its idle and its absolute end. `t` may be an alias. */
export function isLive(t: TokenColumns, now: Date): SQL {
  return sql`(${t.revokedAt} is null and ${t.expiresAt} > ${now} and ${t.familyExpiresAt} > ${now})`;
}

/** Who is logging in, for the session list: the client's User-Agent and a coarse location. */
export type ClientInfo = { userAgent: string | null; location: string | null };

/** What a session's access tokens are signed for, and its current refresh token. */
export type Session = {
  userId: string;
  familyId: string;
  emailVerified: boolean;
  timeZone: string;
  refreshToken: string;
};

/**
 * A new session: its first refresh token (only its hash is stored; the token goes to the client)
 * and the insert, for the caller's db.batch.
 */
export function startSession(deps: Deps, userId: string, client: ClientInfo, now: Date) {
  const familyId = deps.ids.uuid();
  const familyExpiresAt = new Date(now.getTime() + deps.config.REFRESH_ABSOLUTE_DAYS * DAY_MS);
  const idle = new Date(now.getTime() + deps.config.REFRESH_IDLE_DAYS * DAY_MS);
  const refreshToken = newOpaqueToken();
  const insert = deps.db.insert(refreshTokens).values({
    id: deps.ids.uuid(),
    userId,
    familyId,
    tokenHash: hashToken(refreshToken),
    expiresAt: idle < familyExpiresAt ? idle : familyExpiresAt,
    familyExpiresAt,
    createdAt: now,
    userAgent: client.userAgent,
    location: client.location,
  });
  return { familyId, refreshToken, insert };
}

type RefreshOutcome = {
  user_id: string;
  family_id: string;
  expires_at: string;
  family_expires_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
  email_verified: boolean;
  time_zone: string;
  rotated: number;
  recent: number;
  oldest: string | null;
};

/** The family's refresh budget for this minute, for the RateLimit headers. */
export type RefreshLimit = { limit: number; remaining: number; resetSeconds: number };

/** A rotation: the successor token, or (`limited`) none because the family used up its minute. */
export type Rotation =
  { limited: false; session: Session; limit: RefreshLimit } | { limited: true; limit: RefreshLimit };

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
export async function rotateSession(deps: Deps, presented: string, now: Date): Promise<Rotation> {
  if (!OPAQUE_TOKEN.test(presented)) throw refreshInvalid();
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
       where r.id = t.id and t.revoked_at is null and ${isLive(r, now)}
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
           (select u.time_zone from users u where u.id = t.user_id) as time_zone,
           (select count(*) from inserted)::int as rotated,
           recent.n as recent, recent.oldest
    from target t, recent`);
  const outcome = result.rows[0];
  if (!outcome) throw refreshInvalid();
  const { user_id: userId, family_id: familyId, email_verified: emailVerified, time_zone: timeZone } = outcome;
  const resetSeconds = outcome.oldest
    ? Math.max(
        1,
        Math.ceil((new Date(outcome.oldest).getTime() + REFRESH_WINDOW_SECONDS * 1000 - now.getTime()) / 1000),
      )
    : REFRESH_WINDOW_SECONDS;
  const remaining = Math.max(0, limit - outcome.recent - outcome.rotated);
  const session = { userId, familyId, emailVerified, timeZone, refreshToken: next };
  const rotation: Rotation = { limited: false, session, limit: { limit, remaining, resetSeconds } };
  if (outcome.rotated === 1) return rotation;

  const expired = new Date(outcome.expires_at) <= now || new Date(outcome.family_expires_at) <= now;
  // Live, but the family used up its rotations for this minute.
  if (outcome.revoked_at === null && !expired) return { limited: true, limit: { limit, remaining: 0, resetSeconds } };
  const retry =
    outcome.revoked_reason === 'rotated' && outcome.revoked_at !== null && new Date(outcome.revoked_at) > graceStart;
  if (retry && !expired) return rotation;
  if (expired && outcome.revoked_reason === null) throw refreshInvalid();
  // Presented again after rotation (outside the grace window), or after the session was ended.
  const reused = outcome.revoked_reason === 'rotated';
  await endAndDeny(deps, eq(refreshTokens.familyId, outcome.family_id), reused ? 'reuse' : 'logout');
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

type EndReason = 'logout' | 'logout_all' | 'reuse' | 'password_change';

/**
 * The statement that ends every token matching `which`, rotated ones included, so no grace window
 * applies to them any more; tokens already ended keep their first reason. Run alone, in a
 * db.batch or as a CTE body; whoever runs it passes the family ids it returns to denyEnded.
 */
function endTokens(deps: Deps, which: SQL | undefined, reason: EndReason, now: Date) {
  const endable = or(isNull(refreshTokens.revokedReason), eq(refreshTokens.revokedReason, 'rotated'));
  return deps.db
    .update(refreshTokens)
    .set({ revokedAt: sql`coalesce(${refreshTokens.revokedAt}, ${now})`, revokedReason: reason })
    .where(and(which, endable))
    .returning({ familyId: refreshTokens.familyId, revokedAt: refreshTokens.revokedAt });
}

async function endAndDeny(deps: Deps, which: SQL | undefined, reason: EndReason): Promise<void> {
  const ended = await endTokens(deps, which, reason, deps.clock.now());
  // Their access tokens stop working now, not when they expire.
  const families = ended.map((row) => row.familyId);
  await denyEnded(deps, families);
}

/** A new password ends the user's sessions but `keep`: a statement for the caller's batch or CTE. */
export function endSessionsForPassword(deps: Deps, userId: string | SQL, now: Date, keep?: string) {
  const others = keep === undefined ? undefined : ne(refreshTokens.familyId, keep);
  return endTokens(deps, and(eq(refreshTokens.userId, userId), others), 'password_change', now);
}

/** Logout: the family of the presented token ends. Unknown tokens are ignored (no oracle). */
export async function endSessionOfToken(deps: Deps, presented: string): Promise<void> {
  if (!OPAQUE_TOKEN.test(presented)) return;
  const family = sql`${refreshTokens.familyId} = (select family_id from refresh_tokens where token_hash = ${hashToken(presented)})`;
  await endAndDeny(deps, family, 'logout');
}

/** Logout-all: every session of the user. */
export async function endAllSessions(deps: Deps, userId: string): Promise<void> {
  await endAndDeny(deps, eq(refreshTokens.userId, userId), 'logout_all');
}

/** Ends one session of the user; another user's is 403, an unknown or ended one 404. */
export async function endSession(deps: Deps, userId: string, sessionId: string): Promise<void> {
  const now = deps.clock.now();
  const mine = and(eq(refreshTokens.familyId, sessionId), eq(refreshTokens.userId, userId));
  const ended = endTokens(deps, mine, 'logout', now);
  const result = await deps.db.execute<{ owner: string | null; ended: number }>(sql`
    with target as (select user_id from refresh_tokens where family_id = ${sessionId} limit 1),
    ended as ${ended}
    select (select user_id from target) as owner,
           (select count(*) from ended where revoked_at = ${now})::int as ended`);
  const row = result.rows[0];
  if (!row?.owner) throw new AppError('NOT_FOUND', 'No such session.');
  if (row.owner !== userId) throw new AppError('FORBIDDEN', 'This session belongs to another user.');
  if (row.ended === 0) throw new AppError('NOT_FOUND', 'This session has already ended.');
  await denyEnded(deps, [sessionId]);
}

/** A failure here is logged, not thrown: the sessions are ended in the database either way. */
export async function denyEnded(deps: Deps, familyIds: string[]): Promise<void> {
  try {
    await denySessions(deps.redis, familyIds);
  } catch (error) {
    log('error', 'could not deny ended sessions', { sessions: familyIds.length, error: describeError(error) });
  }
}

/** A deleted user's access tokens stop at once (their refresh tokens went with the rows). */
export async function denyDeletedUser(deps: Deps, userId: string): Promise<void> {
  try {
    await denyUser(deps.redis, userId);
  } catch (error) {
    log('error', "could not deny a deleted user's tokens", { error: describeError(error) });
  }
}

export type SessionJson = z.infer<typeof SessionSchema>;

/**
 * One entry per live refresh-token family: when it began, when it was last used, and where. At most
 * MAX_LISTED_SESSIONS, the most recently used first (the list schema's bound).
 */
export async function listSessions(deps: Deps, userId: string, currentSessionId: string): Promise<SessionJson[]> {
  const now = deps.clock.now();
  const result = await deps.db.execute<SessionJson>(sql`
    select r.family_id as id,
           ${isoTimestamp(sql`min(r.created_at)`)} as created_at,
           ${isoTimestamp(sql`max(coalesce(r.last_used_at, r.created_at))`)} as last_used_at,
           (array_agg(r.user_agent order by r.created_at))[1] as user_agent,
           (array_agg(r.location order by r.created_at))[1] as location,
           r.family_id = ${currentSessionId} as current
      from refresh_tokens r
     where r.user_id = ${userId}
       and exists (select 1 from refresh_tokens live where live.family_id = r.family_id and ${isLive(liveAlias, now)})
     group by r.family_id
     order by max(coalesce(r.last_used_at, r.created_at)) desc
     limit ${MAX_LISTED_SESSIONS}`);
  return result.rows;
}

/**
 * The cron's cleanup, for its db.batch: sessions with no live token left (past their absolute end
 * included). Revoked tokens of a live family stay: reuse detection needs them.
 */
export function deleteEndedSessions(deps: Deps, now: Date) {
  return deps.db
    .delete(refreshTokens)
    .where(
      sql`not exists (select 1 from refresh_tokens live where live.family_id = ${refreshTokens.familyId} and ${isLive(liveAlias, now)})`,
    )
    .returning({ id: refreshTokens.id });
}
