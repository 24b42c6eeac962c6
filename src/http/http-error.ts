import { AppError, type AppErrorOptions, type ErrorCode } from '../lib/errors.ts';

/**
 * An error whose answer needs a header only the HTTP layer knows (Allow on a 405, the accepted
 * media types on a 415, the bare bearer challenge when no token came at all). Services cannot
 * import it (.dependency-cruiser.json): they say what went wrong, not how HTTP says it.
 */
export class HttpError extends AppError {
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, detail: string, headers: Record<string, string>, options: AppErrorOptions = {}) {
    super(code, detail, options);
    this.headers = headers;
  }
}
