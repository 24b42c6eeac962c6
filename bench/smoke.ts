/**
 * The synthetic check: a short user journey against any deployment, local or production.
 *
 *   npm run smoke -- http://127.0.0.1:8787            (npm run dev in another terminal)
 *   npm run smoke -- https://edgetask.example.workers.dev --timeout 5000 --quiet
 *
 * Health and readiness, then a fresh account: register, log in, create a task, find it in the list,
 * change it with its version, delete it and see it gone, rotate the refresh token, log out, and see
 * the logged-out token refused. Each step checks the status and the fields that matter and prints
 * one line; the first failure prints what was expected, what came back (the problem's code and
 * detail) and the request id to look up in Workers Logs, and exits 1. Usage errors exit 2.
 *
 * It sets no CF-Connecting-IP (production takes the client address from the connection) and makes
 * 5 calls to the per-IP-limited auth routes: 4 runs a minute from one address fit in the 20 per
 * minute, a fifth fails at register with 429. Each request carries an X-Request-ID of the run
 * (`smoke-<run>-<n>`, printed at the start) to find it in the logs. Tokens and the password are
 * never printed. Every run leaves its account behind (there is no account deletion route yet).
 */
import { parseArgs } from 'node:util';

const USAGE = `usage: npm run smoke -- <base-url> [--timeout <ms>] [--quiet]

  <base-url>       the deployment, http(s), e.g. http://127.0.0.1:8787
  --timeout <ms>   per request, default 10000
  --quiet          no line per step: only a failure, or the summary line

exit status: 0 the journey passed, 1 a step failed, 2 usage error`;

interface Options {
  base: URL;
  timeoutMs: number;
  quiet: boolean;
}

function usage(message?: string): never {
  if (message) console.error(`smoke: ${message}\n`);
  console.error(USAGE);
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const parse = () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        timeout: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const [url, ...extra] = parsed.positionals;
  if (!url) usage('the base URL is missing');
  if (extra.length > 0) usage(`unexpected arguments: ${extra.join(' ')}`);
  if (!URL.canParse(url)) usage(`not a URL: ${url}`);
  const base = new URL(url);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') usage(`not an http(s) URL: ${url}`);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  const timeoutMs = parsed.values.timeout === undefined ? 10_000 : Number(parsed.values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) usage(`--timeout wants a positive whole number of ms`);
  return { base, timeoutMs, quiet: parsed.values.quiet };
}

/** Why the journey stopped, in words a person on call can act on. */
class StepFailure extends Error {
  readonly step: string;
  readonly reason: string;
  readonly details: string[];
  constructor(step: string, reason: string, details: string[] = []) {
    super(`${step}: ${reason}`);
    this.step = step;
    this.reason = reason;
    this.details = details;
  }
}

interface Answer {
  status: number;
  body: unknown;
  requestId: string;
}

type Json = Record<string, unknown>;

const runId = `smoke-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
let calls = 0;

/**
 * One request. Fails the step when the request cannot be made, times out, or answers another
 * status than expected; the failure carries the problem's code and detail and the request id, never
 * the body of a success (it may hold tokens).
 */
async function request(
  options: Options,
  step: string,
  method: string,
  path: string,
  expected: number[],
  init: { body?: unknown; token?: string } = {},
): Promise<Answer> {
  const url = new URL(path.replace(/^\//, ''), options.base);
  const sentId = `${runId}-${++calls}`;
  const headers: Record<string, string> = { accept: 'application/json', 'x-request-id': sentId };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: init.body === undefined ? null : JSON.stringify(init.body),
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    throw new StepFailure(step, `${method} ${url.href} failed: ${describeFetchError(error, options.timeoutMs)}`, [
      `request id sent: ${sentId}`,
    ]);
  }
  const requestId = res.headers.get('x-request-id') ?? `(none; sent ${sentId})`;
  const text = await res.text().catch(() => '');
  const contentType = res.headers.get('content-type') ?? '';
  let body: unknown = undefined;
  if (/json/i.test(contentType) && text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }
  if (!expected.includes(res.status)) {
    const details = [`expected status ${expected.join(' or ')}, got ${res.status} ${res.statusText}`.trimEnd()];
    if (isObject(body) && typeof body.code === 'string') {
      details.push(`problem: ${body.code}${typeof body.detail === 'string' ? `: ${body.detail}` : ''}`);
      if (Array.isArray(body.errors)) {
        for (const e of body.errors.slice(0, 5)) {
          if (isObject(e)) details.push(`  ${String(e.pointer)}: ${String(e.message)}`);
        }
      }
      if (isObject(body.checks)) details.push(`checks: ${JSON.stringify(body.checks)}`);
    } else {
      details.push(`body: ${contentType || 'no content type'}, ${text.length} bytes`);
    }
    const retryAfter = res.headers.get('retry-after');
    if (retryAfter) details.push(`retry after: ${retryAfter} s`);
    details.push(`request id: ${requestId}`);
    throw new StepFailure(step, `${method} ${url.pathname}${url.search} answered ${res.status}`, details);
  }
  return { status: res.status, body, requestId };
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs} ms`;
  }
  if (error instanceof Error) {
    const cause = error.cause;
    if (cause instanceof Error) {
      const code = (cause as { code?: unknown }).code;
      return `${typeof code === 'string' ? `${code}: ` : ''}${cause.message}`;
    }
    return error.message;
  }
  return String(error);
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A field check: fails the step with the request id of the answer that did not fit. */
function expectThat(condition: boolean, step: string, answer: Answer, what: string): void {
  if (!condition) throw new StepFailure(step, what, [`request id: ${answer.requestId}`]);
}

const field = (body: unknown, name: string): unknown => (isObject(body) ? body[name] : undefined);
const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

