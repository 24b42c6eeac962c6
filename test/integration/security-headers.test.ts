import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestApp, type TestApp } from '../helpers/test-app.ts';
import { bearer, register } from '../helpers/auth.ts';

describe('secure headers', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await setupTestApp();
  });

  it.each(['/health', '/api/v1/missing', '/openapi.json'])('are on %s', async (path) => {
    const res = await app.request(path);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('API answers are never stored by caches', async () => {
    expect((await app.request('/api/v1/missing')).headers.get('cache-control')).toBe('no-store');
  });

  it('the docs page gets a CSP that lets its script run by nonce, and nothing else', async () => {
    const res = await app.request('/docs');
    const csp = res.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
  });
});

describe('CORS', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await setupTestApp({ env: { CORS_ORIGINS: 'https://app.example.com,https://admin.example.com' } });
  });

  it('allows an origin on the allowlist, and exposes the headers clients need', async () => {
    const res = await app.request('/health', { headers: { origin: 'https://app.example.com' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(res.headers.get('access-control-expose-headers')).toContain('X-Request-ID');
    expect(res.headers.get('vary')).toContain('Origin');
  });

  it('answers a request without Origin (not a CORS request) with Vary: Origin and no CORS headers', async () => {
    const token = (await register(app)).accessToken;
    for (const [path, init, status] of [
      ['/health', {}, 200],
      ['/api/v1/tasks', bearer(token), 200],
      ['/api/v1/nothing-here', {}, 404],
      ['/api/v1/tasks', { method: 'PUT' }, 405],
    ] as const) {
      const res = await app.request(path, init);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('vary'), path).toBe('Origin');
      expect(res.headers.get('access-control-allow-origin'), path).toBeNull();
      expect(res.headers.get('access-control-expose-headers'), path).toBeNull();
      expect(res.headers.get('x-request-id'), path).toBeTruthy();
    }
  });

  it('answers a preflight from an allowed origin', async () => {
    const res = await app.request('/api/v1/tasks', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://admin.example.com',
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization, content-type, if-match',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    expect(res.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it('gives no Access-Control-Allow-Origin to an origin not on the list', async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.com', 'null']) {
      const res = await app.request('/health', { headers: { origin } });
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
      const preflight = await app.request('/api/v1/tasks', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  it('allows no origin at all when the list is empty', async () => {
    const closed = await setupTestApp({ env: { CORS_ORIGINS: '' } });
    const res = await closed.request('/health', { headers: { origin: 'https://app.example.com' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
