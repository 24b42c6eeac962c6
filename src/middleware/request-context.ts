import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { loadConfig, type Bindings } from '../env.ts';
import { analyticsEngineMetrics, noMetrics } from '../lib/metrics.ts';
import { newRequestIo, runWithIo, type RequestIo } from '../lib/io-accounting.ts';
import { log } from '../lib/log.ts';
import { parseTraceparent } from '../lib/trace.ts';

/**
 * Around every request: W3C trace context, round-trip accounting, and afterwards the one log line,
 * the Server-Timing header and the Analytics Engine data point. The request id itself comes from
 * hono's requestId middleware, which runs first.
 */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const trace = parseTraceparent(c.req.header('traceparent'));
    c.set('trace', trace);
    const io = newRequestIo(c.env.UPSTASH_REDIS_REST_URL);
    c.set('io', io);
    c.set('background', []);

    await runWithIo(io, next);

    const durationMs = round(performance.now() - started);
    const requestId = c.get('requestId');
    const res = c.res;
    res.headers.set('X-Request-ID', requestId);
    res.headers.set('Server-Timing', serverTiming(io, durationMs, serverTimingDetail(c.env)));

    const route = c.req.routePath;
    const status = res.status;
    log(status >= 500 ? 'error' : 'info', 'request', {
      request_id: requestId,
      trace_id: trace.traceId,
      span_id: trace.spanId,
      ...(trace.parentId ? { parent_span_id: trace.parentId } : {}),
      method: c.req.method,
      route,
      path: c.req.path,
      status,
      duration_ms: durationMs,
      ...(c.get('userId') ? { user_id: c.get('userId') } : {}),
      neon: { count: io.neon.count, ms: round(io.neon.ms), max_parallel: io.neon.maxParallel },
      upstash: { count: io.upstash.count, ms: round(io.upstash.ms), max_parallel: io.upstash.maxParallel },
      io_max_parallel: io.maxParallel,
      ...(c.req.raw.cf?.colo ? { colo: c.req.raw.cf.colo } : {}),
    });
    // Background work starts only now, so the counts above are the request path's alone.
    const background = c.get('background');
    if (background.length > 0) {
      const work = runWithIo(newRequestIo(c.env.UPSTASH_REDIS_REST_URL), () =>
        Promise.allSettled(background.map((start) => start())),
      );
      c.executionCtx.waitUntil(work);
    }
    (c.env.METRICS ? analyticsEngineMetrics(c.env.METRICS) : noMetrics).record({
      route,
      method: c.req.method,
      status,
      durationMs,
      neonCount: io.neon.count,
      neonMs: io.neon.ms,
      upstashCount: io.upstash.count,
      upstashMs: io.upstash.ms,
    });
  };
}

/**
 * How many Neon and Upstash calls a request made, and how long they took, tells an attacker about
 * the code path (a cache hit, an account that exists): production sends only the total unless
 * SERVER_TIMING=full asks for more; development, tests and the benchmark get everything. With a
 * broken configuration, the least.
 */
function serverTimingDetail(env: Bindings): 'full' | 'total' {
  const result = loadConfig(env);
  if (!result.ok) return 'total';
  return result.config.SERVER_TIMING ?? (result.config.APP_ENV === 'production' ? 'total' : 'full');
}

function serverTiming(io: RequestIo, totalMs: number, detail: 'full' | 'total'): string {
  if (detail === 'total') return `total;dur=${totalMs}`;
  return [
    `db;dur=${round(io.neon.ms)};desc="Neon x${io.neon.count}"`,
    `cache;dur=${round(io.upstash.ms)};desc="Upstash x${io.upstash.count}"`,
    `total;dur=${totalMs}`,
  ].join(', ');
}

const round = (ms: number) => Math.round(ms * 10) / 10;
