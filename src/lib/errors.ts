/**
 * One error type for the whole Worker. Services throw AppError with a stable code; the single
 * onError handler turns it into RFC 9457 problem details. The table gives each code its status
 * and a title that never varies (the detail varies).
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  MALFORMED_JSON: { status: 400, title: 'The request body is not valid JSON' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  CONFLICT: { status: 409, title: 'Conflict' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, title: 'A request with this Idempotency-Key is still being processed' },
  SYNC_CURSOR_EXPIRED: { status: 410, title: 'The sync cursor is too old: sync again from the start' },
  PRECONDITION_FAILED: { status: 412, title: 'The If-Match condition does not hold' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'This Idempotency-Key was used for a different request' },
  COMMAND_ID_REUSED: { status: 422, title: 'This command id was used for a different command' },
  NOT_APPLIED: { status: 424, title: 'Not applied: another command of the atomic batch failed' },
  INVALID_CREDENTIALS: { status: 401, title: 'Email or password is wrong' },
  REFRESH_TOKEN_INVALID: { status: 401, title: 'The refresh token is unknown or expired' },
  REFRESH_TOKEN_REVOKED: { status: 403, title: 'The refresh token was revoked' },
  REFRESH_TOKEN_REUSED: { status: 403, title: 'The refresh token was used twice; the session is revoked' },
  EMAIL_NOT_VERIFIED: { status: 403, title: 'The email address is not verified yet' },
  EMAIL_TAKEN: { status: 409, title: 'An account with this email exists' },
  ALREADY_VERIFIED: { status: 409, title: 'The email address is already verified' },
  VERIFICATION_TOKEN_INVALID: { status: 400, title: 'The verification token is unknown, used or expired' },
  RESET_TOKEN_INVALID: { status: 400, title: 'The reset token is unknown, used or expired' },
  PASSWORD_MISMATCH: { status: 403, title: 'The password is wrong' },
  ACCOUNT_LOCKED: { status: 423, title: 'The account is locked' },
  LIMIT_REACHED: { status: 409, title: 'A per-account limit is reached' },
  SCHEDULE_PENDING: { status: 409, title: 'The next occurrence of the repeating task is not computed yet' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  MISCONFIGURED: { status: 500, title: 'The service is misconfigured' },
  DEPENDENCY_UNAVAILABLE: { status: 503, title: 'A dependency is unavailable' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldError {
  /** RFC 6901 JSON pointer into the request: `/body/title`, `/query/limit`, `/path/task_id`. */
  pointer: string;
  message: string;
}

/** Which limit a request hit, for the RateLimit headers (src/lib/rate-limit.ts formats them). */
export interface RateLimitState {
  /** Per client address, per user, or per session family (the refresh rotations). */
  scope: 'ip' | 'user' | 'family';
  limit: number;
  remaining: number;
  resetSeconds: number;
  windowSeconds: number;
}

export interface AppErrorOptions {
  errors?: FieldError[];
  /** Extra problem members (e.g. `current_version` on a 409), snake_case like the rest of the API. */
  extensions?: Record<string, unknown>;
  /** When to try again: the error handler sends it as Retry-After. */
  retryAfterSeconds?: number;
  /** The limit that refused the request: the error handler sends it as the RateLimit headers. */
  rateLimit?: RateLimitState;
}

/**
 * What went wrong, in the domain's words: services say *what* (a code, a retry delay, a limit), and
 * the one error handler decides which HTTP headers say it (docs/decisions/0023-one-way-per-concern.md).
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  readonly errors: FieldError[] | undefined;
  readonly extensions: Record<string, unknown>;
  readonly retryAfterSeconds: number | undefined;
  readonly rateLimit: RateLimitState | undefined;

  constructor(code: ErrorCode, detail: string, options: AppErrorOptions = {}) {
    super(detail);
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.detail = detail;
    this.errors = options.errors;
    this.extensions = options.extensions ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.rateLimit = options.rateLimit;
  }
}
