/**
 * Worker CPU per request (issue 17): the production bundle and a "floor" Worker of our own that
 * makes the same round trips (bench/cpu/floor-worker.js), each on its own bare workerd process,
 * against the stand-ins with no injected latency. Closed-loop blocks of requests alternate between
 * the two; each workerd's CPU (utime + stime from /proc) is read around each block. The ratio
 * project / floor is the result: the absolute numbers depend on the machine.
 *
 *   npm run bench:cpu                       2000 requests per route and block, 3 repeats
 *   npm run bench:cpu -- --requests 300     a quicker run
 *   npm run bench:cpu -- --smoke            50 requests, 1 repeat, no results file; exit 1 on errors
 *   npm run bench:cpu -- --only tasks --cpu-profile   some routes, with a V8 profile of the project
 *   npm run bench:cpu -- --help
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { neon, neonConfig } from '@neondatabase/serverless';
import { applyMigrations } from '../drizzle/migrator.ts';
import { freePort } from '../dev/stand-ins/real-servers.ts';
import { startStandIns } from '../dev/stand-ins/server.ts';
import { signAccessToken } from '../src/lib/jwt.ts';
import { Inspector, summarizeProfile, type CpuProfile } from './load/profiler.ts';
import { seedDatabase, type SeededUser } from './load/seed.ts';
import { startWorkerd, tail, workerdConfig, type RunningWorkerd, type WorkerdOptions } from './load/workerd.ts';

const root = path.resolve(import.meta.dirname, '..');

const HELP = `usage: npm run bench:cpu -- [options]

  --requests N      measured requests per route, worker and repeat (default 2000)
  --repeats N       measured blocks per route and worker; the median is reported (default 3)
  --connections N   concurrent closed-loop connections (default 8)
  --warmup N        unmeasured requests per route and worker first (default 200)
  --out FILE        results file (default bench/results/cpu.json; smoke: none)
  --skip-build      use the existing dist/index.js instead of running npm run build
  --only TEXT       only the routes whose name contains TEXT, or \`cold\` for the cold start alone
                    (no results file unless --out is given)
  --cpu-profile     a V8 profile of the project Worker over each route's measured blocks, summed by
                    package, src/ folder and function (sampling costs CPU: take the ratios from a
                    run without it); the raw profiles go to .data/cpu-profiles/
  --smoke           50 requests, 1 repeat, 50 warm-up: a check that it all works
  --help

exit status: 0 measured (whatever the ratios), 1 request errors or a broken set-up, 2 usage error`;

function usage(message: string): never {
  process.stderr.write(`bench:cpu: ${message}\n\n${HELP}\n`);
  process.exit(2);
}

const say = (line: string) => process.stdout.write(`[cpu] ${line}\n`);

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        requests: { type: 'string' },
        repeats: { type: 'string' },
        connections: { type: 'string', default: '8' },
        warmup: { type: 'string' },
        out: { type: 'string' },
        'skip-build': { type: 'boolean', default: false },
        only: { type: 'string' },
        'cpu-profile': { type: 'boolean', default: false },
        smoke: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    usage((error as Error).message);
  }
})();
if (values.help) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}
const count = (name: string, value: string | undefined, fallback: number) => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) usage(`--${name} wants a whole number of at least 1, got "${value}"`);
  return n;
};
const options = {
  requests: count('requests', values.requests, values.smoke ? 50 : 2000),
  repeats: count('repeats', values.repeats, values.smoke ? 1 : 3),
  connections: count('connections', values.connections, 8),
  warmup: count('warmup', values.warmup, values.smoke ? 50 : 200),
  out: values.out
    ? path.resolve(values.out)
    : values.smoke || values.only !== undefined
      ? null
      : path.join(root, 'bench/results/cpu.json'),
  skipBuild: values['skip-build'],
  only: values.only,
  cpuProfile: values['cpu-profile'],
  smoke: values.smoke,
};
// A user's tasks by role: [0] read by the cache-hit route, [1] edited by PATCH, the rest read
// once each by the cache-miss route of GET /tasks/{id}: enough users that the project never reads
// a task twice there (nor does the floor, whose cache works the same way).
const TASKS_PER_USER = 50;
const MISS_TASKS_PER_USER = TASKS_PER_USER - 2;
const USERS = Math.max(20, Math.ceil((options.warmup + options.requests * options.repeats) / MISS_TASKS_PER_USER) + 1);

// Everything started is stopped on the way out.
const cleanups: (() => Promise<void>)[] = [];
let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => process.stderr.write(`[cpu] cleanup: ${String(error)}\n`));
    }
  }
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void shutdown(130));
process.on('uncaughtException', (error) => {
  process.stderr.write(`[cpu] ${error.stack ?? error.message}\n`);
  void shutdown(1);
});
async function fail(message: string): Promise<never> {
  process.stderr.write(`[cpu] ${message}\n`);
  return shutdown(1);
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed (${code}):\n${output}`)),
    );
  });
}

/** A default server's URL when something answers on its port (as bench:load picks its backends). */
function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
async function backendUrl(given: string | undefined, fallback: string): Promise<string | undefined> {
  if (given) return given;
  return (await answers(fallback)) ? fallback : undefined;
}

