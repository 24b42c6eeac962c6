/**
 * The open-loop load benchmark: the production bundle on bare workerd, the stand-ins on real
 * PostgreSQL and Redis with latency injected per round trip, 1,000 seeded users, and a generator
 * in its own process sending a fixed mix of task requests at constant arrival rates.
 *
 *   npm run bench:load                             default profile (Neon 20 ms, Upstash 5 ms)
 *   npm run bench:load -- --profile co-located     Neon 2 ms, Upstash 1 ms
 *   npm run bench:load -- --smoke                  10 s at one low rate, small seed; exit 1 on any error
 *   npm run bench:load -- --help
 *
 * Prints per rate the latency percentiles, throughput, errors, the generator's lag, where the time
 * went (Server-Timing) and who used the CPU; writes bench/results/load-<profile>.json and .svg.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { neon, neonConfig } from '@neondatabase/serverless';
import { applyMigrations } from '../drizzle/migrator.ts';
import { freePort, StandInError } from '../dev/stand-ins/real-servers.ts';
import { startStandIns, type StandIns } from '../dev/stand-ins/server.ts';
import { signAccessToken } from '../src/lib/jwt.ts';
import type { FromParent, Phase, PhaseResult, Plan, ToParent } from './load/generator.ts';
import { BATCH_SIZE, MIX } from './load/generator.ts';
import { BATCH_COMMANDS_PER_REQUEST } from '../src/lib/limits.ts';
import { evaluateTargets, formatReport, renderChart, type LoadReport, type RateResult } from './load/report.ts';
import { Inspector, summarizeProfile, type ProfileSummary } from './load/profiler.ts';
import { cpuBetween, sampleCpu, type CpuSample, type Groups } from './load/resources.ts';
import { seedDatabase } from './load/seed.ts';
import { startWorkerd, tail, type RunningWorkerd } from './load/workerd.ts';

const root = path.resolve(import.meta.dirname, '..');

const PROFILES: Record<string, { neon: number; upstash: number; description: string }> = {
  default: { neon: 20, upstash: 5, description: 'a Worker far from its database: Neon 20 ms, Upstash 5 ms' },
  'co-located': { neon: 2, upstash: 1, description: 'Worker, Neon and Upstash in one region: 2 ms and 1 ms' },
};

const HELP = `usage: npm run bench:load -- [options]

  --profile NAME         default (Neon 20 ms, Upstash 5 ms per round trip) or co-located (2 ms, 1 ms)
  --neon-latency MS      override the profile's Neon latency
  --upstash-latency MS   override the profile's Upstash latency
  --rates LIST           offered request rates, comma-separated (default 200,500,1000)
  --duration S           seconds per rate (default 30)
  --warmup S             unmeasured seconds at the first rate before measuring (default 5)
  --users N              seeded users, one access token each (default 1000)
  --tasks N              seeded tasks per user (default 20)
  --connections N        HTTP keep-alive connections of the generator (default 256)
  --timeout MS           per request (default 10000)
  --out DIR              where load-<profile>.json and .svg go (default bench/results; smoke: nowhere)
  --skip-build           use the existing dist/index.js instead of running npm run build
  --cpu-profile          profile the Worker in workerd at each rate (V8 sampling over the inspector):
                         a summary by module in the output, the .cpuprofile files in .data/load-profiles/
  --smoke                10 s at 50 req/s over 50 users, 2 s warm-up; exit 1 on any error
  --help

Stand-ins' backends: STANDINS_POSTGRES_URL and STANDINS_REDIS_URL, else the servers on
127.0.0.1:5432 (user postgres) and 127.0.0.1:6379 when they answer, else throwaway servers started
from the PostgreSQL and redis-server binaries.

exit status: 0 done without errors, 1 errors or a broken set-up, 2 usage error`;

function usage(message: string): never {
  process.stderr.write(`bench:load: ${message}\n\n${HELP}\n`);
  process.exit(2);
}

const say = (line: string) => process.stdout.write(`[load] ${line}\n`);

interface Options {
  profile: string;
  neonMs: number;
  upstashMs: number;
  rates: number[];
  durationS: number;
  warmupS: number;
  users: number;
  tasksPerUser: number;
  connections: number;
  timeoutMs: number;
  out: string | null;
  skipBuild: boolean;
  cpuProfile: boolean;
  smoke: boolean;
}

function parseOptions(): Options {
  let values;
  try {
    values = parseArgs({
      options: {
        profile: { type: 'string', default: 'default' },
        'neon-latency': { type: 'string' },
        'upstash-latency': { type: 'string' },
        rates: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        users: { type: 'string' },
        tasks: { type: 'string' },
        connections: { type: 'string', default: '256' },
        timeout: { type: 'string', default: '10000' },
        out: { type: 'string' },
        'skip-build': { type: 'boolean', default: false },
        'cpu-profile': { type: 'boolean', default: false },
        smoke: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    usage((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const profile = PROFILES[values.profile];
  if (!profile) usage(`unknown profile "${values.profile}": use ${Object.keys(PROFILES).join(' or ')}`);
  const number = (name: string, value: string | undefined, fallback: number, min = 1) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) usage(`--${name} wants a number of at least ${min}, got "${value}"`);
    return n;
  };
  const smoke = values.smoke;
  const rates = values.rates
    ? values.rates.split(',').map((r) => number('rates', r.trim(), 0))
    : smoke
      ? [50]
      : [200, 500, 1000];
  return {
    profile: values.profile,
    neonMs: number('neon-latency', values['neon-latency'], profile.neon, 0),
    upstashMs: number('upstash-latency', values['upstash-latency'], profile.upstash, 0),
    rates,
    durationS: number('duration', values.duration, smoke ? 10 : 30),
    warmupS: number('warmup', values.warmup, smoke ? 2 : 5, 0),
    users: Math.round(number('users', values.users, smoke ? 50 : 1000)),
    tasksPerUser: Math.round(number('tasks', values.tasks, smoke ? 10 : 20)),
    connections: Math.round(number('connections', values.connections, 256)),
    timeoutMs: number('timeout', values.timeout, 10_000),
    out: values.out ? path.resolve(values.out) : smoke ? null : path.join(root, 'bench/results'),
    skipBuild: values['skip-build'],
    cpuProfile: values['cpu-profile'],
    smoke,
  };
}

const options = parseOptions();

// Everything started is stopped on the way out, whatever the way: done, failed, Ctrl-C, killed.
// The first call runs the cleanups (later failures, such as the generator dying because it was
// stopped, wait for it); a second Ctrl-C kills the children at once and leaves.
const cleanups: (() => Promise<void>)[] = [];
const children = new Set<ChildProcess>();
let stopping: Promise<never> | undefined;
function shutdown(code: number): Promise<never> {
  stopping ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => process.stderr.write(`[load] cleanup: ${String(error)}\n`));
    }
    process.exit(code);
  })();
  return stopping;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) {
      for (const child of children) child.kill('SIGKILL');
      process.exit(130);
    }
    process.stderr.write(`\n[load] ${signal}: stopping workerd, the generator and the stand-ins\n`);
    void shutdown(130);
  });
}
process.on('uncaughtException', (error) => {
  process.stderr.write(`[load] ${error.stack ?? error.message}\n`);
  void shutdown(1);
});

function fail(message: string): Promise<never> {
  if (!stopping) process.stderr.write(`[load] ${message}\n`);
  return shutdown(1);
}

/** A server's URL when something answers on its port within a second. */
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

