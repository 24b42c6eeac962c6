import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { findBinary } from '../../dev/stand-ins/real-servers.ts';
import { startStandIns, type StandIns } from '../../dev/stand-ins/server.ts';

export type Kind = 'real' | 'embedded';

/**
 * The backends this machine can test. `real` needs PostgreSQL and Redis, by URL
 * (STANDINS_POSTGRES_URL, STANDINS_REDIS_URL, as .ci/run sets them) or as binaries on PATH.
 * CI sets STANDINS_REQUIRE_REAL=1 so a missing real backend fails instead of being left out.
 */
export function availableBackends(): Kind[] {
  const env = process.env;
  const real =
    (Boolean(env.STANDINS_POSTGRES_URL) || (findBinary('initdb') !== null && findBinary('postgres') !== null)) &&
    (Boolean(env.STANDINS_REDIS_URL) || findBinary('redis-server') !== null);
  if (!real && env.STANDINS_REQUIRE_REAL === '1') {
    throw new Error('STANDINS_REQUIRE_REAL=1 but neither server URLs nor PostgreSQL/Redis binaries are available');
  }
  if (!real) console.warn('[stand-ins tests] no PostgreSQL/Redis here: testing the embedded backend only');
  // STANDINS_BACKEND=embedded keeps these suites off the real servers too (the differential suites,
  // which need both, are then skipped). `real` still tests both: CI sets it and wants the embedded
  // engines checked as well.
  if (env.STANDINS_BACKEND === 'embedded') return ['embedded'];
  return real ? ['embedded', 'real'] : ['embedded'];
}

export const TOKEN = 'test-token';

export function startForTest(
  kind: Kind,
  extra: { latencyMs?: { neon?: number; upstash?: number } } = {},
): Promise<StandIns> {
  const env = process.env;
  return startStandIns({
    backend: kind,
    ...(kind === 'real' && env.STANDINS_POSTGRES_URL ? { postgresUrl: env.STANDINS_POSTGRES_URL } : {}),
    ...(kind === 'real' && env.STANDINS_REDIS_URL ? { redisUrl: env.STANDINS_REDIS_URL } : {}),
    cacheDir: path.resolve('node_modules/.cache/edgetask'),
    upstashToken: TOKEN,
    dropCreatedDatabases: true,
    ...extra,
  });
}

/** A name no other test (or test run) uses: databases, namespaces and key prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export function connectionString(database: string): string {
  return `postgresql://edgetask:local@stand-in.local/${database}`;
}

export async function counters(standIns: StandIns, ns: string) {
  const res = await fetch(`${standIns.neonUrl}/_control/counters?ns=${ns}`);
  return (await res.json()) as {
    neon: { requests: number; statements: number; errors: number; inFlight: number; maxInFlight: number };
    upstash: {
      requests: number;
      commands: number;
      errors: number;
      maxInFlight: number;
      /** EVAL/EVALSHA(_RO) that ran (not those answered NOSCRIPT). */
      scripts: number;
      /** Of those, the ones Upstash runs under its global lock: no allow-key-locking, or in multi-exec. */
      globalLockScripts: number;
    };
    maxInFlight: number;
  };
}

export async function control(standIns: StandIns, method: string, route: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${standIns.neonUrl}/_control/${route}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`control ${method} ${route}: ${res.status} ${await res.text()}`);
  return res.json();
}
