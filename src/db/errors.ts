/**
 * The SQLSTATE of a database error, wherever it sits in the cause chain (drizzle wraps the Neon
 * driver's error, which carries Postgres' code), or undefined for anything else.
 */
export function sqlState(error: unknown): string | undefined {
  return postgresError(error)?.code;
}

/** Whether the error is a unique violation (23505) of this constraint. */
export function uniqueViolation(error: unknown, constraint: string): boolean {
  const found = postgresError(error);
  return found?.code === '23505' && found.constraint === constraint;
}

function postgresError(error: unknown): { code: string; constraint?: unknown } | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { code, constraint } = e as { code?: unknown; constraint?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return { code, constraint };
  }
  return undefined;
}
