import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { register, type Registered } from '../helpers/auth.ts';
import { createCategory, createTask } from '../helpers/tasks.ts';
import { setupTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Property tests with generated hostile input against every route of the document: whatever comes
 * in, the answer is never a 5xx, every error is problem+json, and a refused write writes nothing.
 */

interface Operation {
  method: string;
  path: string;
  hasBody: boolean;
}

let app: TestApp;
let user: Registered;
let operations: Operation[];
let realIds: { task: string; category: string };

beforeAll(async () => {
  // A limit the fuzzer never reaches, so its requests get past the limiter to the validation.
  app = await setupTestApp({ env: { RATE_LIMIT_USER_PER_MINUTE: '100000' } });
  user = await register(app);
  const task = await createTask(app, user.accessToken);
  const category = await createCategory(app, user.accessToken, 'Fuzz target');
  realIds = { task: task.id, category: category.id };
  const doc = await (
    await app.request('/openapi.json')
  ).json<{ paths: Record<string, Record<string, { requestBody?: unknown }>> }>();
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      hasBody: op.requestBody !== undefined,
    })),
  );
});

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    '\u0000',
    '\ud800',
    'a\u0000b',
    '../../etc/passwd',
    "' or 1=1 --",
    '<script>',
    '%00',
    'x'.repeat(5000),
    '',
    ' ',
  ),
);
const hostileValue = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER + 2, -0, 2 ** 31, null, true, false),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);
const knownKeys = fc.constantFrom(
  'title',
  'description',
  'due_date',
  'priority',
  'status',
  'version',
  'name',
  'color',
  'email',
  'password',
  'full_name',
  'refresh_token',
  'token',
  'current_password',
  'new_password',
  'user_id',
  'id',
  'deleted_at',
  '__proto__',
  'constructor',
);
const hostileBody = fc.oneof(
  fc.dictionary(knownKeys, hostileValue, { maxKeys: 6 }).map((o) => JSON.stringify(o)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  hostileString,
  fc.constantFrom(
    '{"title":"a","title":"b"}',
    '{"__proto__":{"admin":true},"title":"abc"}',
    '[]',
    'null',
    '{',
    '{"a":' + '['.repeat(500),
  ),
);
const pathParam = fc.oneof(
  fc.uuid().map(String),
  // A lone surrogate cannot be percent-encoded; send invalid UTF-8 in its place.
  hostileString.map((s) => (s.isWellFormed() ? encodeURIComponent(s).slice(0, 200) : '%ED%A0%80')),
  fc.constantFrom('REAL', '%00', '%ZZ', '..'),
);
const query = fc.dictionary(
  fc.constantFrom('page', 'limit', 'status', 'priority', 'due_from', 'due_to', 'sort', 'category_id', 'x'),
  hostileString.map((s) => s.slice(0, 100)),
  { maxKeys: 4 },
);
const contentType = fc.constantFrom(
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  undefined,
  'application/json; charset=latin1',
);

async function liveRows(): Promise<number> {
  const [row] = await app.sql`select (select count(*) from tasks where user_id = ${user.userId} and deleted_at is null)
    + (select count(*) from categories where user_id = ${user.userId}) as n`;
  return Number(row?.n);
}

describe('hostile input never breaks the API', () => {
  it('every route: no 5xx, problem+json on errors, nothing written on a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        hostileBody,
        pathParam,
        pathParam,
        query,
        contentType,
        fc.boolean(),
        async (pick, body, first, second, params, type, withToken) => {
          const op = operations[pick % operations.length]!;
          // Not worth fuzzing: it ends the test user's sessions or the account itself.
          if (/logout|account$|sessions\/|change-password|reset-password/.test(op.path) && withToken) return;
          const ids = [first === 'REAL' ? realIds.task : first, second === 'REAL' ? realIds.category : second];
          const path = op.path.replace(/\{[^}]+\}/g, () => ids.shift() ?? 'x');
          const search = new URLSearchParams(params).toString();
          const headers: Record<string, string> = {};
          if (type) headers['content-type'] = type;
          if (withToken) headers.authorization = `Bearer ${user.accessToken}`;
          const before = await liveRows();
          const res = await app.request(`${path}${search ? `?${search}` : ''}`, {
            method: op.method,
            headers,
            ...(op.hasBody && op.method !== 'GET' ? { body } : {}),
          });
          expect(res.status, `${op.method} ${path} -> ${res.status}`).toBeLessThan(500);
          if (res.status >= 400) {
            expect(res.headers.get('content-type')).toBe('application/problem+json');
            const problem = await res.json<{ status: number; code: string }>();
            expect(problem.status).toBe(res.status);
            expect(await liveRows()).toBe(before);
          } else {
            await res.body?.cancel();
          }
        },
      ),
      { numRuns: 300, interruptAfterTimeLimit: 60_000 },
    );
  }, 120_000);
});
