/**
 * How much the stand-ins cost: start time of each backend (cold and warm) and the overhead per
 * call through the layer, compared with talking to the engine directly.
 *
 *   npm run bench:stand-ins [-- --queries 500]
 *
 * Needs PostgreSQL and redis-server binaries for the real rows (skipped with a note otherwise).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { neon, neonConfig } from '@neondatabase/serverless';
import { Redis } from '@upstash/redis';
import pg from 'pg';
import { findBinary } from '../dev/stand-ins/real-servers.ts';
import { startStandIns, type StandIns, type StandInsOptions } from '../dev/stand-ins/server.ts';

const { values } = parseArgs({ options: { queries: { type: 'string', default: '500' } } });
const N = Number(values.queries);
const TOKEN = 'bench';
const rows: string[][] = [];

async function timeStart(options: StandInsOptions): Promise<{ ms: number; standIns: StandIns }> {
  const started = performance.now();
  const standIns = await startStandIns(options);
  // Readiness means a first query answered (PGlite opens lazily).
  neonConfig.fetchEndpoint = standIns.neonFetchEndpoint;
  await neon('postgresql://u:p@bench.local/bench')`select 1`;
  return { ms: performance.now() - started, standIns };
}

async function perCall(label: string, n: number, call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await call(); // warm-up
  const started = performance.now();
  for (let i = 0; i < n; i++) await call();
  const ms = (performance.now() - started) / n;
  rows.push([label, `${ms.toFixed(2)} ms`]);
  return ms;
}

async function throughLayer(standIns: StandIns, name: string): Promise<{ sql: number; redis: number }> {
  neonConfig.fetchEndpoint = standIns.neonFetchEndpoint;
  const sql = neon('postgresql://u:p@bench.local/bench');
  const redis = new Redis({
    url: standIns.upstashUrl,
    token: TOKEN,
    enableAutoPipelining: false,
    enableTelemetry: false,
  });
  return {
    sql: await perCall(`${name}: neon() select 1 through the stand-in`, N, () => sql`select 1`),
    redis: await perCall(`${name}: @upstash/redis GET through the stand-in`, N, () => redis.get('bench:key')),
  };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetask-bench-'));
const cacheDir = path.join(tmp, 'cache');
try {
  // Embedded, cold: no PGlite template yet, empty data dir.
  const cold = await timeStart({ backend: 'embedded', dataDir: path.join(tmp, 'data'), cacheDir, upstashToken: TOKEN });
  rows.push(['embedded start, cold (initdb in WASM, template made)', `${(cold.ms / 1000).toFixed(2)} s`]);
  await cold.standIns.close();
  // Embedded, warm: the persisted data dir from the cold run.
  const warm = await timeStart({ backend: 'embedded', dataDir: path.join(tmp, 'data'), cacheDir, upstashToken: TOKEN });
  rows.push(['embedded start, warm (persisted .data)', `${(warm.ms / 1000).toFixed(2)} s`]);
  await throughLayer(warm.standIns, 'embedded');
  await warm.standIns.close();
  // Embedded, new database from the cached template (what a fresh checkout's second run does).
  const templ = await timeStart({
    backend: 'embedded',
    dataDir: path.join(tmp, 'data2'),
    cacheDir,
    upstashToken: TOKEN,
  });
  rows.push(['embedded start, new data dir from cached template', `${(templ.ms / 1000).toFixed(2)} s`]);
  await templ.standIns.close();

  if (findBinary('initdb') && findBinary('redis-server')) {
    const own = await timeStart({ backend: 'real', upstashToken: TOKEN, dropCreatedDatabases: true });
    rows.push(['real start, throwaway servers from binaries (initdb + start)', `${(own.ms / 1000).toFixed(2)} s`]);
    const real = await throughLayer(own.standIns, 'real');

    // The same calls straight to the engines, to isolate the layer's share.
    const pgUrl = new URL((await own.standIns.sql.pool('bench')).options.connectionString ?? '');
    const direct = new pg.Client({ connectionString: pgUrl.toString() });
    await direct.connect();
    const pgDirect = await perCall('real: pg select 1 directly', N, () => direct.query('select 1'));
    await direct.end();
    const redisDirect = await perCall('real: redis GET directly (RESP)', N, () =>
      own.standIns.redis.pipeline([[Buffer.from('GET'), Buffer.from('bench:key')]]),
    );
    rows.push(['real: overhead per SQL call (layer + HTTP + driver)', `${(real.sql - pgDirect).toFixed(2)} ms`]);
    rows.push(['real: overhead per Redis call (layer + HTTP + SDK)', `${(real.redis - redisDirect).toFixed(2)} ms`]);
    await own.standIns.close();
  } else {
    rows.push(['real backend', 'skipped: no PostgreSQL/redis-server binaries']);
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

const width = Math.max(...rows.map((r) => r[0]!.length));
process.stdout.write(`\nstand-ins, ${N} sequential calls each, on ${os.cpus().length} cores\n`);
for (const [label, value] of rows) process.stdout.write(`${label!.padEnd(width)}  ${value}\n`);