async function backendUrls(): Promise<{ postgresUrl?: string; redisUrl?: string }> {
  const pick = async (given: string | undefined, fallback: string) => {
    if (given) return given; // given on purpose: a failure to reach it is an error, not a fallback
    return (await answers(fallback)) ? fallback : undefined;
  };
  const postgresUrl = await pick(process.env.STANDINS_POSTGRES_URL, 'postgres://postgres@127.0.0.1:5432/postgres');
  const redisUrl = await pick(process.env.STANDINS_REDIS_URL, 'redis://127.0.0.1:6379');
  return { ...(postgresUrl ? { postgresUrl } : {}), ...(redisUrl ? { redisUrl } : {}) };
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

const started = Date.now();
const profile = PROFILES[options.profile]!;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetask-load-'));
cleanups.push(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
  return Promise.resolve();
});

// 1. The production bundle, and the settings wrangler would give it.
if (!options.skipBuild) {
  say('building the production bundle (npm run build)...');
  await run('npm', ['run', 'build', '--silent']).catch((error: unknown) => fail(String(error)));
}
const bundle = path.join(root, 'dist/index.js');
if (!fs.existsSync(bundle)) await fail(`${bundle} is missing: run npm run build`);
// wrangler's own reading of wrangler.toml; its published types do not resolve here, so the
// fields used are named below.
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
const userLimit = Number(wrangler.vars.RATE_LIMIT_USER_PER_MINUTE ?? 100);
// A batch counts as ceil(commands / BATCH_COMMANDS_PER_REQUEST) requests against the limit.
const costPerRequest = 1 + MIX.batch * (Math.ceil(BATCH_SIZE / BATCH_COMMANDS_PER_REQUEST) - 1);
const perUserPerMinute = (Math.max(...options.rates) * 60 * costPerRequest) / options.users;
if (perUserPerMinute > userLimit * 0.8) {
  await fail(
    `${Math.max(...options.rates)} req/s over ${options.users} users is ${perUserPerMinute.toFixed(0)} requests a minute per user, too close to the limit of ${userLimit}: seed more users (--users)`,
  );
}