const TICKS_PER_SECOND = 100; // USER_HZ
/** utime + stime of a process (all its threads) in µs. */
function cpuMicros(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / TICKS_PER_SECOND;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

// 1. The production bundle and wrangler's reading of wrangler.toml.
const started = Date.now();
if (!options.skipBuild) {
  say('building the production bundle (npm run build)...');
  await run('npm', ['run', 'build', '--silent']).catch((error: unknown) => fail(String(error)));
}
const bundle = path.join(root, 'dist/index.js');
const floorBundle = path.join(import.meta.dirname, 'cpu/floor-worker.js');
if (!fs.existsSync(bundle)) await fail(`${bundle} is missing: run npm run build`);
interface WranglerConfig {
  compatibility_date?: string;
  compatibility_flags: string[];
  vars: Record<string, unknown>;
  analytics_engine_datasets: { binding: string; dataset?: string }[];
}
const { unstable_readConfig } = (await import('wrangler')) as unknown as {
  unstable_readConfig: (args: { config: string }) => WranglerConfig;
};
const wrangler = unstable_readConfig({ config: path.join(root, 'wrangler.toml') });
if (!wrangler.compatibility_date) await fail('wrangler.toml has no compatibility_date');

// 2. Stand-ins with no injected latency (the CPU, not the wait, is measured), a fresh database.
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetask-cpu-'));
cleanups.push(() => Promise.resolve(fs.rmSync(workDir, { recursive: true, force: true })));
const postgresUrl = await backendUrl(process.env.STANDINS_POSTGRES_URL, 'postgres://postgres@127.0.0.1:5432/postgres');
const redisUrl = await backendUrl(process.env.STANDINS_REDIS_URL, 'redis://127.0.0.1:6379');
const standIns = await startStandIns({
  backend: 'real',
  ...(postgresUrl ? { postgresUrl } : {}),
  ...(redisUrl ? { redisUrl } : {}),
  upstashToken: randomBytes(24).toString('base64url'),
  latencyMs: { neon: 0, upstash: 0 },
  dropCreatedDatabases: true,
}).catch((error: unknown) => fail(String(error)));
cleanups.push(() => standIns.close());
say(`stand-ins: ${standIns.description}; no injected latency`);
const database = `edgetask_cpu_${Date.now().toString(36)}`;
neonConfig.fetchEndpoint = standIns.neonFetchEndpoint;
const databaseUrl = `postgresql://bench:bench@cpu.local/${database}`;
await applyMigrations(neon(databaseUrl));
const sqlPool = await standIns.sql.pool(database);
// Each Worker has users of its own: the floor's writes (its made-up position keys, its version
// bumps) never reach the rows the project reads and computes from.
const users: SeededUser[] = await seedDatabase(sqlPool, { users: 2 * USERS, tasksPerUser: TASKS_PER_USER });
say(`seeded ${2 * USERS} users with ${TASKS_PER_USER} tasks each (database ${database})`);

// 3. Both Workers with the same bindings. The per-user and per-IP rate limits are raised to their
// maximum: the bench sends thousands of requests a minute per user, which the defaults (100 and 20
// a minute) would refuse; the limiter's round trip and CPU stay the same.
const jwtKeys = [{ kid: 'bench-1', secret: randomBytes(32).toString('base64url') }];
const vars: Record<string, string> = {
  ...Object.fromEntries(Object.entries(wrangler.vars).map(([k, v]) => [k, String(v)])),
  RATE_LIMIT_USER_PER_MINUTE: '100000',
  RATE_LIMIT_IP_PER_MINUTE: '100000',
  DATABASE_URL: databaseUrl,
  NEON_FETCH_ENDPOINT: standIns.neonFetchEndpoint,
  UPSTASH_REDIS_REST_URL: `${standIns.upstashUrl}/ns/${database}`,
  UPSTASH_REDIS_REST_TOKEN: standIns.upstashToken,
  JWT_KEYS: jwtKeys.map((k) => `${k.kid}:${k.secret}`).join(','),
  EMAIL_PROVIDER: 'outbox',
  EMAIL_OUTBOX_URL: `${standIns.neonUrl}/_control/outbox`,
};
const workerdOptions = (name: string, workerBundle: string, port: number): WorkerdOptions => {
  const dir = path.join(workDir, name);
  fs.mkdirSync(dir, { recursive: true });
  return {
    bundle: workerBundle,
    workDir: dir,
    port,
    compatibilityDate: wrangler.compatibility_date!,
    compatibilityFlags: wrangler.compatibility_flags,
    vars,
    analyticsEngineDatasets: Object.fromEntries(
      wrangler.analytics_engine_datasets.map((d) => [d.binding, d.dataset ?? d.binding]),
    ),
  };
};

type Target = 'project' | 'floor';
const bundles: Record<Target, string> = { project: bundle, floor: floorBundle };
const workers = {} as Record<Target, RunningWorkerd>;
const inspectorPort = options.cpuProfile ? await freePort() : undefined;
for (const target of ['project', 'floor'] as const) {
  const worker = await startWorkerd({
    ...workerdOptions(target, bundles[target], await freePort()),
    ...(target === 'project' && inspectorPort ? { inspectorPort } : {}),
  }).catch((error: unknown) => fail(String(error)));
  cleanups.push(() => worker.stop());
  workers[target] = worker;
  say(`${target}: workerd ${worker.url} (pid ${worker.pid})`);
}
const inspector = inspectorPort ? await Inspector.connect(`http://127.0.0.1:${inspectorPort}`) : undefined;
if (inspector) cleanups.push(() => Promise.resolve(inspector.close()));

const tokens = new Map<string, string>();
async function mintTokens() {
  for (const user of users) {
    const { token } = await signAccessToken(
      { userId: user.id, sessionId: user.sessionId, emailVerified: true, timeZone: 'UTC' },
      { keys: jwtKeys, issuer: vars.JWT_ISSUER!, audience: vars.JWT_AUDIENCE! },
      new Date(),
    );
    tokens.set(user.id, token);
  }
}

// 4. The routes. `make(n)` builds request n of a route for a worker (n counts on across warm-up and
// repeats, so requests that must touch something new each time can).
interface Request {
  method: string;
  path: string;
  user: SeededUser;
  body?: unknown;
}
interface Route {
  name: string;
  expected: number;
  /** The X-Cache header both Workers must answer with, when the route is about the cache. */
  cache?: 'hit' | 'miss';
  make(target: Target, n: number): Request;
  /** Called with each good answer (to learn versions and ids). */
  seen?(target: Target, n: number, body: string): void;
}
/** Request n's user: the project's users are the first half, the floor's the second. */
const userAt = (target: Target, n: number) => users[(n % USERS) + (target === 'floor' ? USERS : 0)]!;
// Tasks made by POST /tasks, deleted by DELETE /tasks/{id}: one list per worker.
const created: Record<Target, { user: SeededUser; id: string }[]> = { project: [], floor: [] };
const versions = new Map<string, number>();

const routes: Route[] = [
  {
    name: 'GET /health',
    expected: 200,
    make: (target, n) => ({ method: 'GET', path: '/health', user: userAt(target, n) }),
  },
  {
    name: 'GET /api/v1/auth/me',
    expected: 200,
    make: (target, n) => ({ method: 'GET', path: '/api/v1/auth/me', user: userAt(target, n) }),
  },
  {
    // The same URL per user again and again: the warm-up's first request per user fills the cache.
    name: 'GET /api/v1/tasks (cache hit)',
    expected: 200,
    cache: 'hit',
    make: (target, n) => ({ method: 'GET', path: '/api/v1/tasks?limit=20', user: userAt(target, n) }),
  },
  {
    // A parameter the API ignores but the cache key includes (the raw query): a new key each time,
    // so the project misses and does all the work of the list, with the same 20 rows.
    name: 'GET /api/v1/tasks (cache miss)',
    expected: 200,
    cache: 'miss',
    make: (target, n) => ({ method: 'GET', path: `/api/v1/tasks?limit=20&bench=${n}`, user: userAt(target, n) }),
  },
  {
    // Each user's first task, read in the warm-up first.
    name: 'GET /api/v1/tasks/{id} (cache hit)',
    expected: 200,
    cache: 'hit',
    make: (target, n) => ({
      method: 'GET',
      path: `/api/v1/tasks/${userAt(target, n).tasks[0]!.id}`,
      user: userAt(target, n),
    }),
  },
  {
    // Every request reads a task not read before (the seed has enough of them: see USERS).
    name: 'GET /api/v1/tasks/{id} (cache miss)',
    expected: 200,
    cache: 'miss',
    make: (target, n) => {
      const user = userAt(target, n);
      const task = user.tasks[2 + Math.floor(n / USERS)];
      if (!task || Math.floor(n / USERS) >= MISS_TASKS_PER_USER) throw new Error(`no unread task left for ${n}`);
      return { method: 'GET', path: `/api/v1/tasks/${task.id}`, user };
    },
  },
  {
    name: 'POST /api/v1/tasks',
    expected: 201,
    make: (target, n) => ({
      method: 'POST',
      path: '/api/v1/tasks',
      user: userAt(target, n),
      body: { title: `CPU bench task ${n}`, priority: 'medium', description: 'Made by bench:cpu.' },
    }),
    seen: (target, n, body) =>
      created[target].push({ user: userAt(target, n), id: (JSON.parse(body) as { id: string }).id }),
  },
  {
    // One task per user, edited again and again with the version the last answer gave.
    name: 'PATCH /api/v1/tasks/{id}',
    expected: 200,
    make: (target, n) => {
      const user = userAt(target, n);
      const task = user.tasks[1]!;
      const key = `${target}:${task.id}`;
      return {
        method: 'PATCH',
        path: `/api/v1/tasks/${task.id}`,
        user,
        body: { title: `Edited by bench:cpu ${n}`, version: versions.get(key) ?? task.version },
      };
    },
    seen: (target, n, body) =>
      versions.set(`${target}:${userAt(target, n).tasks[1]!.id}`, (JSON.parse(body) as { version: number }).version),
  },
  {
    // The tasks the POST route made, one each.
    name: 'DELETE /api/v1/tasks/{id}',
    expected: 204,
    make: (target, n) => {
      const task = created[target][n];
      if (!task) throw new Error(`DELETE ${n}: only ${created[target].length} tasks were created`);
      return { method: 'DELETE', path: `/api/v1/tasks/${task.id}`, user: task.user };
    },
  },
];

const selected = options.only === undefined ? routes : routes.filter((r) => r.name.includes(options.only!));
const coldSelected = options.only === undefined || 'cold start'.includes(options.only);
if (selected.length === 0 && !coldSelected)
  usage(`--only "${options.only}" matches no route: ${routes.map((r) => r.name).join(', ')}`);
// DELETE removes what POST made: it cannot run alone.
if (selected.some((r) => r.name.startsWith('DELETE')) && !selected.some((r) => r.name.startsWith('POST'))) {
  selected.unshift(routes.find((r) => r.name.startsWith('POST'))!);
}

interface Block {
  requests: number;
  cpuMicros: number;
  wallMs: number;
  errors: number;
  statuses: Record<string, number>;
  cache: Record<string, number>;
  firstError?: string;
}

const sequence: Record<string, number> = {};
/** `requests` requests over `options.connections` closed loops; the worker's CPU around them. */
async function runBlock(route: Route, target: Target, requests: number): Promise<Block> {
  const worker = workers[target];
  const key = `${route.name}:${target}`;
  const block: Block = { requests, cpuMicros: 0, wallMs: 0, errors: 0, statuses: {}, cache: {} };
  let issued = 0;
  const loop = async () => {
    while (issued < requests) {
      issued++;
      const n = (sequence[key] = (sequence[key] ?? -1) + 1);
      let status = 'error';
      try {
        const request = route.make(target, n);
        const res = await fetch(`${worker.url}${request.path}`, {
          method: request.method,
          headers: {
            authorization: `Bearer ${tokens.get(request.user.id)}`,
            ...(request.body ? { 'content-type': 'application/json' } : {}),
          },
          ...(request.body ? { body: JSON.stringify(request.body) } : {}),
        });
        const body = await res.text();
        status = String(res.status);
        const cache = res.headers.get('x-cache');
        if (cache) block.cache[cache] = (block.cache[cache] ?? 0) + 1;
        if (res.status === route.expected) route.seen?.(target, n, body);
        else block.firstError ??= `${request.method} ${request.path} -> ${res.status}: ${body.slice(0, 300)}`;
      } catch (error) {
        block.firstError ??= String(error);
      }
      block.statuses[status] = (block.statuses[status] ?? 0) + 1;
      if (status !== String(route.expected)) block.errors++;
    }
  };
  const cpuBefore = cpuMicros(worker.pid);
  const wallBefore = performance.now();
  await Promise.all(Array.from({ length: options.connections }, loop));
  block.wallMs = performance.now() - wallBefore;
  block.cpuMicros = cpuMicros(worker.pid) - cpuBefore;
  return block;
}

interface RouteResult {
  route: string;
  projectMicrosPerRequest: number;
  floorMicrosPerRequest: number;
  ratio: number;
  target: number;
  pass: boolean;
  blocks: Record<Target, { microsPerRequest: number; wallMs: number; cache: Record<string, number> }[]>;
}
const results: RouteResult[] = [];
let errors = 0;
const errorLines: string[] = [];

for (const route of selected) {
  await mintTokens(); // access tokens live 15 minutes: fresh ones per route
  const blocks: Record<Target, Block[]> = { project: [], floor: [] };
  const check = (target: Target, block: Block, measured: boolean) => {
    if (block.errors > 0) {
      errors += block.errors;
      errorLines.push(
        `${route.name} on ${target}${measured ? '' : ' (warm-up)'}: ${block.errors} errors ${JSON.stringify(block.statuses)}; first: ${block.firstError}`,
      );
    }
  };
  for (const target of ['project', 'floor'] as const)
    check(target, await runBlock(route, target, options.warmup), false);
  const profiles: CpuProfile[] = [];
  for (let r = 0; r < options.repeats; r++) {
    for (const target of ['project', 'floor'] as const) {
      if (target === 'project') await inspector?.start();
      const block = await runBlock(route, target, options.requests);
      if (target === 'project' && inspector) profiles.push(await inspector.stop());
      check(target, block, true);
      blocks[target].push(block);
    }
  }
  if (inspector) reportProfiles(route.name, profiles);
  const perRequest = (target: Target) => median(blocks[target].map((b) => b.cpuMicros / b.requests));
  const project = perRequest('project');
  const floor = perRequest('floor');
  const target = route.name === 'GET /health' ? 2 : 1.5;
  const ratio = project / floor;
  results.push({
    route: route.name,
    projectMicrosPerRequest: Math.round(project),
    floorMicrosPerRequest: Math.round(floor),
    ratio: Math.round(ratio * 100) / 100,
    target,
    pass: ratio <= target,
    blocks: Object.fromEntries(
      (['project', 'floor'] as const).map((t) => [
        t,
        blocks[t].map((b) => ({
          microsPerRequest: Math.round(b.cpuMicros / b.requests),
          wallMs: Math.round(b.wallMs),
          cache: b.cache,
        })),
      ]),
    ) as RouteResult['blocks'],
  });
  // A cache route whose answers were not what it is named after measures the wrong thing: say so.
  // The floor keeps a cache of its own with the same round trips (bench/cpu/floor-worker.js).
  const cacheCounts = (target: Target) =>
    blocks[target].reduce<Record<string, number>>((sum, b) => {
      for (const [k, v] of Object.entries(b.cache)) sum[k] = (sum[k] ?? 0) + v;
      return sum;
    }, {});
  const cacheNote = route.cache ? ` (X-Cache ${JSON.stringify(cacheCounts('project'))})` : '';
  say(
    `${route.name}: project ${Math.round(project)} µs, floor ${Math.round(floor)} µs, ${ratio.toFixed(2)}x${cacheNote}`,
  );
  for (const target of ['project', 'floor'] as const) {
    const counts = cacheCounts(target);
    if (route.cache && (counts[route.cache] ?? 0) < options.requests * options.repeats) {
      errors++;
      errorLines.push(
        `${route.name} on ${target}: expected every answer to be a cache ${route.cache}, got ${JSON.stringify(counts)}`,
      );
    }
  }
}

/** The route's profiles summed: where the project's CPU goes, by package, src/ folder and function. */
function reportProfiles(
  routeName: string,
  profiles: CpuProfile[],
  requests = options.requests * profiles.length,
): void {
  const dir = path.join(root, '.data/cpu-profiles');
  fs.mkdirSync(dir, { recursive: true });
  const slug = routeName
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();
  profiles.forEach((profile, i) =>
    fs.writeFileSync(path.join(dir, `${slug}-${i + 1}.cpuprofile`), JSON.stringify(profile)),
  );
  const summaries = profiles.map((profile) => summarizeProfile(profile, bundle));
  const sum = (pick: (s: (typeof summaries)[number]) => { key: string; ms: number }[]) => {
    const totals = new Map<string, number>();
    for (const s of summaries) for (const { key, ms } of pick(s)) totals.set(key, (totals.get(key) ?? 0) + ms);
    return [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  };
  const busy = summaries.reduce((total, s) => total + s.busyMs, 0);
  const line = ([key, ms]: [string, number]) =>
    `    ${String(Math.round((ms * 1000) / requests)).padStart(5)} µs/req  ${((ms / busy) * 100).toFixed(1).padStart(5)}%  ${key}`;
  say(
    `${routeName}: profile, ${Math.round((busy * 1000) / requests)} µs/req sampled (${path.relative(root, dir)}/${slug}-*.cpuprofile)`,
  );
  say('  by package or src/ folder:');
  for (const entry of sum((s) => s.byModule.map((m) => ({ key: m.module, ms: m.ms })))) say(line(entry));
  say('  by function:');
  for (const entry of sum((s) => s.byFunction.map((f) => ({ key: f.name, ms: f.ms })))) say(line(entry));
}

// 5. Cold start: a fresh workerd per Worker, from spawn to the first answer, and the process's CPU
// until then. Two first requests: /health, and a task list that misses the cache (the work of a
// real client's first call: token, rate limit, Neon, the cache fill). Repeated as the routes are;
// the median is reported.
interface ColdRequest {
  name: string;
  path: (run: number) => string;
  /** The request carries this user's token (the project's users for the project, the floor's for the floor). */
  authorized: boolean;
}
const coldRequests: ColdRequest[] = [
  { name: 'GET /health', path: () => '/health', authorized: false },
  {
    name: 'GET /api/v1/tasks (cache miss)',
    // A new cache key per run and worker: both Workers do the whole list.
    path: (run) => `/api/v1/tasks?limit=20&cold=${run}`,
    authorized: true,
  },
];
/**
 * One cold start. With `profile`, workerd also opens its inspector, and the first request runs
 * under the V8 profiler once the inspector answers: what the first request costs after the
 * isolate's startup (lazy imports, first-call compilation). Startup itself runs before any
 * inspector can attach. The timings of a profiled run are not used.
 */
async function coldStart(
  target: Target,
  request: ColdRequest,
  run: number,
  profile?: (profile: CpuProfile) => void,
): Promise<{ wallMs: number; cpuMs: number }> {
  const options_ = workerdOptions(`cold-${target}`, bundles[target], await freePort());
  const configFile = path.join(options_.workDir, 'workerd.capnp');
  fs.writeFileSync(configFile, workerdConfig(options_, options_.workDir), { mode: 0o600 });
  const binary = path.join(root, 'node_modules/workerd/bin/workerd');
  const headers: Record<string, string> = request.authorized
    ? { authorization: `Bearer ${tokens.get(userAt(target, run).id)}` }
    : {};
  const url = `http://127.0.0.1:${options_.port}${request.path(run)}`;
  const coldInspectorPort = profile ? await freePort() : undefined;
  const args = ['serve', configFile, ...(coldInspectorPort ? [`--inspector-addr=127.0.0.1:${coldInspectorPort}`] : [])];
  const begin = performance.now();
  const child = spawn(binary, args, { cwd: options_.workDir, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let coldInspector: Inspector | undefined;
  try {
    const deadline = Date.now() + 20_000;
    while (coldInspectorPort && !coldInspector && Date.now() < deadline) {
      coldInspector = await Inspector.connect(`http://127.0.0.1:${coldInspectorPort}`).catch(() => undefined);
      if (!coldInspector) await new Promise((r) => setTimeout(r, 20));
    }
    await coldInspector?.start();
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${target}: workerd exited (${child.exitCode}) while starting`);
      let res: Response;
      try {
        res = await fetch(url, { headers });
      } catch {
        // not listening yet
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      const body = await res.text();
      if (!res.ok) throw new Error(`${target}: cold ${request.name} -> ${res.status}: ${body.slice(0, 300)}`);
      const wallMs = performance.now() - begin;
      const cpuMs = cpuMicros(child.pid!) / 1000;
      if (coldInspector) profile?.(await coldInspector.stop());
      return { wallMs, cpuMs };
    }
    throw new Error(`${target}: workerd did not answer ${request.name} within 20 s`);
  } finally {
    coldInspector?.close();
    child.kill('SIGTERM');
    await exited;
  }
}
type ColdStart = { wallMs: number; cpuMs: number; runs: { wallMs: number; cpuMs: number }[] };
interface ColdResult {
  request: string;
  project: ColdStart;
  floor: ColdStart;
  ratio: { wall: number; cpu: number };
}
const colds: ColdResult[] = [];
if (coldSelected) {
  await mintTokens();
  for (const request of coldRequests) {
    const runs: Record<Target, { wallMs: number; cpuMs: number }[]> = { project: [], floor: [] };
    for (let r = 0; r < Math.max(3, options.repeats); r++) {
      for (const target of ['project', 'floor'] as const) runs[target].push(await coldStart(target, request, r));
    }
    const measured = {} as Record<Target, ColdStart>;
    for (const target of ['project', 'floor'] as const) {
      measured[target] = {
        wallMs: Math.round(median(runs[target].map((x) => x.wallMs))),
        cpuMs: Math.round(median(runs[target].map((x) => x.cpuMs))),
        runs: runs[target].map((x) => ({ wallMs: Math.round(x.wallMs), cpuMs: Math.round(x.cpuMs) })),
      };
    }
    if (options.cpuProfile) {
      const profiles: CpuProfile[] = [];
      for (let r = 0; r < 3; r++) await coldStart('project', request, 1000 + r, (p) => profiles.push(p));
      reportProfiles(`cold ${request.name}`, profiles, profiles.length);
    }
    colds.push({
      request: request.name,
      ...measured,
      ratio: {
        wall: measured.project.wallMs / measured.floor.wallMs,
        cpu: measured.project.cpuMs / measured.floor.cpuMs,
      },
    });
  }
}

// 6. The report.
const pad = (text: string, width: number) => text.padEnd(width);
const lines = [
  '',
  `${pad('route', 38)} | project µs/req | floor µs/req | ratio`,
  `${'-'.repeat(38)}-|----------------|--------------|------`,
  ...results.map(
    (r) =>
      `${pad(r.route, 38)} | ${String(r.projectMicrosPerRequest).padStart(14)} | ${String(r.floorMicrosPerRequest).padStart(12)} | ${r.ratio.toFixed(2)}x`,
  ),
  '',
  ...colds.map(
    (c) =>
      `cold start, first request ${c.request} (median of ${c.project.runs.length}): project ${c.project.wallMs} ms wall, ${c.project.cpuMs} ms CPU; floor ${c.floor.wallMs} ms wall, ${c.floor.cpuMs} ms CPU (${c.ratio.wall.toFixed(2)}x wall, ${c.ratio.cpu.toFixed(2)}x CPU)`,
  ),
  ...(colds.length ? [''] : []),
  'targets (a measurement, not a gate):',
  ...results.map(
    (r) => `${r.pass ? 'PASS' : 'FAIL'} ${r.route}: ${r.ratio.toFixed(2)}x the floor (target ${r.target}x)`,
  ),
  ...colds.flatMap((c) => [
    `${c.ratio.wall <= 2 ? 'PASS' : 'FAIL'} cold start, ${c.request}, wall: ${c.ratio.wall.toFixed(2)}x the floor (target 2x)`,
    `${c.ratio.cpu <= 2 ? 'PASS' : 'FAIL'} cold start, ${c.request}, CPU: ${c.ratio.cpu.toFixed(2)}x the floor (target 2x)`,
  ]),
];
process.stdout.write(`${lines.join('\n')}\n\n`);

const report = {
  benchmark: 'edgetask Worker CPU per request, project vs floor',
  generatedAt: new Date().toISOString(),
  command: `npm run bench:cpu -- ${process.argv.slice(2).join(' ')}`.trim(),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    workerd: (
      JSON.parse(fs.readFileSync(path.join(root, 'node_modules/workerd/package.json'), 'utf8')) as { version: string }
    ).version,
  },
  options: {
    requests: options.requests,
    repeats: options.repeats,
    connections: options.connections,
    warmup: options.warmup,
    usersPerWorker: USERS,
    tasksPerUser: TASKS_PER_USER,
    smoke: options.smoke,
    latencyMs: { neon: 0, upstash: 0 },
    rateLimitsRaisedTo: { RATE_LIMIT_USER_PER_MINUTE: 100000, RATE_LIMIT_IP_PER_MINUTE: 100000 },
    compatibilityDate: wrangler.compatibility_date!,
  },
  routes: results,
  coldStarts: colds.map((c) => ({
    ...c,
    ratio: { wall: Math.round(c.ratio.wall * 100) / 100, cpu: Math.round(c.ratio.cpu * 100) / 100 },
  })),
  errors,
  errorLines,
  elapsedS: Math.round((Date.now() - started) / 1000),
};
if (options.out) {
  fs.mkdirSync(path.dirname(options.out), { recursive: true });
  fs.writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  say(`wrote ${path.relative(process.cwd(), options.out)}`);
}
if (errors > 0) {
  for (const line of errorLines) process.stderr.write(`[cpu] ${line}\n`);
  for (const target of ['project', 'floor'] as const) {
    process.stderr.write(`[cpu] ${target} workerd log:\n${tail(workers[target].logFile, 5)}\n`);
  }
  await fail(`${errors} errors: the ratios above are not to be trusted`);
}
await shutdown(0);
