import { describe, expect, it } from 'vitest';
import { consoleLine, readyUrl } from '../../dev/console.ts';

// A request line exactly as the Worker writes it (src/middleware/request-context.ts), and wrangler's own.
const workerLine = JSON.stringify({
  level: 'info',
  msg: 'request',
  time: '2026-12-04T15:25:36.695Z',
  request_id: '132831a4-30e5-4140-ac06-25259bd7abd6',
  trace_id: '6e62190b9a8bd4d7a59c4c7d3df0357f',
  span_id: '4e69af085daf2214',
  method: 'GET',
  route: '/api/v1/tasks',
  path: '/api/v1/tasks',
  status: 200,
  duration_ms: 12,
  neon: { count: 1, ms: 3, max_parallel: 1 },
  upstash: { count: 2, ms: 4, max_parallel: 1 },
  io_max_parallel: 1,
});

describe('the dev console (npm run dev)', () => {
  it("turns the Worker's JSON request line into one readable line", () => {
    expect(consoleLine(workerLine)).toBe('GET /api/v1/tasks 200 12ms  neon 1 upstash 2  req 132831a4');
  });

  it("drops wrangler's own line for the same request, coloured or not", () => {
    expect(consoleLine('[wrangler:info] GET /api/v1/tasks 200 OK (48ms)')).toBeNull();
    expect(consoleLine('\u001b[2m[wrangler:info]\u001b[22m POST /api/v1/auth/register 201 Created (150ms)')).toBeNull();
  });

  it('passes every other line through unchanged', () => {
    for (const line of [
      '{"level":"warn","msg":"email not sent","kind":"verify-email"}',
      '[wrangler:info] Ready on http://127.0.0.1:8795',
      '⎔ Starting local server...',
      '{not json',
    ]) {
      expect(consoleLine(line)).toBe(line);
    }
  });

  it("finds the URL in wrangler's ready line (the launcher waits for it instead of polling /health)", () => {
    expect(readyUrl('\u001b[32m[wrangler:info]\u001b[39m Ready on http://127.0.0.1:8795')).toBe(
      'http://127.0.0.1:8795',
    );
    expect(readyUrl('[wrangler:info] GET /health 200 OK (6ms)')).toBeUndefined();
  });
});