// 2. Stand-ins on the real backend with the profile's latency, and a fresh database.
let standIns: StandIns;
try {
  const urls = await backendUrls();
  standIns = await startStandIns({
    backend: 'real',
    ...urls,
    upstashToken: randomBytes(24).toString('base64url'),
    latencyMs: { neon: options.neonMs, upstash: options.upstashMs },
    dropCreatedDatabases: true,
  });
} catch (error) {
  await fail(error instanceof StandInError ? error.message : String(error));
  throw error;
}
cleanups.push(() => standIns.close());
const database = `edgetask_load_${Date.now().toString(36)}`;
say(`stand-ins: ${standIns.description}; Neon ${options.neonMs} ms, Upstash ${options.upstashMs} ms per round trip`);

neonConfig.fetchEndpoint = standIns.neonFetchEndpoint;
const databaseUrl = `postgresql://bench:bench@load.local/${database}`;
await applyMigrations(neon(databaseUrl));
const seedStarted = performance.now();
const sqlPool = await standIns.sql.pool(database);
const users = await seedDatabase(sqlPool, { users: options.users, tasksPerUser: options.tasksPerUser });
say(
  `seeded ${options.users} users with ${options.tasksPerUser} tasks each in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s (database ${database})`,
);

// 3. The Worker on bare workerd, configured as wrangler.toml says plus the local endpoints.
const jwtKeys = [{ kid: 'bench-1', secret: randomBytes(32).toString('base64url') }];
const vars: Record<string, string> = {
  ...Object.fromEntries(Object.entries(wrangler.vars).map(([k, v]) => [k, String(v)])),
  DATABASE_URL: databaseUrl,
  NEON_FETCH_ENDPOINT: standIns.neonFetchEndpoint,
  // A namespace of our own, so the stand-ins' counters are this run's.
  UPSTASH_REDIS_REST_URL: `${standIns.upstashUrl}/ns/${database}`,
  UPSTASH_REDIS_REST_TOKEN: standIns.upstashToken,
  JWT_KEYS: jwtKeys.map((k) => `${k.kid}:${k.secret}`).join(','),
  // Where the time goes: the full Server-Timing, which production keeps to the total.
  SERVER_TIMING: 'full',
  // No Resend key here: emails (none on these routes) would go to the stand-ins' outbox.
  EMAIL_PROVIDER: 'outbox',
  EMAIL_OUTBOX_URL: `${standIns.neonUrl}/_control/outbox`,
};
const inspectorPort = options.cpuProfile ? await freePort() : undefined;
let workerd: RunningWorkerd;
try {
  workerd = await startWorkerd({
    bundle,
    workDir,
    port: await freePort(),
    ...(inspectorPort ? { inspectorPort } : {}),
    compatibilityDate: wrangler.compatibility_date!,
    compatibilityFlags: wrangler.compatibility_flags,
    vars,
    analyticsEngineDatasets: Object.fromEntries(
      wrangler.analytics_engine_datasets.map((d) => [d.binding, d.dataset ?? d.binding]),
    ),
  });
} catch (error) {
  await fail(String(error));
  throw error;
}
cleanups.push(() => workerd.stop());
children.add(workerd.process);
let measuring = false;
void workerd.exited.then((code) => {
  if (!stopping && !measuring) void fail(`workerd exited (${code}) during the run:\n${tail(workerd.logFile, 20)}`);
});
say(`workerd ${workerd.url} (pid ${workerd.pid}), compatibility ${wrangler.compatibility_date}`);
const inspector = inspectorPort ? await Inspector.connect(`http://127.0.0.1:${inspectorPort}`) : undefined;
if (inspector) {
  cleanups.push(() => {
    inspector.close();
    return Promise.resolve();
  });
}
const profilesDir = path.join(root, '.data/load-profiles');

