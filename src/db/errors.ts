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

/** The DETAIL of a database error (what a RAISE put there), if it has one. */
export function postgresErrorDetail(error: unknown): string | undefined {
  const detail = postgresError(error)?.detail;
  return typeof detail === 'string' ? detail : undefined;
}

function postgresError(error: unknown): { code: string; constraint?: unknown; detail?: unknown } | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { code, constraint, detail } = e as { code?: unknown; constraint?: unknown; detail?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return { code, constraint, detail };
  }
  return undefined;
}
