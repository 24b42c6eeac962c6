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
 * What an unexpected error may say in a log: its name, its database error code, and a message.
 * drizzle wraps driver errors in one whose message holds the SQL and its parameters (which can be
 * password hashes or token hashes): take the driver error's own message instead.
 */
export function describeError(error: unknown): { name: string; code?: string; message: string } {
  if (!(error instanceof Error)) return { name: typeof error, message: 'non-Error value thrown' };
  const cause = error.cause;
  if (error.name === 'DrizzleQueryError' && cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return { name: cause.name, ...(typeof code === 'string' ? { code } : {}), message: cause.message };
  }
  const code = (error as { code?: unknown }).code;
  return { name: error.name, ...(typeof code === 'string' ? { code } : {}), message: error.message };
}
