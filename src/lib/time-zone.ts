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
 * The zone's name to store, or null when the runtime does not know it. A name Intl reports back
 * (ignoring case) is stored as Intl spells it: `europe/berlin` is `Europe/Berlin`, `utc` is `UTC`.
 * A link keeps the spelling the user sent: workerd's ICU reports `Asia/Kolkata` as
 * `Asia/Calcutta` and `Europe/Kyiv` as `Europe/Kiev`, names people there no longer use. Either
 * spelling computes the same instants.
 */
export function canonicalTimeZone(name: string): string | null {
  if (name.length > MAX_TIME_ZONE_LENGTH || !TIME_ZONE_NAME.test(name)) return null;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
  return resolved.toLowerCase() === name.toLowerCase() ? resolved : name;
}

/** True when `name` is an IANA time zone name the runtime knows (offsets like +05:00 are not names). */
export function isTimeZone(name: string): boolean {
  return canonicalTimeZone(name) !== null;
}
