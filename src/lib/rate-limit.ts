import type { RateLimitState } from './errors.ts';

/**
 * The IETF draft RateLimit and RateLimit-Policy headers, written here only: the request gate sends
 * them for the per-address and per-user limits, the refresh route for its per-session one, and the
 * error handler for whichever limit refused a request.
 */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  return {
    'RateLimit-Policy': `"${state.scope}";q=${state.limit};w=${state.windowSeconds}`,
    RateLimit: `"${state.scope}";r=${Math.max(0, state.remaining)};t=${state.resetSeconds}`,
  };
}

/**
 * The client's address as Cloudflare saw it. Only CF-Connecting-IP counts (X-Forwarded-For is
 * whatever the client wrote). IPv6 clients are keyed by their /64, which one subscriber usually
 * holds whole.
 */
export function clientKey(header: string | undefined): string {
  const ip = (header ?? '').trim();
  if (!ip) return 'unknown';
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = ip.includes('::') ? 8 - headGroups.length - tailGroups.length : 0;
  const groups = [...headGroups, ...Array<string>(Math.max(0, missing)).fill('0'), ...tailGroups];
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}
