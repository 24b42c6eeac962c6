import { beforeAll, describe, expect, it } from 'vitest';
import { allowConsoleErrors, consoleErrors } from '../helpers/fail-on-console-error.ts';
import { addProbeRoutes } from '../helpers/probe-routes.ts';
import { json, setupTestApp, type TestApp } from '../helpers/test-app.ts';

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  request_id: string;
  errors?: { pointer: string; message: string }[];
  [key: string]: unknown;
}

async function problem(res: Response): Promise<ProblemBody> {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = await res.json<ProblemBody>();
  expect(body.status).toBe(res.status);
  expect(body.request_id).toBe(res.headers.get('x-request-id'));
  expect(body.type).toMatch(/^tag:edgetask,2026:problem:[a-z-]+$/);
  expect(typeof body.title).toBe('string');
  return body;
}

describe('problem details for every error', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await setupTestApp({ extend: addProbeRoutes });
  });

  it('404 for an unknown route', async () => {
    const res = await app.request('/api/v1/nothing-here');
    expect(res.status).toBe(404);
    const body = await problem(res);
    expect(body).toMatchObject({ code: 'NOT_FOUND', instance: '/api/v1/nothing-here', title: 'Not found' });
  });

  it('404 or 405 for a path or method no route answers, whatever the body', async () => {
    const text = { method: 'PATCH', headers: { 'content-type': 'text/plain' }, body: 'hello' };
    expect((await app.request('/api/v1/', text)).status).toBe(404);
    expect((await app.request('/api/v1/_probe/echo', { ...text, body: 'x'.repeat(17 * 1024) })).status).toBe(405);
  });

  it('404 for a known path with a trailing slash: the router takes it for another path', async () => {
    const res = await app.request('/health/', { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect((await app.request('/health/')).status).toBe(404);
  });

  it('404 outside the API too', async () => {
    const res = await app.request('/favicon.ico');
    expect(res.status).toBe(404);
    expect((await problem(res)).code).toBe('NOT_FOUND');
  });

  it('405 with Allow for a known path and a wrong method', async () => {
    const res = await app.request('/health', { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect((await problem(res)).code).toBe('METHOD_NOT_ALLOWED');

    const param = await app.request(`/api/v1/_probe/items/${crypto.randomUUID()}`, { method: 'PATCH' });
    expect(param.status).toBe(405);
    expect(param.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });

  it('400 with a JSON pointer and a message per invalid field', async () => {
    const res = await app.request('/api/v1/_probe/echo', json({ title: 'ab', count: 1000 }));
    expect(res.status).toBe(400);
    const body = await problem(res);
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.errors?.map((e) => e.pointer).sort()).toEqual(['/body/count', '/body/title']);
    expect(body.errors?.every((e) => e.message.length > 0)).toBe(true);
  });

  it('400 for unknown keys, including user_id, id, deleted_at and __proto__', async () => {
    for (const extra of [{ user_id: 'x' }, { id: 'x' }, { deleted_at: 'x' }]) {
      const res = await app.request('/api/v1/_probe/echo', json({ title: 'fine', ...extra }));
      expect(res.status).toBe(400);
      expect((await problem(res)).code).toBe('VALIDATION_FAILED');
    }
    const proto = await app.request('/api/v1/_probe/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"title":"fine","__proto__":{"admin":true}}',
    });
    expect(proto.status).toBe(400);
  });

  it('400 for malformed JSON, without echoing it', async () => {
    const res = await app.request('/api/v1/_probe/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"title": "unterminated',
    });
    expect(res.status).toBe(400);
    const body = await problem(res);
    expect(body.code).toBe('MALFORMED_JSON');
    expect(JSON.stringify(body)).not.toContain('unterminated');
  });

  it('400 for an empty body without Content-Type on a route that needs a body', async () => {
    const res = await app.request('/api/v1/_probe/echo', { method: 'POST' });
    expect(res.status).toBe(400);
    expect((await problem(res)).errors?.[0]?.pointer).toBe('/body/title');
  });

  it('415 for a text/plain body, and for a body with no Content-Type', async () => {
    const plain = await app.request('/api/v1/_probe/echo', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hi',
    });
    expect(plain.status).toBe(415);
    expect((await problem(plain)).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const none = await app.request('/api/v1/_probe/echo', {
      method: 'POST',
      body: new TextEncoder().encode('{"title":"abc"}'),
    });
    expect(none.status).toBe(415);
  });

  it('accepts application/json with a charset and +json media types', async () => {
    const res = await app.request('/api/v1/_probe/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ title: 'fine' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ title: 'fine' });
  });

  it('413 for a body over 16 KiB, with nothing of it echoed', async () => {
    const res = await app.request('/api/v1/_probe/echo', json({ title: 'x'.repeat(17 * 1024) }));
    expect(res.status).toBe(413);
    expect((await problem(res)).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('400, never 500, for a non-UUID path id and out-of-range or absurd numbers', async () => {
    const bad = await app.request('/api/v1/_probe/items/not-a-uuid');
    expect(bad.status).toBe(400);
    expect((await problem(bad)).errors?.[0]?.pointer).toBe('/path/item_id');
    for (const limit of ['101', '0', '1e309', 'abc', '-1', '2.5']) {
      const res = await app.request(`/api/v1/_probe/items/${crypto.randomUUID()}?limit=${limit}`);
      expect(res.status, `limit=${limit}`).toBe(400);
      expect((await problem(res)).errors?.[0]?.pointer).toBe('/query/limit');
    }
  });

  it.each([
    ['a NUL byte', '{"title":"ab\\u0000cd"}'],
    ['a lone surrogate', '{"title":"ab\\ud800cd"}'],
    ['a wrong type', '{"title":12345}'],
    ['a huge number', '{"title":"fine","count":1e309}'],
  ])('400, never 500, for %s in a string field', async (_what, raw) => {
    const res = await app.request('/api/v1/_probe/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: raw,
    });
    expect(res.status).toBe(400);
    expect((await problem(res)).code).toBe('VALIDATION_FAILED');
  });

  it('counts length in characters, not UTF-16 units', async () => {
    const res = await app.request('/api/v1/_probe/echo', json({ title: '\u{1F600}\u{1F600}\u{1F600}' }));
    expect(res.status).toBe(200);
  });

  it('500 with no internals for an unexpected error, logged once with the request id', async () => {
    allowConsoleErrors(/unhandled error|"status":500/);
    const res = await app.request('/api/v1/_probe/boom', { headers: { 'x-request-id': 'boom-test-1' } });
    expect(res.status).toBe(500);
    const body = await problem(res);
    expect(body).toMatchObject({ code: 'INTERNAL', request_id: 'boom-test-1' });
    expect(JSON.stringify(body)).not.toMatch(/secret-value|boom:|stack|at /);
    const logged = consoleErrors().map((line) => JSON.parse(line) as Record<string, unknown>);
    const unhandled = logged.find((l) => l.msg === 'unhandled error');
    expect(unhandled).toMatchObject({ request_id: 'boom-test-1', route: '/api/v1/_probe/boom' });
    expect(JSON.stringify(unhandled)).not.toMatch(/stack|\n\s+at /);
  });
});

describe('a misconfigured Worker', () => {
  it('answers 500 naming the settings at fault, never their values, and logs it once', async () => {
    allowConsoleErrors(/configuration invalid|"status":500/);
    const app = await setupTestApp({
      env: {
        JWT_KEYS: 'k1:too-short-secret-value',
        UPSTASH_REDIS_REST_TOKEN: undefined,
        CORS_ORIGINS: 'not an origin',
      },
    });
    const first = await app.request('/api/v1/anything');
    const second = await app.request('/health/ready');
    for (const res of [first, second]) {
      expect(res.status).toBe(500);
      const body = await problem(res);
      expect(body.code).toBe('MISCONFIGURED');
      expect(body.detail).toContain('JWT_KEYS is invalid');
      expect(body.detail).toContain('UPSTASH_REDIS_REST_TOKEN is missing');
      expect(body.detail).toContain('CORS_ORIGINS is invalid');
      expect(JSON.stringify(body)).not.toContain('too-short-secret-value');
      expect(JSON.stringify(body)).not.toContain('not an origin');
    }
    const configLogs = consoleErrors().filter((line) => line.includes('configuration invalid'));
    expect(configLogs).toHaveLength(1);
    expect(configLogs[0]).not.toContain('too-short-secret-value');
    // Liveness does not depend on configuration.
    expect((await app.request('/health')).status).toBe(200);
  });
});

describe('the database away', () => {
  it.each(['down', 'error'] as const)(
    'Neon %s: 503 DEPENDENCY_UNAVAILABLE with Retry-After, not a 500, and nothing written',
    async (fault) => {
      allowConsoleErrors(/database unavailable|"status":503/);
      const away = await setupTestApp();
      const { register } = await import('../helpers/auth.ts');
      const user = await register(away);
      await away.fault({ neon: fault });
      try {
        const create = await away.request(
          '/api/v1/tasks',
          json({ title: 'Not now' }, { headers: { authorization: `Bearer ${user.accessToken}` } }),
        );
        expect(create.status).toBe(503);
        expect(create.headers.get('retry-after')).toBe('5');
        expect(create.headers.get('content-type')).toContain('application/problem+json');
        expect((await create.json<{ code: string }>()).code).toBe('DEPENDENCY_UNAVAILABLE');
        const list = await away.request('/api/v1/tasks', { headers: { authorization: `Bearer ${user.accessToken}` } });
        expect(list.status).toBe(503);
      } finally {
        await away.fault({ neon: 'none' });
      }
      expect(await away.sql`select 1 from tasks where user_id = ${user.userId}`).toEqual([]);
    },
  );
});

describe('405 from hono’s method-not-allowed middleware', () => {
  it('lists every method of the path, HEAD with GET, and OPTIONS, in a problem document', async () => {
    const app = await setupTestApp();
    const res = await app.request(`/api/v1/categories/${crypto.randomUUID()}`, { method: 'PUT' });
    expect(res.status).toBe(405);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('allow')?.split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH']);
    expect((await problem(res)).code).toBe('METHOD_NOT_ALLOWED');
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });
});