async function journey(options: Options, say: (line: string) => void): Promise<number> {
  let steps = 0;
  const step = async <T>(name: string, work: (name: string) => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work(name);
    steps++;
    say(`ok  ${name}  ${Math.round(performance.now() - started)} ms`);
    return result;
  };

  await step('GET /health', async (name) => {
    const a = await request(options, name, 'GET', '/health', [200]);
    expectThat(field(a.body, 'status') === 'ok', name, a, 'status is not "ok"');
  });

  await step('GET /health/ready', async (name) => {
    const a = await request(options, name, 'GET', '/health/ready', [200]);
    expectThat(field(a.body, 'status') === 'ready', name, a, 'status is not "ready"');
  });

  const email = `smoke+${Date.now()}-${Math.random().toString(36).slice(2, 10)}@example.com`;
  const password = `Smoke ${crypto.randomUUID()} 42`;

  await step('register', async (name) => {
    const a = await request(options, name, 'POST', '/api/v1/auth/register', [201], {
      body: { email, password, full_name: 'Smoke Test' },
    });
    expectThat(isText(field(a.body, 'access_token')), name, a, 'no access_token');
    expectThat(isText(field(a.body, 'refresh_token')), name, a, 'no refresh_token');
    expectThat(field(field(a.body, 'user'), 'email') === email, name, a, 'user.email is not the address registered');
  });

  const session = await step('login', async (name) => {
    const a = await request(options, name, 'POST', '/api/v1/auth/login', [200], { body: { email, password } });
    const access = field(a.body, 'access_token');
    const refresh = field(a.body, 'refresh_token');
    expectThat(isText(access) && isText(refresh), name, a, 'no access_token or refresh_token');
    expectThat(field(a.body, 'token_type') === 'Bearer', name, a, 'token_type is not Bearer');
    return { access: access as string, refresh: refresh as string };
  });

  const dueDate = new Date(Date.now() + 86_400_000).toISOString();
  const task = await step('create task', async (name) => {
    const a = await request(options, name, 'POST', '/api/v1/tasks', [201], {
      token: session.access,
      body: { title: 'Smoke test task', description: 'Made by npm run smoke', due_date: dueDate, priority: 'high' },
    });
    const id = field(a.body, 'id');
    const version = field(a.body, 'version');
    expectThat(isText(id), name, a, 'no id');
    expectThat(version === 1, name, a, `version is ${JSON.stringify(version)}, expected 1`);
    expectThat(field(a.body, 'status') === 'todo', name, a, 'status is not "todo"');
    expectThat(
      Date.parse(String(field(a.body, 'due_date'))) === Date.parse(dueDate),
      name,
      a,
      'due_date is not the one sent',
    );
    return { id: id as string, version: version as number };
  });

  await step('list tasks', async (name) => {
    const a = await request(options, name, 'GET', '/api/v1/tasks?limit=100', [200], { token: session.access });
    const items = field(a.body, 'items');
    const total = field(a.body, 'total');
    expectThat(Array.isArray(items), name, a, 'no items');
    expectThat(typeof total === 'number' && total >= 1, name, a, `total is ${JSON.stringify(total)}, expected >= 1`);
    expectThat(
      (items as unknown[]).some((item) => field(item, 'id') === task.id),
      name,
      a,
      'the new task is not in the list',
    );
  });

  await step('update task', async (name) => {
    const a = await request(options, name, 'PATCH', `/api/v1/tasks/${task.id}`, [200], {
      token: session.access,
      body: { status: 'in_progress', title: 'Smoke test task, started', version: task.version },
    });
    const version = field(a.body, 'version');
    expectThat(
      version === task.version + 1,
      name,
      a,
      `version is ${JSON.stringify(version)}, expected ${task.version + 1}`,
    );
    expectThat(field(a.body, 'status') === 'in_progress', name, a, 'status is not "in_progress"');
  });

  await step('delete task', async (name) => {
    await request(options, name, 'DELETE', `/api/v1/tasks/${task.id}`, [204], { token: session.access });
  });

  await step('deleted task is gone', async (name) => {
    await request(options, name, 'GET', `/api/v1/tasks/${task.id}`, [404], { token: session.access });
  });

  const rotated = await step('refresh tokens', async (name) => {
    const a = await request(options, name, 'POST', '/api/v1/auth/refresh', [200], {
      body: { refresh_token: session.refresh },
    });
    const refresh = field(a.body, 'refresh_token');
    expectThat(isText(field(a.body, 'access_token')), name, a, 'no access_token');
    expectThat(isText(refresh), name, a, 'no refresh_token');
    expectThat(refresh !== session.refresh, name, a, 'the refresh token did not rotate');
    return refresh as string;
  });

  await step('logout', async (name) => {
    await request(options, name, 'POST', '/api/v1/auth/logout', [204], { body: { refresh_token: rotated } });
  });

  await step('logged-out token is refused', async (name) => {
    await request(options, name, 'POST', '/api/v1/auth/refresh', [401, 403], { body: { refresh_token: rotated } });
  });

  return steps;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const say = options.quiet ? () => {} : (line: string) => console.log(line);
  const target = options.base.href.replace(/\/$/, '');
  say(`smoke: ${target} (request ids ${runId}-*)`);
  const started = performance.now();
  try {
    const steps = await journey(options, say);
    console.log(`smoke passed: ${steps} steps in ${Math.round(performance.now() - started)} ms against ${target}`);
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
    console.error(`FAIL  ${error.step}: ${error.reason}`);
    for (const line of error.details) console.error(`      ${line}`);
    console.error(`smoke failed against ${target} after ${Math.round(performance.now() - started)} ms`);
    process.exitCode = 1;
  }
}

await main();