// A broken set-up fails here with the API's own words rather than as thousands of errors.
{
  const ready = await fetch(`${workerd.url}/health/ready`);
  if (!ready.ok) await fail(`/health/ready answered ${ready.status}: ${await ready.text()}`);
  const { token } = await signAccessToken(
    { userId: users[0]!.id, sessionId: users[0]!.sessionId, emailVerified: true, timeZone: 'UTC' },
    { keys: jwtKeys, issuer: vars.JWT_ISSUER!, audience: vars.JWT_AUDIENCE! },
    new Date(),
  );
  const list = await fetch(`${workerd.url}/api/v1/tasks`, { headers: { authorization: `Bearer ${token}` } });
  const body = await list.text();
  if (list.status !== 200) await fail(`a first GET /api/v1/tasks answered ${list.status}: ${body}`);
}

// 4. The generator, in its own process.
const phases: Phase[] = [
  ...(options.warmupS > 0
    ? [{ name: 'warm-up', rate: options.rates[0]!, durationS: options.warmupS, measured: false }]
    : []),
  ...options.rates.map((rate) => ({ name: `${rate} req/s`, rate, durationS: options.durationS, measured: true })),
];
const plan: Plan = {
  baseUrl: workerd.url,
  users,
  phases,
  connections: options.connections,
  timeoutMs: options.timeoutMs,
  jwt: { keys: jwtKeys, issuer: vars.JWT_ISSUER!, audience: vars.JWT_AUDIENCE! },
};
const generator: ChildProcess = fork(path.join(import.meta.dirname, 'load/generator.ts'), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  serialization: 'advanced',
});
children.add(generator);
cleanups.push(async () => {
  if (generator.exitCode === null && generator.signalCode === null) {
    const gone = new Promise((resolve) => generator.once('exit', resolve));
    generator.kill('SIGTERM');
    await gone;
  }
});

const redisPid = await (async () => {
  const [info] = await standIns.redis.pipeline([[Buffer.from('INFO'), Buffer.from('server')]]);
  const match = /process_id:(\d+)/.exec(info instanceof Uint8Array ? Buffer.from(info).toString() : '');
  return match ? Number(match[1]) : 0;
})().catch(() => 0);
const postgresPids = async () =>
  (await sqlPool.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database])).rows.map(
    (r) => r.pid,
  );
const control = (method: string, route: string) =>
  fetch(`${standIns.neonUrl}/_control/${route}?ns=${database}`, { method }).then(
    (r) => r.json() as Promise<Record<string, unknown>>,
  );

const results: RateResult[] = [];
let warmupErrors: PhaseResult | undefined;
// workerd dying mid-run (it did, out of file descriptors, when overloaded on a busy machine) still
// gets a report of the rates measured before it, marked as aborted.
let aborted: string | undefined;
measuring = true;
const workerdDied = workerd.exited.then((code): never => {
  throw new Error(`workerd exited (${code}) during the run; its last words:\n${tail(workerd.logFile, 3)}`);
});
const generatorDone = new Promise<void>((resolve, reject) => {
  let groups: Groups = {};
  let before: CpuSample | undefined;
  // One message at a time: a phase's end is still being recorded when `done` arrives.
  let handled = Promise.resolve();
  generator.on('message', (message: ToParent) => {
    handled = handled.then(async () => {
      if (message.type === 'phase-start') {
        const phase = phases[message.index]!;
        say(`${phase.name}: ${phase.rate} req/s for ${phase.durationS} s${phase.measured ? '' : ' (not measured)'}`);
        groups = {
          workerd: [workerd.pid],
          'stand-ins': [process.pid],
          generator: [generator.pid!],
          postgres: await postgresPids(),
          redis: redisPid ? [redisPid] : [],
        };
        await control('POST', 'counters/reset');
        if (phase.measured) await inspector?.start();
        before = sampleCpu(groups);
      } else if (message.type === 'phase-end') {
        const after = sampleCpu(groups);
        const counters = await control('GET', 'counters');
        const result = message.result;
        if (!result.measured) {
          if (result.errors > 0) warmupErrors = result;
          return;
        }
        let workerProfile: ProfileSummary | undefined;
        if (inspector) {
          const profile = await inspector.stop();
          fs.mkdirSync(profilesDir, { recursive: true });
          fs.writeFileSync(
            path.join(profilesDir, `${options.profile}-${result.offeredRps}.cpuprofile`),
            JSON.stringify(profile),
          );
          workerProfile = summarizeProfile(profile, bundle);
        }
        results.push({
          ...result,
          cpuCores: cpuBetween(before!, after),
          standIns: counters,
          ...(workerProfile ? { workerProfile } : {}),
        });
        say(
          `${result.name}: p50 ${result.latencyMs.p50} ms, p95 ${result.latencyMs.p95} ms, p99 ${result.latencyMs.p99} ms, ${result.errors} errors`,
        );
      } else if (message.type === 'done') resolve();
      else reject(new Error(`the generator failed: ${message.message}`));
    });
    handled.catch(reject);
  });
  // The generator exits right after sending `done`, which may still wait in `handled` behind the
  // last phase's profile (a CPU profile takes a while to come over the inspector): only an exit
  // that comes before `done` was handled is a failure (then `resolve` has not run and this rejects).
  generator.once('exit', (code) => {
    const exited = () => reject(new Error(`the generator exited (${code}) before it was done`));
    void handled.then(exited, exited);
  });
  generator.send({ type: 'run', plan } satisfies FromParent);
});
await Promise.race([generatorDone, workerdDied]).catch((error: unknown) => {
  aborted = error instanceof Error ? error.message : String(error);
});
if (aborted) {
  generator.kill('SIGTERM');
  if (results.length === 0) await fail(aborted);
  say(`ABORTED: ${aborted}`);
}

