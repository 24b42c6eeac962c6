import { describe, expect, it } from 'vitest';
import { bearer, register } from '../helpers/auth.ts';
import { allowConsoleErrors } from '../helpers/fail-on-console-error.ts';
import { createTask } from '../helpers/tasks.ts';
import { json, setupTestApp } from '../helpers/test-app.ts';

/**
 * With Upstash unreachable, every path that talks to it (per-IP limit, per-user limit with the
 * revocation check and the cache read, invalidations, Idempotency-Key claims, after-response work)
 * must handle its own failure: no promise may be left rejected with nobody listening. The app runs
 * in this isolate, so an unhandled rejection anywhere in it reaches this listener.
 *
 * The "uncaught exception; source = Uncaught (in promise) ... Network connection lost." lines
 * workerd prints during such tests do not come from the app: Miniflare routes every outbound fetch
 * through its own interceptor Worker (`outbound:N`, `async fetch(request) { return fetch(request) }`),
 * whose handler's rejection workerd logs (IoContext::awaitJs) before our fetch rejects. A bare
 * `await fetch()` to a dead port inside try/catch prints the same lines; deployed, there is no
 * interceptor and nothing is logged.
 */
describe('Upstash unreachable', () => {
  it('leaves no unhandled promise rejection behind, on any Upstash path', async () => {
    // The two refusals below are logged as errors (503), as they should be.
    allowConsoleErrors(/"status":503/);
    const app = await setupTestApp({ env: { UPSTASH_TIMEOUT_MS: '300' } });
    const user = await register(app);
    const task = await createTask(app, user.accessToken, { title: 'Before the outage' });

    const unhandled: unknown[] = [];
    const listener = (event: PromiseRejectionEvent) => unhandled.push(event.reason);
    globalThis.addEventListener('unhandledrejection', listener);
    await app.fault({ upstash: 'down' });
    try {
      const attempts: [string, RequestInit, number][] = [
        // Per-IP limit: fails closed.
        ['/api/v1/auth/login', json({ email: user.email, password: user.password }), 503],
        // Per-user limit, revocation check and cache read in one pipeline: fail open.
        ['/api/v1/tasks', bearer(user.accessToken), 200],
        [`/api/v1/tasks/${task.id}`, bearer(user.accessToken), 200],
        // Limit and invalidation, then the second invalidation after the response.
        ['/api/v1/tasks', json({ title: 'During the outage' }, bearer(user.accessToken)), 201],
        [
          `/api/v1/tasks/${task.id}`,
          json({ title: 'Renamed', version: task.version }, bearer(user.accessToken, { method: 'PATCH' })),
          200,
        ],
        // An Idempotency-Key claim that cannot be made: refused.
        [
          '/api/v1/tasks',
          json({ title: 'Keyed' }, bearer(user.accessToken, { headers: { 'Idempotency-Key': crypto.randomUUID() } })),
          503,
        ],
      ];
      for (const [path, init, status] of attempts) {
        const res = await app.request(path, init);
        expect(res.status, `${init.method ?? 'GET'} ${path}`).toBe(status);
        // Rejections are reported after the microtask queue drains: give them a turn.
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(unhandled.map(String), `${init.method ?? 'GET'} ${path}`).toEqual([]);
      }
    } finally {
      globalThis.removeEventListener('unhandledrejection', listener);
      await app.fault({ upstash: 'none' });
    }
  });
});
