import { createScheduledController } from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import worker from '../../src/index.ts';
import { bearer, PASSWORD, uniqueEmail, verificationTokenFor } from '../../test/helpers/auth.ts';
import { as, inDays, type TaskBody } from '../../test/helpers/tasks.ts';
import { json, setupTestApp, type TestApp } from '../../test/helpers/test-app.ts';

/**
 * The round-trip report: one call to every API route, and for each what it cost in Neon and
 * Upstash HTTP requests on the request path (the Worker's own Server-Timing header), what the
 * stand-ins saw in total including the work after the response (cache fills, the second cache
 * invalidation, emails), and whether the request's Neon and Upstash calls overlapped (the
 * `io_max_parallel` of its log line), and how many of its Upstash scripts ran under the database's
 * global lock. Run with `npm run bench:trips`. It then asserts the budget of docs/decisions/0008:
 * every task and category route makes at most one Neon and one Upstash request, and a cached read
 * none to Neon; that no route runs a script under Upstash's global lock (docs/decisions/0025); and
 * that every route of the OpenAPI document is in the report.
 */

interface Row {
  route: string;
  status: number;
  /** On the request path, from Server-Timing. */
  neon: number;
  upstash: number;
  /** Everything the stand-ins saw for the call, after-response work included. */
  totalNeon: number;
  totalUpstash: number;
  /**
   * Upstash scripts that ran under the database's global lock (no allow-key-locking, or inside
   * MULTI/EXEC), as the stand-in counted them; after-response work included, like the totals.
   */
  globalLockScripts: number;
  /** The log line's io_max_parallel: 2 when a Neon and an Upstash call were in flight together. */
  ioMaxParallel: number | undefined;
  /** Task and category routes: at most one request to each service on the request path. */
  budgeted: boolean;
}

interface RequestLog {
  msg?: string;
  io_max_parallel?: number;
}

const rows: Row[] = [];

const NEW_PASSWORD = 'another horse 43';

/** The session (refresh-token family) an access token belongs to: its `sid` claim. */
function sessionOf(accessToken: string): string {
  const payload = accessToken.split('.')[1] ?? '';
  return (JSON.parse(atob(payload.replaceAll('-', '+').replaceAll('_', '/'))) as { sid: string }).sid;
}
const warmUpRows: Row[] = [];

function serverTimingCount(res: Response, service: 'Neon' | 'Upstash'): number {
  const header = res.headers.get('server-timing') ?? '';
  const match = new RegExp(`desc="${service} x(\\d+)"`).exec(header);
  if (!match) throw new Error(`no ${service} count in Server-Timing: ${JSON.stringify(header)}`);
  return Number(match[1]);
}

/**
 * Makes one call, checks its status, and records its row. The request's log line is read from
 * console.log while the call (and its after-response work) runs.
 */
async function measure(
  app: TestApp,
  route: string,
  expectedStatus: number,
  call: () => Promise<Response>,
  budgeted = false,
  into: Row[] = rows,
): Promise<Response> {
  await app.resetCounters();
  const logged: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    logged.push(args.map(String).join(' '));
  });
  let res: Response;
  try {
    res = await call();
  } finally {
    spy.mockRestore();
  }
  const counters = await app.counters();
  expect(res.status, `${route}: ${await res.clone().text()}`).toBe(expectedStatus);
  const requestLines = logged
    .map((line): RequestLog => {
      try {
        return JSON.parse(line) as RequestLog;
      } catch {
        return {};
      }
    })
    .filter((line) => line.msg === 'request');
  expect(requestLines, `${route}: one request log line`).toHaveLength(1);
  into.push({
    route,
    status: res.status,
    neon: serverTimingCount(res, 'Neon'),
    upstash: serverTimingCount(res, 'Upstash'),
    totalNeon: counters.neon.requests,
    totalUpstash: counters.upstash.requests,
    globalLockScripts: counters.upstash.globalLockScripts,
    ioMaxParallel: requestLines[0]?.io_max_parallel,
    budgeted,
  });
  return res;
}

function parallelCell(row: Row): string {
  if (row.neon === 0 || row.upstash === 0) return '-';
  return (row.ioMaxParallel ?? 0) >= 2 ? 'yes' : 'no';
}

