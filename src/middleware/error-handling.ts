import type { Hook } from '@hono/zod-openapi';
import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { eq } from 'drizzle-orm';
import type { AppEnv } from '../app-env.ts';
import { sqlState } from '../db/errors.ts';
import { users } from '../db/schema.ts';
import { HttpError } from '../http/http-error.ts';
import { AppError, type ErrorCode, type FieldError } from '../lib/errors.ts';
import { describeError, log } from '../lib/log.ts';
import { problemBody, problemResponse } from '../lib/problem.ts';
import { rateLimitHeaders } from '../lib/rate-limit.ts';

/**
 * RFC 9110 section 15.5.2: a 401 carries a challenge. Every UNAUTHENTICATED answer comes from a route
 * that takes a bearer token, which was presented and refused (RFC 6750 `invalid_token`); when none
 * came at all, the gate says so with an HttpError carrying the bare challenge.
 */
const BEARER_CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="edgetask", error="invalid_token"' };

/**
 * The headers of an error answer, written only here: the limit that counted the request (or the one
 * that refused it), the challenge, when to retry, and what the HTTP layer added.
 */
function errorHeaders(c: Context<AppEnv>, code: ErrorCode, error?: AppError): Record<string, string> {
  const limit = error?.rateLimit ?? c.get('rateLimit');
  return {
    ...(limit ? rateLimitHeaders(limit) : {}),
    ...(code === 'UNAUTHENTICATED' ? BEARER_CHALLENGE : {}),
    ...(error?.retryAfterSeconds !== undefined ? { 'Retry-After': String(error.retryAfterSeconds) } : {}),
    ...(error instanceof HttpError ? error.headers : {}),
  };
}

function logFailure(c: Context<AppEnv>, msg: string, error: unknown): void {
  log('error', msg, { request_id: c.get('requestId'), route: c.req.routePath, error: describeError(error) });
}

function context(c: Context<AppEnv>) {
  return { instance: c.req.path, requestId: c.get('requestId') };
}

/**
 * The one error handler: AppError as thrown, hono's HTTPExceptions mapped to our codes with our own
 * words (hono's messages can echo a token), and anything else logged and answered 500 with nothing
 * of its internals.
 */
export const handleError: ErrorHandler<AppEnv> = async (error, c) => {
  if (error instanceof AppError) {
    return problemResponse(
      problemBody(error.code, error.detail, context(c), { errors: error.errors, extensions: error.extensions }),
      errorHeaders(c, error.code, error),
    );
  }
  if (error instanceof HTTPException && error.status < 500) {
    const [code, detail] = fromHttpException(error);
    return problemResponse(problemBody(code, detail, context(c)), errorHeaders(c, code));
  }
  if (await userVanished(c, error)) {
    // A valid access token of a deleted user, past a denylist that could not answer (Upstash
    // down): a write found no user row. Not a server error: the caller is not authenticated.
    return problemResponse(
      problemBody('UNAUTHENTICATED', 'The account no longer exists.', context(c)),
      errorHeaders(c, 'UNAUTHENTICATED'),
    );
  }
  if (databaseUnavailable(error)) {
    logFailure(c, 'database unavailable', error);
    return problemResponse(
      problemBody('DEPENDENCY_UNAVAILABLE', 'The database cannot be reached right now. Retry shortly.', context(c)),
      { ...errorHeaders(c, 'DEPENDENCY_UNAVAILABLE'), 'Retry-After': '5' },
    );
  }
  logFailure(c, 'unhandled error', error);
  return problemResponse(
    problemBody('INTERNAL', 'An unexpected error occurred. Quote the request id when you report it.', context(c)),
  );
};

/**
 * Neon could not run the statement at all: the HTTP request failed or timed out, Neon answered
 * without a Postgres error code, or Postgres reported a connection or resource problem (SQLSTATE
 * classes 08, 53, 57P). That is a 503 to retry, not a bug of ours. drizzle wraps the driver's
 * error as `cause`.
 */
function databaseUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e.name === 'NeonDbError') {
      const code = (e as { code?: unknown }).code;
      return typeof code !== 'string' || /^(08|53|57P)/.test(code);
    }
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  }
  return false;
}

/**
 * An integrity violation (SQLSTATE class 23: a foreign key to the user, or a not-null user-derived
 * value) in an authenticated request whose user row is gone. Only this error path pays the extra
 * lookup; if it fails too, the error stays a 500.
 */
async function userVanished(c: Context<AppEnv>, error: unknown): Promise<boolean> {
  const userId = c.get('userId');
  if (!userId || !sqlState(error)?.startsWith('23')) return false;
  try {
    const [user] = await c.get('deps').db.select({ id: users.id }).from(users).where(eq(users.id, userId)).limit(1);
    return user === undefined;
  } catch {
    return false;
  }
}

function fromHttpException(error: HTTPException): [ErrorCode, string] {
  switch (error.status) {
    case 400:
      return error.message.startsWith('Malformed JSON')
        ? ['MALFORMED_JSON', 'The request body is not valid JSON.']
        : ['BAD_REQUEST', 'The request could not be understood.'];
    case 401:
      return ['UNAUTHENTICATED', 'A valid bearer token is required.'];
    case 403:
      return ['FORBIDDEN', 'This action is not allowed.'];
    case 404:
      return ['NOT_FOUND', 'No such resource.'];
    case 413:
      return ['PAYLOAD_TOO_LARGE', 'The request body is too large.'];
    case 415:
      return ['UNSUPPORTED_MEDIA_TYPE', 'Request bodies must be application/json.'];
    default:
      return ['BAD_REQUEST', 'The request could not be processed.'];
  }
}

const TARGETS: Record<string, string> = {
  json: 'body',
  query: 'query',
  param: 'path',
  header: 'header',
  cookie: 'cookie',
  form: 'body',
};

/** Replaces @hono/zod-openapi's default hook, which answers with a raw ZodError dump. */
export const validationHook: Hook<unknown, AppEnv, string, undefined> = (result) => {
  if (result.success) return;
  const base = TARGETS[result.target] ?? result.target;
  const errors: FieldError[] = result.error.issues.slice(0, 100).map((issue) => ({
    pointer: `/${base}${issue.path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')}`,
    message: issue.message,
  }));
  throw new AppError('VALIDATION_FAILED', 'One or more fields are invalid.', { errors });
};
