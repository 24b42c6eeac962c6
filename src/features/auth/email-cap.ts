import { Ratelimit } from '@upstash/ratelimit';
import type { Deps } from '../../deps.ts';
import { describeError, log } from '../../lib/log.ts';
import { hashToken } from '../../lib/tokens.ts';

/** Emails per address per hour, whatever the kind and whoever asks (issue 12: email bombing). */
export const EMAILS_PER_ADDRESS_PER_HOUR = 3;

/**
 * Whether one more email may go to this address: one shared fixed window per address (its SHA-256,
 * never the address itself) for verification and reset emails alike, so no mix of register,
 * resend-verification and forgot-password from any number of clients sends more than 3 an hour.
 * Called after the response, so the answer and its timing never show whether a mail went out. If
 * the limiter cannot answer, no email is sent (fail closed: the user can ask again).
 */
export async function mayEmail(deps: Deps, address: string, requestId?: string): Promise<boolean> {
  const limiter = new Ratelimit({
    redis: deps.redis,
    limiter: Ratelimit.fixedWindow(EMAILS_PER_ADDRESS_PER_HOUR, '1 h'),
    prefix: 'rl:email',
    ephemeralCache: false,
    timeout: deps.config.UPSTASH_TIMEOUT_MS,
    analytics: false,
  });
  try {
    const result = await limiter.limit(hashToken(address.toLowerCase()));
    return result.success && result.reason !== 'timeout';
  } catch (error) {
    log('warn', 'email limiter unavailable: not sending', {
      ...(requestId ? { request_id: requestId } : {}),
      error: describeError(error),
    });
    return false;
  }
}
