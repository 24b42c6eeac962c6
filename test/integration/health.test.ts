import { beforeAll, describe, expect, it, vi } from 'vitest';
import { VERSION as version } from '../../src/version.ts';
import { allowConsoleErrors } from '../helpers/fail-on-console-error.ts';
import { selfFetch, setupTestApp, type TestApp } from '../helpers/test-app.ts';

describe('GET /health', () => {
  it('answers ok with the version and the time, through the real Worker entry', async () => {
    const before = Date.now();
    const res = await selfFetch('/health');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json<{ status: string; version: string; time: string }>();
    expect(body).toEqual({ status: 'ok', version, time: expect.any(String) as string });
    expect(Date.parse(body.time)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('calls no dependency', async () => {
    const app = await setupTestApp();
    await app.resetCounters();
    const res = await app.request('/health');
    expect(res.status).toBe(200);
    const counters = await app.counters();
    expect(counters.neon.requests).toBe(0);
    expect(counters.upstash.requests).toBe(0);
    expect(res.headers.get('server-timing')).toMatch(
      /db;dur=0;desc="Neon x0", cache;dur=0;desc="Upstash x0", total;dur=/,
    );
  });
});

describe('GET /health/ready', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await setupTestApp();
  });

  it('answers ready when Neon and Upstash answer, with one call to each, in parallel', async () => {
    await app.resetCounters();
    const logged: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void logged.push(String(line)));
    const res = await app.request('/health/ready').finally(() => spy.mockRestore());
    expect(res.status).toBe(200);
    const body = await res.json<{ status: string; checks: Record<string, { status: string; latency_ms: number }> }>();
    expect(body.status).toBe('ready');
    expect(body.checks.database?.status).toBe('up');
    expect(body.checks.cache?.status).toBe('up');
    const counters = await app.counters();
    expect(counters.neon.requests).toBe(1);
    expect(counters.upstash.requests).toBe(1);
    // Issued together by the Worker (the embedded engines serve one at a time, so count at the source).
    expect(
      logged.map((l) => JSON.parse(l) as { io_max_parallel?: number }).find((l) => l.io_max_parallel)?.io_max_parallel,
    ).toBe(2);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it.each([
    ['neon', 'database', 'down'],
    ['neon', 'database', 'error'],
    ['upstash', 'cache', 'down'],
    ['upstash', 'cache', 'error'],
  ] as const)('%s: answers 503 naming the %s when it is %s', async (service, name, fault) => {
    allowConsoleErrors(/"status":503/);
    await app.fault({ [service]: fault });
    try {
      const res = await app.request('/health/ready');
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('retry-after')).toBe('5');
      const body = await res.json<{ code: string; detail: string; checks: Record<string, { status: string }> }>();
      expect(body.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(body.detail).toContain(name);
      expect(body.checks[name]?.status).toBe('down');
      const other = name === 'database' ? 'cache' : 'database';
      expect(body.checks[other]?.status).toBe('up');
    } finally {
      await app.fault({ [service]: 'none' });
    }
  });

  it('answers within the timeout when a dependency hangs', async () => {
    const quick = await setupTestApp({ env: { READY_TIMEOUT_MS: '300' } });
    allowConsoleErrors(/"status":503/);
    await quick.fault({ neon: 'hang', upstash: 'hang' });
    try {
      const started = performance.now();
      const res = await quick.request('/health/ready');
      const elapsed = performance.now() - started;
      expect(res.status).toBe(503);
      const body = await res.json<{ detail: string }>();
      expect(body.detail).toMatch(/database.*timed out.*cache.*timed out/);
      expect(elapsed).toBeLessThan(3000);
    } finally {
      await quick.fault({ neon: 'none', upstash: 'none' });
    }
  });
});
