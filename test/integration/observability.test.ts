import { beforeAll, describe, expect, it, vi } from 'vitest';
import { setupTestApp, type TestApp } from '../helpers/test-app.ts';

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    if (typeof line === 'string' && line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { lines, restore: () => spy.mockRestore() };
}

describe('request id', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await setupTestApp();
  });

  it('echoes a sane X-Request-ID', async () => {
    const res = await app.request('/health', { headers: { 'x-request-id': 'client-req-42_abc' } });
    expect(res.headers.get('x-request-id')).toBe('client-req-42_abc');
  });

  it.each([['has spaces in it'], ['x'.repeat(129)], ['<script>'], ['a\u00e9b']])(
    'replaces an unsafe one (%s) with a fresh UUID',
    async (given) => {
      const res = await app.request('/health', { headers: { 'x-request-id': given } });
      const id = res.headers.get('x-request-id');
      expect(id).not.toBe(given);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    },
  );

  it('makes one when none is sent, on errors too', async () => {
    const res = await app.request('/nope');
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('one structured log line per request', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await setupTestApp();
  });

  it('logs method, route, status, duration, request id, trace and round trips', async () => {
    const logs = captureLogs();
    try {
      await app.request('/health/ready', {
        headers: {
          'x-request-id': 'log-test-1',
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        },
      });
    } finally {
      logs.restore();
    }
    const requestLines = logs.lines.filter((l) => l.msg === 'request');
    expect(requestLines).toHaveLength(1);
    const line = requestLines[0]!;
    expect(line).toMatchObject({
      level: 'info',
      request_id: 'log-test-1',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      parent_span_id: '00f067aa0ba902b7',
      method: 'GET',
      route: '/health/ready',
      path: '/health/ready',
      status: 200,
      neon: { count: 1, max_parallel: 1 },
      upstash: { count: 1, max_parallel: 1 },
    });
    expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(line.span_id).not.toBe('00f067aa0ba902b7');
    expect(typeof line.duration_ms).toBe('number');
    expect(typeof line.time).toBe('string');
  });

  it('starts a new trace when traceparent is absent or invalid', async () => {
    for (const traceparent of [undefined, 'garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01']) {
      const logs = captureLogs();
      try {
        await app.request('/health', traceparent ? { headers: { traceparent } } : {});
      } finally {
        logs.restore();
      }
      const line = logs.lines.find((l) => l.msg === 'request')!;
      expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
      expect(line.trace_id).not.toBe('00000000000000000000000000000000');
      expect(line.parent_span_id).toBeUndefined();
    }
  });

  it('gives the route pattern, not the raw path, and 404s as such', async () => {
    const logs = captureLogs();
    try {
      await app.request('/no/such/path');
    } finally {
      logs.restore();
    }
    expect(logs.lines.find((l) => l.msg === 'request')).toMatchObject({ status: 404, path: '/no/such/path' });
  });
});

describe('Server-Timing and metrics', () => {
  it('reports database and cache time and counts in Server-Timing', async () => {
    const app = await setupTestApp();
    const res = await app.request('/health/ready');
    const timing = res.headers.get('server-timing') ?? '';
    expect(timing).toMatch(/^db;dur=[\d.]+;desc="Neon x1", cache;dur=[\d.]+;desc="Upstash x1", total;dur=[\d.]+$/);
  });

  it('writes one Analytics Engine data point per request', async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const METRICS = { writeDataPoint: (p: AnalyticsEngineDataPoint) => points.push(p) } as AnalyticsEngineDataset;
    const app = await setupTestApp({ env: { METRICS } });
    await app.request('/health/ready');
    await app.request('/missing');
    expect(points).toHaveLength(2);
    expect(points[0]).toMatchObject({ indexes: ['/health/ready'], blobs: ['/health/ready', 'GET', '200'] });
    expect(points[0]?.doubles?.[1]).toBe(1); // one Neon round trip
    expect(points[0]?.doubles?.[3]).toBe(1); // one Upstash round trip
    expect(points[1]?.blobs?.[2]).toBe('404');
  });
});
