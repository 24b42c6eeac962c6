import type { MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode, StatusCode } from 'hono/utils/http-status';
import type { AppEnv } from '../app-env.ts';
import { AppError } from '../lib/errors.ts';
import { claimKey, releaseKey, storeResult, type IdempotencyRecord } from '../lib/idempotency.ts';
import { describeError, log } from '../lib/log.ts';
import { hashToken } from '../lib/tokens.ts';
import { currentUserId } from './auth.ts';
import { afterResponse } from './request-context.ts';

/**
 * Idempotency-Key on the writes that create or change tasks and categories
 * (draft-ietf-httpapi-idempotency-key-header): the first response to a key is kept 24 h per user;
 * a retry with the same key and the same request gets it again without the work being redone, the
 * same key with another request gets 422, and a retry while the first still runs gets 409.
 *
 * Two middlewares around the rate limiter: `idempotencyKey` reads the key and fingerprints the
 * request before it, so the limiter can send the claim in its own Upstash request; `replayIdempotent`
 * acts on the claim after it. Requests without the header pay nothing.
 */

export interface IdempotencyState {
  fingerprint: string;
  /** Starts the claim; the rate limiter calls it beside its own check (one Upstash request). */
  claim: () => Promise<unknown>;
  outcome?: { ok: true; existing: IdempotencyRecord | null } | { ok: false; error: unknown };
  /** This request claimed the key and runs the work: its response is what retries get. */
  owned: boolean;
}

/** Printable ASCII without spaces, bounded: the draft's sf-string, quoted or not. */
const KEY = /^[\x21-\x7e]{1,255}$/;

/** Response headers a replay repeats; the rest (rate limit, request id, timing) are the retry's own. */
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'];

export function idempotencyKey(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('Idempotency-Key');
    if (header === undefined) return next();
    const key = header.length >= 2 && header.startsWith('"') && header.endsWith('"') ? header.slice(1, -1) : header;
    if (!KEY.test(key)) {
      throw new AppError('VALIDATION_FAILED', 'The Idempotency-Key header is not valid.', {
        errors: [{ pointer: '/header/Idempotency-Key', message: 'Must be 1 to 255 visible ASCII characters' }],
      });
    }
    const userId = currentUserId(c);
    const requestBody = await c.req.text();
    // The same key means the same request: method, path, precondition and body.
    const fingerprint = hashToken(`${c.req.method} ${c.req.path}\n${c.req.header('If-Match') ?? ''}\n${requestBody}`);
    const redisKey = `idem:${userId}:${hashToken(key)}`;
    const redis = c.get('deps').redis;
    const state: IdempotencyState = {
      fingerprint,
      owned: false,
      claim: () =>
        claimKey(redis, redisKey, fingerprint).then(
          (existing) => (state.outcome = { ok: true, existing }),
          (error: unknown) => (state.outcome = { ok: false, error }),
        ),
    };
    c.set('idempotency', state);

    await next();

    const claimedHere = state.outcome?.ok === true && state.outcome.existing === null;
    if (!claimedHere) return;
    const res = c.res;
    // A failure of ours is not an answer worth keeping: let a retry run the work again.
    if (!state.owned || res.status >= 500) {
      afterResponse(c, () => releaseKey(redis, redisKey).catch((error: unknown) => warn(c, error)));
      return;
    }
    // Read now (the body is already in memory), so the store goes out in the same tick as the
    // other after-response work and shares its Upstash request.
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = res.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    const body = res.body ? await res.clone().text() : null;
    const record: IdempotencyRecord = { state: 'done', fingerprint, status: res.status, headers, body };
    afterResponse(c, () => storeResult(redis, redisKey, record).catch((error: unknown) => warn(c, error)));
  };
}

export function replayIdempotent(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const state = c.get('idempotency');
    if (!state) return next();
    const outcome = state.outcome;
    // The client asked for exactly-once: without Upstash that cannot be promised, so no work is done.
    if (!outcome?.ok) {
      if (outcome) warn(c, outcome.error);
      throw new AppError('DEPENDENCY_UNAVAILABLE', 'Idempotency-Key cannot be honoured right now. Retry shortly.', {
        headers: { 'Retry-After': '5' },
      });
    }
    const existing = outcome.existing;
    if (existing === null) {
      state.owned = true;
      return next();
    }
    if (existing.fingerprint !== state.fingerprint) {
      throw new AppError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was already used for a different request. Use a new key for a new request.',
      );
    }
    if (existing.state === 'running') {
      throw new AppError('IDEMPOTENCY_KEY_IN_USE', 'The first request with this Idempotency-Key is still running.', {
        headers: { 'Retry-After': '1' },
      });
    }
    for (const [name, value] of Object.entries(existing.headers)) c.header(name, value);
    c.header('Idempotent-Replayed', 'true');
    if (existing.body === null) return c.body(null, existing.status as StatusCode);
    return c.body(existing.body, existing.status as ContentfulStatusCode);
  };
}

function warn(c: Parameters<MiddlewareHandler<AppEnv>>[0], error: unknown): void {
  log('warn', 'idempotency store unavailable', { request_id: c.get('requestId'), error: describeError(error) });
}
