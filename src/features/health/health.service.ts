import type { NeonQueryFunction } from '@neondatabase/serverless';
import type { Redis } from '@upstash/redis/cloudflare';

export interface DependencyCheck {
  status: 'up' | 'down';
  latency_ms: number;
  error?: string;
}

/**
 * Readiness: one trivial call to each dependency, in parallel, each bounded by the timeout, so the
 * probe answers within timeoutMs whatever state the dependencies are in.
 */
export async function checkDependencies(
  deps: { sql: NeonQueryFunction<false, false>; redis: Redis },
  timeoutMs: number,
): Promise<{ database: DependencyCheck; cache: DependencyCheck }> {
  const [database, cache] = await Promise.all([
    timed(
      () => deps.sql.query('select 1', [], { fetchOptions: { signal: AbortSignal.timeout(timeoutMs) } }),
      timeoutMs,
    ),
    timed(() => deps.redis.ping(), timeoutMs),
  ]);
  return { database, cache };
}

async function timed(probe: () => Promise<unknown>, timeoutMs: number): Promise<DependencyCheck> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | null = null;
  try {
    // The clients have their own abort signals; this race is the backstop so the probe never hangs.
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs + 100);
      }),
    ]);
    return { status: 'up', latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { status: 'down', latency_ms: Math.round(performance.now() - started), error: reason(error) };
  } finally {
    if (timer !== null) clearTimeout(timer);
  }
}

/** A short, secret-free reason: timeouts and connection failures, not driver messages with URLs. */
function reason(error: unknown): string {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (/abort|timeout|no answer/i.test(message)) return 'timed out';
  if (/connect|fetch failed|network|ECONNREFUSED|socket/i.test(message)) return 'unreachable';
  if (/HTTP status 5\d\d|Server error/i.test(message)) return 'server error';
  if (/Unauthorized|401|WRONGPASS/i.test(message)) return 'unauthorized';
  return 'failed';
}
