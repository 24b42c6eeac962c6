import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { App } from '../../src/app.ts';
import { describeError } from '../../src/lib/log.ts';
import { errorResponses } from '../../src/lib/openapi.ts';
import { hashToken } from '../../src/lib/tokens.ts';
import { bearer, PASSWORD, register, type Registered } from '../helpers/auth.ts';
import { allowConsoleErrors, consoleErrors } from '../helpers/fail-on-console-error.ts';
import { json, setupTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Issue 12, item 2: no log line holds SQL text, parameters, passwords, tokens or their hashes,
 * whatever the error. Every error path that logs is driven with secrets in the request, and the
 * whole captured log is scanned for them.
 */

const SECRET_HASH = `$pbkdf2-sha256$v=1$i=100000,r=6$${'c2VjcmV0LXNhbHQ'}$${'A'.repeat(43)}`;
const SECRET_WORD = 'zebra-secret-parameter-0xC0FFEE';

/** Routes that reach the database the way a buggy feature would, with secret parameters. */
function addLeakProbes(app: App): void {
  const route = (path: string) =>
    createRoute({
      method: 'post',
      path,
      request: { body: { required: true, content: { 'application/json': { schema: z.object({ s: z.string() }) } } } },
      responses: { 204: { description: 'never' }, ...errorResponses(400, 500, 503) },
    });
  // A check violation (users_email_lower) with a password hash among the parameters.
  app.openapi(route('/api/v1/_leak/constraint'), async (c) => {
    const { s } = c.req.valid('json');
    await c.get('deps').db.execute(sql`
      insert into users (email, password_hash, full_name) values (${`UPPER-${s}@EXAMPLE.COM`}, ${SECRET_HASH}, ${s})`);
    return c.body(null, 204);
  });
  // A unique violation, whose Postgres detail quotes the duplicated token hash.
  app.openapi(route('/api/v1/_leak/duplicate'), async (c) => {
    const { s } = c.req.valid('json');
    const db = c.get('deps').db;
    const user = crypto.randomUUID();
    await db.execute(
      sql`insert into users (id, email, password_hash, full_name) values (${user}, ${`${user}@example.com`}, ${SECRET_HASH}, 'x')`,
    );
    for (let i = 0; i < 2; i++) {
      await db.execute(sql`
        insert into refresh_tokens (user_id, family_id, token_hash, expires_at, family_expires_at)
        values (${user}, ${user}, ${hashToken(s)}, now() + interval '1 day', now() + interval '1 day')`);
    }
    return c.body(null, 204);
  });
  // A Postgres error whose message quotes the parameter (invalid input syntax for type uuid).
  app.openapi(route('/api/v1/_leak/syntax'), async (c) => {
    await c.get('deps').db.execute(sql`select ${c.req.valid('json').s}::uuid`);
    return c.body(null, 204);
  });
  // An unexpected throw whose message echoes its input (V8's JSON.parse quotes it).
  app.openapi(route('/api/v1/_leak/throw'), (c) => {
    JSON.parse(`{"token": ${c.req.valid('json').s}}`);
    return c.body(null, 204);
  });
}

function captureInfoLogs(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  });
  return { lines, restore: () => spy.mockRestore() };
}

const SQL_TEXT = /failed query|params:|\bselect\b|insert into|\bupdate\s+\w+\s+set\b|delete from|\bwhere\b|\$pbkdf2/i;

function expectClean(lines: string[], secrets: string[]): void {
  const all = lines.join('\n');
  for (const secret of secrets) expect(all, `a log line holds ${secret.slice(0, 12)}...`).not.toContain(secret);
  expect(all).not.toMatch(SQL_TEXT);
}

