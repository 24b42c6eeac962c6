import { DrizzleQueryError } from 'drizzle-orm';

/**
 * Structured logs: one JSON object per line, which Workers Logs indexes by field. Never pass a
 * password, hash, token or SQL text here; describeError keeps error logs to name, code and message.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, msg, time: new Date().toISOString(), ...fields });
  if (level === 'error') console.error(line);
  else console.log(line);
}

/**
 * What an error may say in a log, whatever the error (docs/decisions/0016): its class, the SQLSTATE
 * code and constraint of a database error, the classes of its causes, and for other errors a
 * message with quoted text and long token-like runs blanked out.
 *
 * Database errors never contribute a message: drizzle's DrizzleQueryError (which sets no `name`,
 * so it is recognised by class or by its `query`/`params` members) says `Failed query: <SQL>
 * params: <every parameter>`, and Postgres' own messages and details quote the offending values
 * (`Key (token_hash)=(...) already exists`, `invalid input syntax for type uuid: "..."`).
 */
export interface LoggedError {
  name: string;
  code?: string;
  constraint?: string;
  /** Class names of the cause chain, outermost first. */
  causes?: string[];
  message?: string;
}

const MAX_CAUSES = 4;

export function describeError(error: unknown): LoggedError {
  if (!(error instanceof Error)) return { name: typeof error, message: 'non-Error value thrown' };
  const chain: Error[] = [];
  for (let e: unknown = error; e instanceof Error && chain.length <= MAX_CAUSES; e = e.cause) chain.push(e);
  const described: LoggedError = { name: className(error) };
  // The SQLSTATE and constraint of the innermost error that has one (drizzle's wrapper has neither).
  for (const e of chain) {
    const { code, constraint } = e as { code?: unknown; constraint?: unknown };
    if (described.code === undefined && typeof code === 'string' && /^[0-9A-Z_]{1,40}$/.test(code))
      described.code = code;
    if (described.constraint === undefined && typeof constraint === 'string' && /^[A-Za-z0-9_]{1,63}$/.test(constraint))
      described.constraint = constraint;
  }
  if (chain.length > 1) described.causes = chain.slice(1).map(className);
  if (!chain.some(isDatabaseError)) described.message = redact(error.message);
  return described;
}

/**
 * The error's `name` when it sets one (NeonDbError, UpstashError, DOMException's TimeoutError), else
 * its class's: drizzle's query error keeps the default name `Error`. A class name is the fallback
 * only, because the production bundle does not keep names (wrangler.toml keep_names = false): the
 * bundler may rename a class whose name collides (`Redis2`).
 */
function className(error: Error): string {
  if (error instanceof DrizzleQueryError) return 'DrizzleQueryError';
  const ctor = (error as { constructor?: { name?: unknown } }).constructor?.name;
  const name = error.name !== 'Error' && error.name !== '' ? error.name : typeof ctor === 'string' ? ctor : '';
  return /^[A-Za-z0-9_$]{1,60}$/.test(name) ? name : 'Error';
}

function isDatabaseError(error: Error): boolean {
  if (error instanceof DrizzleQueryError) return true;
  if ('query' in error || 'params' in error) return true;
  if (error.name === 'NeonDbError' || className(error) === 'NeonDbError') return true;
  // Any error that speaks SQL or quotes parameters: no message, whatever its class.
  return /\b(failed query|params:|select|insert into|update|delete from)\b/i.test(error.message);
}

/**
 * Quoted text is where libraries echo input (V8's JSON.parse, Postgres, URL parsing); long runs of
 * token characters are tokens, hashes, keys. Neither is kept; the message is cut to 200 characters.
 */
function redact(message: string): string {
  return message
    .replace(/"[^"]*"?|'[^']*'?|`[^`]*`?|«[^»]*»?/g, '"…"')
    .replace(/[A-Za-z0-9+/=_\-.$:%~]{20,}/g, '[redacted]')
    .slice(0, 200);
}
