import { existsSync } from 'node:fs';

/** Where Chromium may be: CHROMIUM_PATH, else Debian's package (`apt-get install chromium`). */
export const CHROMIUM_CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
  (p): p is string => Boolean(p),
);

/** The Chromium to drive, or undefined when the machine has none. */
export function findChromium(): string | undefined {
  return CHROMIUM_CANDIDATES.find((p) => existsSync(p));
}
