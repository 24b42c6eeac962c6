import { describe, expect, it } from 'vitest';
import { allowConsoleErrors } from '../helpers/fail-on-console-error.ts';
import { setupTestApp } from '../helpers/test-app.ts';

/** Issue 12, item 13: production tells clients only the total time, unless asked for more. */

const FULL = /^db;dur=[\d.]+;desc="Neon x1", cache;dur=[\d.]+;desc="Upstash x1", total;dur=[\d.]+$/;
const TOTAL_ONLY = /^total;dur=[\d.]+$/;

describe('Server-Timing by environment', () => {
  it.each([
    ['production', {}, TOTAL_ONLY],
    ['production with SERVER_TIMING=full', { SERVER_TIMING: 'full' }, FULL],
    ['test', { APP_ENV: 'test' }, FULL],
    ['development', { APP_ENV: 'development' }, FULL],
    ['development with SERVER_TIMING=total', { APP_ENV: 'development', SERVER_TIMING: 'total' }, TOTAL_ONLY],
  ])('%s', async (_what, env, expected) => {
    const app = await setupTestApp({ env: { APP_ENV: 'production', ...env } });
    const res = await app.request('/health/ready');
    expect(res.status).toBe(200);
    expect(res.headers.get('server-timing')).toMatch(expected);
  });

  it('an invalid SERVER_TIMING is a configuration error naming it', async () => {
    const app = await setupTestApp({ env: { SERVER_TIMING: 'everything' } });
    allowConsoleErrors(/configuration invalid|"status":500/);
    const res = await app.request('/api/v1/tasks');
    expect(res.status).toBe(500);
    expect((await res.json<{ detail: string }>()).detail).toContain('SERVER_TIMING is invalid');
    expect(res.headers.get('server-timing')).toMatch(TOTAL_ONLY);
  });
});
