/**
 * Local stand-ins for Neon (SQL over HTTP) and Upstash (Redis over REST) on loopback.
 *
 *   node dev/stand-ins.ts [--backend real|embedded|auto] [options]
 *
 * Prints one line of JSON with the URLs when ready (for scripts), a human line on stderr, and
 * stops the servers it started on Ctrl-C or SIGTERM. `--help` lists the options.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startStandIns, type BackendKind } from './stand-ins/server.ts';
import { StandInError } from './stand-ins/real-servers.ts';

const HELP = `Usage: node dev/stand-ins.ts [options]

  --backend real|embedded|auto  real: PostgreSQL + redis-server (by URL, else started from PATH);
                                embedded: PGlite + in-memory Redis engine; auto (default): real
                                when URLs are given or the binaries are installed, else embedded.
                                Env: STANDINS_BACKEND
  --postgres-url URL            an existing PostgreSQL admin URL      Env: STANDINS_POSTGRES_URL
  --redis-url URL               an existing Redis URL                 Env: STANDINS_REDIS_URL
  --data-dir DIR                embedded: where PGlite keeps data (default .data)
  --memory                      embedded: keep nothing on disk
  --host HOST                   listen address (default 127.0.0.1)
  --neon-port N                 default 0 (a free port)               Env: STANDINS_NEON_PORT
  --upstash-port N              default 0 (a free port)               Env: STANDINS_UPSTASH_PORT
  --token TOKEN                 Upstash bearer token (default local-dev-token)  Env: STANDINS_UPSTASH_TOKEN
  --neon-latency MS             injected per Neon request (default 0)
  --upstash-latency MS          injected per Upstash request (default 0)
  --help
`;

function fail(message: string): never {
  process.stderr.write(`stand-ins: ${message}\n`);
  process.exit(1);
}

function number(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535 * 1000) fail(`${name} must be a non-negative integer, got "${value}"`);
  return n;
}

let args;
try {
  args = parseArgs({
    options: {
      backend: { type: 'string' },
      'postgres-url': { type: 'string' },
      'redis-url': { type: 'string' },
      'data-dir': { type: 'string' },
      memory: { type: 'boolean' },
      host: { type: 'string' },
      'neon-port': { type: 'string' },
      'upstash-port': { type: 'string' },
      token: { type: 'string' },
      'neon-latency': { type: 'string' },
      'upstash-latency': { type: 'string' },
      help: { type: 'boolean' },
    },
  }).values;
} catch (error) {
  fail(`${(error as Error).message}\n${HELP}`);
}
if (args.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const env = process.env;
const backend = (args.backend ?? env.STANDINS_BACKEND ?? 'auto') as BackendKind;
if (!['real', 'embedded', 'auto'].includes(backend)) fail(`unknown backend "${backend}": use real, embedded or auto`);

try {
  const standIns = await startStandIns({
    backend,
    postgresUrl: args['postgres-url'] ?? env.STANDINS_POSTGRES_URL,
    redisUrl: args['redis-url'] ?? env.STANDINS_REDIS_URL,
    ...(args.memory ? {} : { dataDir: path.resolve(args['data-dir'] ?? '.data') }),
    host: args.host ?? '127.0.0.1',
    neonPort: number('--neon-port', args['neon-port'] ?? env.STANDINS_NEON_PORT, 0),
    upstashPort: number('--upstash-port', args['upstash-port'] ?? env.STANDINS_UPSTASH_PORT, 0),
    upstashToken: args.token ?? env.STANDINS_UPSTASH_TOKEN ?? 'local-dev-token',
    latencyMs: {
      neon: number('--neon-latency', args['neon-latency'], 0),
      upstash: number('--upstash-latency', args['upstash-latency'], 0),
    },
  });
  process.stderr.write(
    `stand-ins ready (${standIns.description})\n  Neon    ${standIns.neonFetchEndpoint}\n  Upstash ${standIns.upstashUrl}\n`,
  );
  process.stdout.write(
    JSON.stringify({
      backend: standIns.backend,
      neonFetchEndpoint: standIns.neonFetchEndpoint,
      upstashUrl: standIns.upstashUrl,
      upstashToken: standIns.upstashToken,
      pid: process.pid,
    }) + '\n',
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(130); // a second Ctrl-C means now
    stopping = true;
    process.stderr.write(`stand-ins: ${signal}, stopping\n`);
    standIns.close().then(
      () => process.exit(0),
      (error: unknown) => fail(`error while stopping: ${String(error)}`),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => stop('SIGHUP'));
} catch (error) {
  fail(
    error instanceof StandInError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error),
  );
}
