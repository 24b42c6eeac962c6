/**
 * `npm run dev`: the API on http://127.0.0.1:8787 (or $PORT) with nothing installed but npm packages.
 *
 * 1. Settings: DATABASE_URL / UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN / JWT_KEYS from the
 *    environment or .dev.vars win (point them at real Neon and Upstash to use those). Whatever is
 *    missing is provided locally: the stand-ins, on the embedded backend by default (PGlite kept
 *    under .data/ between runs, in-memory Redis), on free ports; a JWT key kept in .data/.
 * 2. Migrations are applied (safe to rerun).
 * 3. `wrangler dev` serves the Worker; Ctrl-C stops it and the stand-ins. Its output is shown with
 *    one readable line per request (dev/console.ts).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseEnv } from 'node:util';
import { neon, neonConfig } from '@neondatabase/serverless';
import { applyMigrations } from '../drizzle/migrator.ts';
import { consoleLine, readyUrl } from './console.ts';
import { StandInError } from './stand-ins/real-servers.ts';
import { startStandIns, type BackendKind, type StandIns } from './stand-ins/server.ts';

const root = path.resolve(import.meta.dirname, '..');
const dataDir = path.join(root, '.data');
const say = (line: string) => process.stdout.write(`[dev] ${line}\n`);
const fail = (line: string): never => {
  process.stderr.write(`[dev] ${line}\n`);
  process.exit(1);
};

const port = Number(process.env.PORT ?? 8787);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`PORT must be a port number, got "${process.env.PORT}"`);

/**
 * .dev.vars is wrangler's own file for local secrets, in dotenv syntax: read it so the user's
 * values win. Node's own dotenv parser reads it (quotes, comments, `export`), as wrangler does.
 */
function readDevVars(): Record<string, string> {
  const file = path.join(root, '.dev.vars');
  if (!fs.existsSync(file)) return {};
  return Object.fromEntries(
    Object.entries(parseEnv(fs.readFileSync(file, 'utf8'))).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
}

function devSecret(name: string): string {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'dev-secrets.json');
  const secrets = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>) : {};
  secrets[name] ??= randomBytes(32).toString('base64url');
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets[name];
}

const given = {
  ...readDevVars(),
  ...pickEnv([
    'DATABASE_URL',
    'NEON_FETCH_ENDPOINT',
    'UPSTASH_REDIS_REST_URL',
    'UPSTASH_REDIS_REST_TOKEN',
    'JWT_KEYS',
    'CORS_ORIGINS',
    'EMAIL_PROVIDER',
    'EMAIL_OUTBOX_URL',
    'EMAIL_FROM',
    'RESEND_API_KEY',
    'APP_URL',
  ]),
};
function pickEnv(names: string[]): Record<string, string> {
  return Object.fromEntries(names.filter((n) => process.env[n]).map((n) => [n, process.env[n]!]));
}

const needNeon = !given.DATABASE_URL;
const needUpstash = !given.UPSTASH_REDIS_REST_URL || !given.UPSTASH_REDIS_REST_TOKEN;
let standIns: StandIns | undefined;
// Set once wrangler starts; stop() may run before that.
const running: { wrangler?: ReturnType<typeof spawn> } = {};
let stopping = false;

