import { beforeAll, describe, expect, it } from 'vitest';
import { accountRouter } from '../../src/features/account/account.index.ts';
import { authRouter } from '../../src/features/auth/auth.index.ts';
import { batchRouter } from '../../src/features/batch/batch.index.ts';
import { categoriesRouter } from '../../src/features/categories/categories.index.ts';
import { healthRouter } from '../../src/features/health/health.index.ts';
import { tasksRouter } from '../../src/features/tasks/tasks.index.ts';
import { FEATURES, featuresFor, type Feature } from '../../src/lazy-app.ts';
import { selfFetch, setupTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * The deployed Worker builds each feature's routes on first use (src/lazy-app.ts): a request goes
 * to an app holding only the features its path can match. If that choice ever missed a route, the
 * Worker would answer 404 where the tests' whole app (createApp, through setupTestApp) answers:
 * these tests hold the two to the same answers.
 */
const ROUTERS: Record<Feature, { routes: { method: string; path: string }[] }> = {
  health: healthRouter,
  auth: authRouter,
  account: accountRouter,
  tasks: tasksRouter,
  categories: categoriesRouter,
  batch: batchRouter,
};

const ID = '0193a4f0-0000-7000-8000-000000000001';

describe('the lazy entry: which features a path loads', () => {
  it('every route of every feature is in the app its path loads', () => {
    expect([...FEATURES].sort()).toEqual(Object.keys(ROUTERS).sort());
    let checked = 0;
    for (const [feature, router] of Object.entries(ROUTERS) as [Feature, (typeof ROUTERS)[Feature]][]) {
      for (const route of router.routes) {
        const path = route.path.replace(/:[a-z_]+/g, ID);
        expect(featuresFor(path), `${route.method} ${route.path}`).toContain(feature);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('the document and the docs page load every feature; other paths load none', () => {
    expect(featuresFor('/openapi.json')).toEqual(FEATURES);
    expect(featuresFor('/docs')).toEqual(FEATURES);
    for (const path of ['/', '/api', '/api/v1', '/api/v1/', '/api/v1/nothing', '/api/v2/tasks', '/healthz', '/docs/x'])
      expect(featuresFor(path), path).toEqual([]);
    // Names an object inherits are not features (they were a 500 before).
    for (const path of ['/api/v1/constructor', '/api/v1/__proto__', '/api/v1/toString/x', '/api/v1/hasOwnProperty'])
      expect(featuresFor(path), path).toEqual([]);
    // A prefix is a whole segment: /api/v1/tasksX is not the tasks feature.
    expect(featuresFor('/api/v1/tasksX')).toEqual([]);
    expect(featuresFor('/api/v1/tasks/')).toEqual(['tasks']);
    // Each path loads what it needs, not more: the account feature also has routes under /auth/.
    expect(featuresFor('/api/v1/tasks/x/move')).toEqual(['tasks']);
    expect(featuresFor('/api/v1/auth/sessions')).toEqual(['auth', 'account']);
    expect(featuresFor('/api/v1/account/export')).toEqual(['account']);
    expect(featuresFor('/health/ready')).toEqual(['health']);
  });
});

describe('the lazy entry answers as the whole app does', () => {
  const requests: [string, RequestInit?][] = [
    ['/health'],
    ['/health', { method: 'DELETE' }],
    ['/api/v1/tasks'],
    ['/api/v1/%74asks'],
    [`/api/v1/tasks/${ID}/completions`],
    ['/api/v1/tasks', { method: 'PUT' }],
    ['/api/v1/categories'],
    ['/api/v1/batch', { method: 'GET' }],
    ['/api/v1/auth/me'],
    ['/api/v1/account/export'],
    ['/api/v1/nothing'],
    ['/nowhere'],
    ['/api/v1/constructor'],
    ['/api/v1/__proto__/x'],
    ['/api/v1/auth/sessions'],
    ['/api/v1/auth/change-password', { method: 'GET' }],
  ];

  let app: TestApp;
  beforeAll(async () => {
    app = await setupTestApp();
  });

  it.each(requests)('%s %o', async (path, init) => {
    const fromEntry = await selfFetch(path, init);
    const fromApp = await app.request(path, init);
    expect(fromEntry.status).toBe(fromApp.status);
    expect(fromEntry.headers.get('content-type')).toBe(fromApp.headers.get('content-type'));
    expect(fromEntry.headers.get('allow')).toBe(fromApp.headers.get('allow'));
    const entryBody = await fromEntry.json<Record<string, unknown>>();
    const appBody = await fromApp.json<Record<string, unknown>>();
    // The request id and the clock differ per request; the rest is the same.
    const same = (body: Record<string, unknown>) => ({ ...body, request_id: null, time: null });
    expect(same(entryBody)).toEqual(same(appBody));
  });

  it('serves the whole OpenAPI document', async () => {
    const res = await selfFetch('/openapi.json');
    expect(res.status).toBe(200);
    const document = await res.json<{ paths: Record<string, unknown> }>();
    const expected = await (await app.request('/openapi.json')).json<{ paths: Record<string, unknown> }>();
    expect(Object.keys(document.paths).sort()).toEqual(Object.keys(expected.paths).sort());
    expect(Object.keys(document.paths).length).toBeGreaterThan(20);
  });
});
