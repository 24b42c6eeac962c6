/**
 * The SQLSTATE of a database error, wherever it sits in the cause chain (drizzle wraps the Neon
 * driver's error, which carries Postgres' code), or undefined for anything else.
 */
export function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