function table(rows: Row[]): string {
  const header = ['route', 'status', 'Neon', 'Upstash', 'after response', 'parallel', 'global lock'];
  const body = rows.map((row) => [
    row.route,
    String(row.status),
    String(row.neon),
    String(row.upstash),
    `${row.totalNeon} / ${row.totalUpstash}`,
    parallelCell(row),
    String(row.globalLockScripts),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((cells) => cells[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join(' | ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line)].join('\n');
}

const LEGEND = [
  'Neon, Upstash: HTTP requests on the request path (Server-Timing).',
  'after response: Neon / Upstash requests the stand-ins saw in total, work after the response included.',
  "parallel: the request's Neon and Upstash calls were in flight together (io_max_parallel 2); - when it called only one.",
  'global lock: Upstash scripts that ran under the global lock (no allow-key-locking, or in MULTI/EXEC), work after the response included.',
].join('\n');

describe('round trips per route', () => {
  it('calls every route once and stays within the round-trip budget', async () => {
    const app = await setupTestApp();

    // Health.
    await measure(app, 'GET /health', 200, () => app.request('/health'));
    await measure(app, 'GET /health/ready', 200, () => app.request('/health/ready'));

    // Warm-up: the first EVALSHA of each Lua script on a Redis that has not seen it yet answers
    // NOSCRIPT and costs a second request (EVAL): once per script on a new database or after a
    // SCRIPT FLUSH, in production too. The report is about every other call, so one call of each
    // script-using path runs first (the per-IP limiter; the per-user limiter with the revocation
    // check and the cache read) and is shown on its own.
    const warmUp = await measure(
      app,
      'POST /auth/register',
      201,
      () =>
        app.request('/api/v1/auth/register', json({ email: uniqueEmail('warm'), password: PASSWORD, full_name: 'W' })),
      false,
      warmUpRows,
    );
    const warmUpToken = (await warmUp.json<{ access_token: string }>()).access_token;
    await measure(app, 'GET /tasks', 200, () => as(app, warmUpToken).get('/api/v1/tasks'), false, warmUpRows);
    // The per-address limit on reset emails is a script of its own (a fixed window), run after the
    // response when the address has an account.
    const warmUpEmail = (await (await app.request('/api/v1/auth/me', bearer(warmUpToken))).json<{ email: string }>())
      .email;
    await measure(
      app,
      'POST /auth/forgot-password',
      202,
      () => app.request('/api/v1/auth/forgot-password', json({ email: warmUpEmail })),
      false,
      warmUpRows,
    );

    // Accounts and sessions.
    const email = uniqueEmail('trips');
    const registered = await measure(app, 'POST /auth/register', 201, () =>
      app.request('/api/v1/auth/register', json({ email, password: PASSWORD, full_name: 'Trips' })),
    );
    const session = await registered.json<{ access_token: string; refresh_token: string }>();
    await measure(app, 'POST /auth/resend-verification', 202, () =>
      app.request('/api/v1/auth/resend-verification', bearer(session.access_token, { method: 'POST' })),
    );
    const verification = await verificationTokenFor(app, email);
    await measure(app, 'POST /auth/verify-email', 200, () =>
      app.request('/api/v1/auth/verify-email', json({ token: verification })),
    );
    const loggedIn = await measure(app, 'POST /auth/login', 200, () =>
      app.request('/api/v1/auth/login', json({ email, password: PASSWORD })),
    );
    const second = await loggedIn.json<{ access_token: string; refresh_token: string }>();
    await measure(app, 'POST /auth/login (wrong password)', 401, () =>
      app.request('/api/v1/auth/login', json({ email, password: 'wrong password 99' })),
    );
    await measure(app, 'GET /auth/me', 200, () => app.request('/api/v1/auth/me', bearer(session.access_token)));
    await measure(app, 'PATCH /auth/me', 200, () =>
      app.request('/api/v1/auth/me', json({ time_zone: 'UTC' }, bearer(session.access_token, { method: 'PATCH' }))),
    );
    const refreshed = await measure(app, 'POST /auth/refresh', 200, () =>
      app.request('/api/v1/auth/refresh', json({ refresh_token: session.refresh_token })),
    );
    const rotated = await refreshed.json<{ access_token: string; refresh_token: string }>();

    // Tasks and categories, as the refreshed session.
    const api = as(app, rotated.access_token);
    const created = await measure(
      app,
      'POST /tasks',
      201,
      () => api.post('/api/v1/tasks', { title: 'Count the round trips', priority: 'high', due_date: inDays(2) }),
      true,
    );
    const task = await created.json<TaskBody>();
    await measure(
      app,
      'GET /tasks?status&priority&sort',
      200,
      () =>
        api.get(
          '/api/v1/tasks?status=todo&priority=high&due_from=' +
            encodeURIComponent(inDays(1)) +
            '&sort=-due_date&limit=10',
        ),
      true,
    );
    const miss = await measure(
      app,
      'GET /tasks/{id} (cache miss)',
      200,
      () => api.get(`/api/v1/tasks/${task.id}`),
      true,
    );
    expect(miss.headers.get('x-cache')).toBe('miss');
    const hit = await measure(app, 'GET /tasks/{id} (cache hit)', 200, () => api.get(`/api/v1/tasks/${task.id}`), true);
    expect(hit.headers.get('x-cache')).toBe('hit');
    await measure(
      app,
      'PATCH /tasks/{id}',
      200,
      () => api.patch(`/api/v1/tasks/${task.id}`, { status: 'in_progress', version: task.version }),
      true,
    );
    await measure(
      app,
      'PATCH /tasks/{id} (stale version)',
      409,
      () => api.patch(`/api/v1/tasks/${task.id}`, { status: 'done', version: task.version }),
      true,
    );
    const category = await measure(
      app,
      'POST /categories',
      201,
      () => api.post('/api/v1/categories', { name: 'Round trips', color: '#336699' }),
      true,
    );
    const categoryId = (await category.json<{ id: string }>()).id;
    await measure(app, 'GET /categories', 200, () => api.get('/api/v1/categories'), true);
    await measure(app, 'GET /categories/{cat_id}', 200, () => api.get(`/api/v1/categories/${categoryId}`), true);
    await measure(
      app,
      'PATCH /categories/{cat_id}',
      200,
      () => api.patch(`/api/v1/categories/${categoryId}`, { color: '#993366', version: 1 }),
      true,
    );
    await measure(
      app,
      'POST /tasks/{id}/categories/{cat_id}',
      200,
      () => api.post(`/api/v1/tasks/${task.id}/categories/${categoryId}`),
      true,
    );
    await measure(
      app,
      'DELETE /tasks/{id}/categories/{cat_id}',
      204,
      () => api.delete(`/api/v1/tasks/${task.id}/categories/${categoryId}`),
      true,
    );
    await measure(app, 'DELETE /categories/{cat_id}', 204, () => api.delete(`/api/v1/categories/${categoryId}`), true);
    await measure(app, 'DELETE /tasks/{id}', 204, () => api.delete(`/api/v1/tasks/${task.id}`), true);
    await measure(app, 'GET /tasks/trash', 200, () => api.get('/api/v1/tasks/trash'), true);
    await measure(app, 'POST /tasks/{id}/restore', 200, () => api.post(`/api/v1/tasks/${task.id}/restore`), true);
    await measure(app, 'POST /tasks/{id}/move', 200, () => api.post(`/api/v1/tasks/${task.id}/move`, {}), true);
    const due = new Date(Date.now() + 86_400_000).toISOString();
    const repeating = await measure(
      app,
      'POST /tasks (repeating)',
      201,
      () => api.post('/api/v1/tasks', { title: 'Water the plants', due_date: due, recurrence: 'FREQ=DAILY' }),
      true,
    );
    const series = await repeating.json<{ id: string; version: number }>();
    await measure(
      app,
      'PATCH /tasks/{id} (complete a repeating task)',
      200,
      () => api.patch(`/api/v1/tasks/${series.id}`, { status: 'done', version: series.version }),
      true,
    );
    await measure(
      app,
      'GET /tasks/{id}/completions',
      200,
      () => api.get(`/api/v1/tasks/${series.id}/completions`),
      true,
    );
    const commands = Array.from({ length: 100 }, (_, i) => ({
      id: `trips-${i}`,
      type: 'task.create',
      args: { title: `Batched task ${i}` },
    }));
    await measure(app, 'POST /batch (100 task.create)', 200, () => api.post('/api/v1/batch', { commands }), true);
    await measure(app, 'GET /tasks/changes', 200, () => api.get('/api/v1/tasks/changes?limit=50'), true);
    const retried = () =>
      app.request(
        '/api/v1/tasks',
        json({ title: 'Sent twice' }, bearer(rotated.access_token, { headers: { 'idempotency-key': 'trips-key' } })),
      );
    await measure(app, 'POST /tasks (Idempotency-Key)', 201, retried, true);
    const replayed = await measure(app, 'POST /tasks (Idempotency-Key replayed)', 201, retried, true);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    await measure(
      app,
      'PATCH /tasks/{id} (If-Match)',
      200,
      () =>
        app.request(
          `/api/v1/tasks/${task.id}`,
          json({ priority: 'low' }, bearer(rotated.access_token, { method: 'PATCH', headers: { 'if-match': '*' } })),
        ),
      true,
    );
    const firstPage = await (
      await api.get('/api/v1/tasks?q=round%20or%20twice&limit=1')
    ).json<{ next_cursor: string | null }>();
    await measure(
      app,
      'GET /tasks?q&cursor',
      200,
      () => api.get(`/api/v1/tasks?q=round%20or%20twice&limit=1&cursor=${firstPage.next_cursor ?? ''}`),
      true,
    );

    // Sessions and the account, as the refreshed session. Every call that ends sessions finds one
    // more live session to end, as it would for someone signed in on a second device.
    const signIn = async (password: string) =>
      (await app.request('/api/v1/auth/login', json({ email, password }))).json<{
        access_token: string;
        refresh_token: string;
      }>();
    await measure(app, 'GET /auth/sessions', 200, () =>
      app.request('/api/v1/auth/sessions', bearer(rotated.access_token)),
    );
    await measure(app, 'GET /account/export', 200, () =>
      app.request('/api/v1/account/export', bearer(rotated.access_token)),
    );
    await measure(app, 'DELETE /auth/sessions/{session_id}', 204, () =>
      app.request(
        `/api/v1/auth/sessions/${sessionOf(second.access_token)}`,
        bearer(rotated.access_token, { method: 'DELETE' }),
      ),
    );
    await signIn(PASSWORD);
    await measure(app, 'POST /auth/change-password (wrong password)', 403, () =>
      app.request(
        '/api/v1/auth/change-password',
        json({ current_password: 'not my password 1', new_password: NEW_PASSWORD }, bearer(rotated.access_token)),
      ),
    );
    await measure(app, 'POST /auth/change-password', 204, () =>
      app.request(
        '/api/v1/auth/change-password',
        json({ current_password: PASSWORD, new_password: NEW_PASSWORD }, bearer(rotated.access_token)),
      ),
    );

    // Ending sessions: one, then all.
    const another = await signIn(NEW_PASSWORD);
    await measure(app, 'POST /auth/logout', 204, () =>
      app.request('/api/v1/auth/logout', json({ refresh_token: another.refresh_token })),
    );
    await measure(app, 'POST /auth/logout-all', 204, () =>
      app.request('/api/v1/auth/logout-all', bearer(rotated.access_token, { method: 'POST' })),
    );

    // A forgotten password: the email goes out after the response, and only to an account.
    await signIn(NEW_PASSWORD);
    await measure(app, 'POST /auth/forgot-password', 202, () =>
      app.request('/api/v1/auth/forgot-password', json({ email })),
    );
    const resetToken = await verificationTokenFor(app, email);
    await measure(app, 'POST /auth/forgot-password (no account)', 202, () =>
      app.request('/api/v1/auth/forgot-password', json({ email: uniqueEmail('nobody') })),
    );
    await measure(app, 'POST /auth/reset-password (unknown token)', 400, () =>
      app.request('/api/v1/auth/reset-password', json({ token: 'x'.repeat(43), new_password: PASSWORD })),
    );
    await measure(app, 'POST /auth/reset-password', 204, () =>
      app.request('/api/v1/auth/reset-password', json({ token: resetToken, new_password: PASSWORD })),
    );

    // The end of the account.
    const last = await signIn(PASSWORD);
    await measure(app, 'DELETE /account (wrong password)', 403, () =>
      app.request(
        '/api/v1/account',
        json({ password: 'not my password 1' }, bearer(last.access_token, { method: 'DELETE' })),
      ),
    );
    await measure(app, 'DELETE /account', 204, () =>
      app.request('/api/v1/account', json({ password: PASSWORD }, bearer(last.access_token, { method: 'DELETE' }))),
    );

    console.log(
      [
        '',
        'warm-up: first use of the Lua scripts (one extra Upstash request each when Redis has not seen them)',
        '',
        table(warmUpRows),
        '',
        'round trips per route, inside workerd against the stand-ins',
        '',
        table(rows),
        '',
        LEGEND,
        '',
      ].join('\n'),
    );

    const overBudget = rows
      .filter((row) => row.budgeted && (row.neon > 1 || row.upstash > 1))
      .map((row) => `${row.route}: Neon ${row.neon}, Upstash ${row.upstash} (budget: at most 1 each)`);
    const cachedRead = rows.find((row) => row.route === 'GET /tasks/{id} (cache hit)');
    if (cachedRead && cachedRead.neon !== 0)
      overBudget.push(`${cachedRead.route}: Neon ${cachedRead.neon} (budget: 0)`);
    expect(overBudget, 'routes over the round-trip budget of docs/decisions/0008').toEqual([]);

    // docs/decisions/0025: a script on Upstash locks only its keys; one without allow-key-locking
    // stops every other request to the database while it runs.
    const globalLock = [...warmUpRows, ...rows]
      .filter((row) => row.globalLockScripts > 0)
      .map((row) => `${row.route}: ${row.globalLockScripts} script(s) under the global lock`);
    expect(globalLock, 'routes running Upstash scripts under the global lock (docs/decisions/0025)').toEqual([]);

    // Every route of the document is in the report (a new route must be added above).
    const doc = await (await app.request('/openapi.json')).json<{ paths: Record<string, Record<string, unknown>> }>();
    const shape = (route: string) =>
      route
        .replace(/ \(.*\)$/, '')
        .replace(/\?.*$/, '')
        .replace(/\{\w+\}/g, '{}');
    const measured = new Set(rows.map((row) => shape(row.route)));
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => shape(`${method.toUpperCase()} ${path.replace('/api/v1', '')}`)),
    );
    expect(
      documented.filter((route) => !measured.has(route)),
      'documented routes missing from the report',
    ).toEqual([]);
  }, 120_000);

  it('a reminders run costs 2 Neon requests whatever the count (3 with the schedule scan), and one email each', async () => {
    const app = await setupTestApp();
    const res = await app.request(
      '/api/v1/auth/register',
      json({ email: uniqueEmail('remind'), password: PASSWORD, full_name: 'Rem Inder' }),
    );
    const { access_token: token } = await res.json<{ access_token: string }>();
    const when = new Date(Date.now() + 60_000).toISOString();
    const lines: string[] = [];
    for (const size of [1, 10, 100]) {
      // 5 reminders a task: `size` reminders on size / 5 tasks (1 on one task).
      const tasks = Math.max(1, size / 5);
      for (let i = 0; i < tasks; i++) {
        const reminders = Array.from({ length: Math.min(5, size) }, (_, k) => ({
          at: new Date(Date.parse(when) + k).toISOString(),
        }));
        const made = await app.request(
          '/api/v1/tasks',
          json({ title: `Remind ${size}/${i}`, reminders }, bearer(token)),
        );
        expect(made.status).toBe(201);
      }
      await app.resetCounters();
      const started = performance.now();
      await worker.scheduled(
        createScheduledController({ cron: '* * * * *', scheduledTime: Date.parse(when) + 1000 }),
        app.env,
      );
      const ms = performance.now() - started;
      const counters = await app.counters();
      // Claim and record; then the run's scan for repeating tasks' schedules to refill (none here).
      // A full batch (100) makes the run claim once more, in case more are due.
      expect(counters.neon.requests).toBe(size === 100 ? 4 : 3);
      lines.push(`${String(size).padStart(3)} reminders: Neon ${counters.neon.requests}, ${ms.toFixed(0)} ms`);
    }
    console.log(
      `\nscheduled minute run (claim, send through the outbox, record; the schedule scan):\n${lines.join('\n')}`,
    );
  }, 120_000);
});