describe('no secrets or SQL in the logs, whatever the error', () => {
  let app: TestApp;
  let user: Registered;
  let logs: ReturnType<typeof captureInfoLogs>;

  beforeAll(async () => {
    app = await setupTestApp({ extend: addLeakProbes });
    user = await register(app);
  });

  afterEach(async () => {
    logs.restore();
    await app.fault({ neon: 'none', upstash: 'none' });
  });

  const allLines = () => [...logs.lines, ...consoleErrors()];
  const errorLine = (msg: string) =>
    consoleErrors()
      .map((line) => JSON.parse(line) as { msg: string; error?: Record<string, unknown> })
      .find((line) => line.msg === msg);

  it('Neon down during a password reset: neither the token, its hash nor the new password', async () => {
    allowConsoleErrors(/database unavailable|"status":503/);
    await app.request('/api/v1/auth/forgot-password', json({ email: user.email }));
    const mail = (await app.outbox(user.email)).find((m) => m.kind === 'password-reset');
    const token = /code in the app: ([A-Za-z0-9_-]{43})/.exec(mail?.text ?? '')?.[1] ?? '';
    expect(token).not.toBe('');
    logs = captureInfoLogs();
    await app.fault({ neon: 'down' });
    const newPassword = 'brand new horse 77';
    const res = await app.request('/api/v1/auth/reset-password', json({ token, new_password: newPassword }));
    expect(res.status).toBe(503);
    expect(errorLine('database unavailable')?.error).toMatchObject({ name: 'DrizzleQueryError' });
    expectClean(allLines(), [token, hashToken(token), newPassword]);
  });

  it('Neon answering errors: neither the password nor the task text', async () => {
    allowConsoleErrors(/database unavailable|"status":503/);
    logs = captureInfoLogs();
    await app.fault({ neon: 'error' });
    const login = await app.request('/api/v1/auth/login', json({ email: user.email, password: PASSWORD }));
    const create = await app.request('/api/v1/tasks', bearer(user.accessToken, json({ title: SECRET_WORD })));
    expect([login.status, create.status]).toEqual([503, 503]);
    expectClean(allLines(), [PASSWORD, SECRET_WORD, user.accessToken]);
  });

  it('Upstash down: neither the bearer token, the Idempotency-Key nor the body', async () => {
    allowConsoleErrors(/"status":503/);
    logs = captureInfoLogs();
    await app.fault({ upstash: 'down' });
    const key = `idem-${SECRET_WORD}`;
    const keyed = await app.request(
      '/api/v1/tasks',
      bearer(user.accessToken, json({ title: SECRET_WORD }, { headers: { 'idempotency-key': key } })),
    );
    expect(keyed.status).toBe(503);
    const read = await app.request('/api/v1/tasks', bearer(user.accessToken));
    expect(read.status).toBe(200);
    const login = await app.request('/api/v1/auth/login', json({ email: user.email, password: PASSWORD }));
    expect(login.status).toBe(503);
    expect(logs.lines.some((line) => line.includes('unavailable'))).toBe(true);
    expectClean(allLines(), [user.accessToken, hashToken(user.accessToken), key, SECRET_WORD, PASSWORD]);
  });

  it.each([
    ['a check violation', '/api/v1/_leak/constraint', { code: '23514', constraint: 'users_email_lower' }],
    ['a unique violation', '/api/v1/_leak/duplicate', { code: '23505', constraint: 'refresh_tokens_token_hash_key' }],
    ['a Postgres error quoting its input', '/api/v1/_leak/syntax', { code: '22P02' }],
  ])('%s: the SQLSTATE and constraint, no SQL, parameters or details', async (_what, path, expected) => {
    allowConsoleErrors(/unhandled error|"status":500/);
    logs = captureInfoLogs();
    const res = await app.request(path, json({ s: SECRET_WORD }));
    expect(res.status).toBe(500);
    expect(errorLine('unhandled error')?.error).toMatchObject({
      name: 'DrizzleQueryError',
      causes: ['NeonDbError'],
      ...expected,
    });
    expectClean(allLines(), [SECRET_WORD, SECRET_HASH, hashToken(SECRET_WORD), 'UPPER-']);
  });

  it('an unexpected throw whose message echoes its input', async () => {
    allowConsoleErrors(/unhandled error|"status":500/);
    logs = captureInfoLogs();
    const res = await app.request('/api/v1/_leak/throw', json({ s: `${SECRET_WORD} and "correct horse 42"` }));
    expect(res.status).toBe(500);
    expect(errorLine('unhandled error')?.error).toMatchObject({ name: 'SyntaxError' });
    expectClean(allLines(), [SECRET_WORD, 'correct horse']);
  });
});

describe('describeError', () => {
  it('keeps the class, SQLSTATE, constraint and cause classes of a drizzle query error, never its text', () => {
    class NeonDbError extends Error {
      code = '23505';
      constraint = 'refresh_tokens_token_hash_key';
      detail = `Key (token_hash)=(${SECRET_WORD}) already exists.`;
    }
    const cause = new NeonDbError(`duplicate key value violates unique constraint "refresh_tokens_token_hash_key"`);
    const wrapped = Object.assign(new Error(`Failed query: insert into x values ($1)\nparams: ${SECRET_WORD}`), {
      query: 'insert into x values ($1)',
      params: [SECRET_WORD],
      cause,
    });
    const described = describeError(wrapped);
    expect(described).toEqual({
      name: 'Error',
      code: '23505',
      constraint: 'refresh_tokens_token_hash_key',
      causes: ['NeonDbError'],
    });
  });

  it('names an error by the name it sets, not by a class name the bundler renamed', () => {
    // wrangler.toml keep_names = false: esbuild renames a class whose name collides with another
    // module's, and no longer restores `name` for it.
    const UpstashError2 = class extends Error {
      constructor(message: string) {
        super(message);
        this.name = 'UpstashError';
      }
    };
    expect(describeError(new UpstashError2('timed out')).name).toBe('UpstashError');
    expect(describeError(new DOMException('late', 'TimeoutError')).name).toBe('TimeoutError');
    const Plain2 = class extends Error {};
    expect(describeError(new Plain2('x')).name).toBe('Plain2');
  });

  it('blanks quoted text and token-like runs in other messages', () => {
    const token = 'aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5zA7bC9d';
    const described = describeError(new TypeError(`bad token ${token} for "ann@example.com"`));
    expect(described.name).toBe('TypeError');
    expect(described.message).toBe('bad token [redacted] for "…"');
    expect(describeError('a string')).toEqual({ name: 'string', message: 'non-Error value thrown' });
  });
});
