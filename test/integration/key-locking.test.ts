import { beforeAll, describe, expect, it } from 'vitest';
import { bearer, register, type Registered } from '../helpers/auth.ts';
import { as, createTask } from '../helpers/tasks.ts';
import { json, setupTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Every Upstash script the Worker sends carries allow-key-locking (docs/decisions/0025): none runs
 * under Upstash's global lock. The stand-in counts scripts, and those that would take the lock,
 * per test file; a script that touched an undeclared key would fail its request instead.
 */
let app: TestApp;
let ann: Registered;

beforeAll(async () => {
  app = await setupTestApp();
  ann = await register(app);
});

describe('Upstash key locking on the request path', () => {
  it('the rate limit, denylist, cache read and Idempotency-Key claim run scripts, none under the global lock', async () => {
    const api = as(app, ann.accessToken);
    const task = await createTask(app, ann.accessToken);
    await app.resetCounters();

    const keyed = await app.request(
      '/api/v1/tasks',
      json({ title: 'Keyed write' }, bearer(ann.accessToken, { headers: { 'idempotency-key': crypto.randomUUID() } })),
    );
    expect(keyed.status).toBe(201);
    const miss = await api.get(`/api/v1/tasks/${task.id}`);
    const hit = await api.get(`/api/v1/tasks/${task.id}`);
    expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['miss', 'hit']);
    expect((await api.get('/api/v1/tasks?sort=title')).status).toBe(200);
    expect((await api.patch(`/api/v1/tasks/${task.id}`, { title: 'Renamed', version: 1 })).status).toBe(200);

    const counters = await app.counters();
    // Scripts did run (each request's limiter, denylist, cache read, claim): the count is not vacuous.
    expect(counters.upstash.scripts).toBeGreaterThanOrEqual(10);
    expect(counters.upstash.globalLockScripts).toBe(0);
    expect(counters.upstash.errors).toBe(0);
  });
});