// 5. The report.
const logLines = await workerLogSummary(workerd.logFile);
const report: LoadReport = {
  benchmark: 'edgetask open-loop load',
  generatedAt: new Date().toISOString(),
  command: `npm run bench:load -- ${process.argv.slice(2).join(' ')}`.trim(),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    workerd: (
      JSON.parse(fs.readFileSync(path.join(root, 'node_modules/workerd/package.json'), 'utf8')) as { version: string }
    ).version,
  },
  profile: {
    name: options.profile,
    description: profile.description,
    neonMs: options.neonMs,
    upstashMs: options.upstashMs,
  },
  settings: {
    users: options.users,
    tasksPerUser: options.tasksPerUser,
    durationS: options.durationS,
    warmupS: options.warmupS,
    connections: options.connections,
    timeoutMs: options.timeoutMs,
    mix: MIX,
    smoke: options.smoke,
    compatibilityDate: wrangler.compatibility_date!,
    compatibilityFlags: wrangler.compatibility_flags,
  },
  rates: results,
  ...(aborted ? { aborted } : {}),
  workerLog: logLines,
  elapsedS: Math.round((Date.now() - started) / 1000),
};
report.targets = evaluateTargets(report);
process.stdout.write(`\n${formatReport(report)}\n`);
if (options.out) {
  fs.mkdirSync(options.out, { recursive: true });
  const base = path.join(options.out, `load-${options.profile}`);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(`${base}.svg`, await renderChart(report));
  say(`wrote ${path.relative(process.cwd(), base)}.json and .svg`);
}
const errors = results.reduce((sum, r) => sum + r.errors, 0) + (warmupErrors?.errors ?? 0);
if (warmupErrors) say(`warm-up errors: ${JSON.stringify(warmupErrors.statuses)}`);
if (aborted) await fail(`the run was aborted after ${results.length} of ${options.rates.length} rates: ${aborted}`);
if (errors > 0) await fail(`${errors} requests failed (see the status breakdown above)`);
await shutdown(0);

/** The Worker's warnings and errors by message (its log line per request goes to workerd.log). */
async function workerLogSummary(file: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: fs.createReadStream(file) });
  for await (const line of lines) {
    if (!line.includes('"level":"warn"') && !line.includes('"level":"error"')) continue;
    let key = line.slice(0, 120);
    try {
      const entry = JSON.parse(line) as {
        level: string;
        msg: string;
        status?: number;
        reason?: string;
        error?: unknown;
      };
      const why = entry.reason ?? (entry.error === undefined ? '' : JSON.stringify(entry.error));
      // workerd's internal errors carry a unique reference each: one line for all of them.
      const reason = why.replace(/reference = \w+/g, 'reference = ...').slice(0, 100);
      key = `${entry.level}: ${entry.msg}${entry.status ? ` ${entry.status}` : ''}${reason ? ` (${reason})` : ''}`;
    } catch {
      // not JSON: workerd's own message, counted by its start
    }
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