async function stop(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  const wrangler = running.wrangler;
  if (wrangler && wrangler.exitCode === null) {
    const exited = new Promise((resolve) => wrangler.once('exit', resolve));
    wrangler.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
  await standIns?.close();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const vars: Record<string, string> = { APP_ENV: 'development', ...given };
try {
  if (needNeon || needUpstash) {
    const backend = (process.env.STANDINS_BACKEND ?? 'embedded') as BackendKind;
    say(`starting the local stand-ins (${backend} backend)...`);
    const started = Date.now();
    standIns = await startStandIns({
      backend,
      ...(process.env.STANDINS_POSTGRES_URL ? { postgresUrl: process.env.STANDINS_POSTGRES_URL } : {}),
      ...(process.env.STANDINS_REDIS_URL ? { redisUrl: process.env.STANDINS_REDIS_URL } : {}),
      dataDir,
      cacheDir: path.join(root, 'node_modules/.cache/edgetask'),
      upstashToken: devSecret('UPSTASH_TOKEN'),
      apiUrl: `http://127.0.0.1:${port}`,
    });
    say(`stand-ins ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${standIns.description}`);
    if (needNeon) {
      vars.DATABASE_URL = 'postgresql://edgetask:local@localhost/edgetask';
      vars.NEON_FETCH_ENDPOINT = standIns.neonFetchEndpoint;
    }
    if (!given.EMAIL_PROVIDER) {
      vars.EMAIL_PROVIDER = 'outbox';
      vars.EMAIL_OUTBOX_URL = `${standIns.neonUrl}/_control/outbox`;
    }
    // No client app runs locally: email links open the stand-ins' page that shows the token and
    // sends the request (dev/stand-ins/dev-links.ts), unless APP_URL names a local app.
    vars.APP_URL ??= `${standIns.neonUrl}/_dev`;
    if (needUpstash) {
      vars.UPSTASH_REDIS_REST_URL = standIns.upstashUrl;
      vars.UPSTASH_REDIS_REST_TOKEN = standIns.upstashToken;
    }
  }
  vars.JWT_KEYS ??= `dev-1:${devSecret('JWT_SECRET')}`;

  if (vars.NEON_FETCH_ENDPOINT) neonConfig.fetchEndpoint = vars.NEON_FETCH_ENDPOINT;
  const { applied, total } = await applyMigrations(neon(vars.DATABASE_URL!));
  say(`migrations: ${applied} applied, ${total - applied} already there`);
} catch (error) {
  await standIns?.close();
  fail(
    error instanceof StandInError
      ? error.message
      : `could not start: ${error instanceof Error ? error.message : String(error)}`,
  );
}

// wrangler reads the settings from an env file we write (0600, git-ignored), not from argv where
// every process on the machine could read the secrets.
const envFile = path.join(dataDir, 'wrangler-dev.env');
fs.mkdirSync(dataDir, { recursive: true });
fs.writeFileSync(
  envFile,
  Object.entries(vars)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join('\n') + '\n',
  { mode: 0o600 },
);

const wrangler = spawn(
  path.join(root, 'node_modules/.bin/wrangler'),
  [
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--env-file',
    envFile,
    '--show-interactive-dev-session=false',
    '--persist-to',
    path.join(dataDir, 'wrangler'),
    // Serves /__scheduled, through which the launcher runs the reminders' cron (below).
    '--test-scheduled',
  ],
  {
    cwd: root,
    // Piped: the launcher shows one readable line per request (dev/console.ts) and learns from
    // wrangler's "Ready on" line that the API is up, without polling it.
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  },
);
running.wrangler = wrangler;
wrangler.on('exit', (code) => {
  if (!stopping) {
    process.stderr.write(`[dev] wrangler dev exited (${code ?? 'signal'})\n`);
    void stop(code ?? 1);
  }
});

const base = `http://127.0.0.1:${port}`;
let announced = false;
function announce(): void {
  if (announced) return;
  announced = true;
  // For shells in other terminals (the README's first session): `. .data/dev-urls.env`.
  fs.writeFileSync(
    path.join(dataDir, 'dev-urls.env'),
    `API=${base}\n${vars.EMAIL_OUTBOX_URL ? `OUTBOX=${vars.EMAIL_OUTBOX_URL}\n` : ''}`,
  );
  say(`edgetask API  ${base}`);
  say(`API docs      ${base}/docs`);
  say(`OpenAPI       ${base}/openapi.json`);
  if (vars.EMAIL_OUTBOX_URL) say(`Emails        ${vars.EMAIL_OUTBOX_URL} (verification links land here)`);
  say(
    `Browsers      web apps on http://localhost:<any port> or 127.0.0.1 may call the API (development); ` +
      `for other origins set CORS_ORIGINS in .dev.vars`,
  );
  say('Reminders     sent every minute, as in production (the outbox receives them)');
  say('Ctrl-C stops everything.');
  runRemindersEveryMinute();
}

/**
 * wrangler dev runs no crons. Production runs the reminders' every minute (wrangler.toml), so the
 * launcher does the same through --test-scheduled's route: a reminder set while developing arrives
 * in the outbox on time. The hourly housekeeping is left to a deployed Worker.
 */
function runRemindersEveryMinute(): void {
  const url = `${base}/__scheduled?cron=${encodeURIComponent('* * * * *')}`;
  const timer = setInterval(() => {
    fetch(url).catch(() => {
      // wrangler is restarting or stopping: the next minute tries again.
    });
  }, 60_000);
  timer.unref();
}
for (const [from, to] of [
  [wrangler.stdout, process.stdout],
  [wrangler.stderr, process.stderr],
] as const) {
  readline.createInterface({ input: from, crlfDelay: Infinity }).on('line', (line) => {
    const shown = consoleLine(line);
    if (shown !== null) to.write(`${shown}\n`);
    if (readyUrl(line)) announce();
  });
}
