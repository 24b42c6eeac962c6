/**
 * Users' time zones: IANA names, checked against the runtime's own zone data (Intl, ICU in
 * workerd), which is also what computes recurrences, so a zone we accept is one we can compute in.
 */

/** Longer than any IANA name (the longest is 32 characters, America/Argentina/ComodRivadavia). */
export const MAX_TIME_ZONE_LENGTH = 64;

// Names only: letters, digits and `_ + - /`, starting with a letter. Intl also takes UTC offsets
// such as `+05:00`, which have no DST rules and would freeze a user's clock: refused.
export const TIME_ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;

/**
 * The zone's name as Intl spells it (`europe/berlin` -> `Europe/Berlin`, `utc` -> `UTC`), or null
 * when the runtime does not know it.
 */
export function canonicalTimeZone(name: string): string | null {
  if (name.length > MAX_TIME_ZONE_LENGTH || !TIME_ZONE_NAME.test(name)) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}
