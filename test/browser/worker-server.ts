import { neon, neonConfig } from '@neondatabase/serverless';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { unstable_dev } from 'wrangler';
import { startStandIns, type BackendKind } from '../../dev/stand-ins/server.ts';
import { applyMigrations } from '../../drizzle/migrator.ts';
import { TEST_JWT_KEYS } from '../helpers/constants.ts';

export interface RunningWorker {
  /** http://127.0.0.1:PORT */
  url: string;
  backend: string;
  close(): Promise<void>;
}

/** A free loopback port (wrangler's dev server needs one named). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * The Worker as a browser sees it: `wrangler dev`'s server (static assets included) on a free
 * loopback port, against the stand-ins on a freshly migrated database, as test/global-setup.ts
 * starts them. No Cloudflare account, no internet.
 */
export async function startWorkerOverHttp(): Promise<RunningWorker> {
  const env = process.env;
  const root = path.resolve(import.meta.dirname, '../..');
  const standIns = await startStandIns({
    backend: (env.STANDINS_BACKEND ?? 'auto') as BackendKind,
    ...(env.STANDINS_POSTGRES_URL ? { postgresUrl: env.STANDINS_POSTGRES_URL } : {}),
    ...(env.STANDINS_REDIS_URL ? { redisUrl: env.STANDINS_REDIS_URL } : {}),
    cacheDir: path.join(root, 'node_modules/.cache/edgetask'),
    upstashToken: `test-${randomBytes(8).toString('hex')}`,
    dropCreatedDatabases: true,
  });
  try {
    const database = `edgetask_browser_${randomBytes(4).toString('hex')}`;
    neonConfig.fetchEndpoint = standIns.neonFetchEndpoint;
    await applyMigrations(neon(`postgresql://edgetask:local@stand-in.local/${database}`));
    if (!existsSync(path.join(root, 'public/docs/assets/api-reference.js')))
      throw new Error('public/docs/assets/api-reference.js is missing: run `node scripts/copy-docs-assets.ts`');
    const worker = await unstable_dev(path.join(root, 'src/index.ts'), {
      config: path.join(root, 'wrangler.toml'),
      ip: '127.0.0.1',
      port: await freePort(),
      local: true,
      persist: false,
      logLevel: 'warn',
      vars: {
        APP_ENV: 'test',
        DATABASE_URL: `postgresql://edgetask:local@stand-in.local/${database}`,
        NEON_FETCH_ENDPOINT: standIns.neonFetchEndpoint,
        UPSTASH_REDIS_REST_URL: `${standIns.upstashUrl}/ns/browser`,
        UPSTASH_REDIS_REST_TOKEN: standIns.upstashToken,
        JWT_KEYS: TEST_JWT_KEYS,
        EMAIL_PROVIDER: 'outbox',
        EMAIL_OUTBOX_URL: `${standIns.neonUrl}/_control/outbox?ns=browser`,
        PASSWORD_HASH_ROUNDS: '1',
      },
      experimental: {
        disableExperimentalWarning: true,
        disableDevRegistry: true,
        watch: false,
        showInteractiveDevSession: false,
      },
    });
    return {
      url: `http://127.0.0.1:${worker.port}`,
      backend: standIns.description,
      async close() {
        await worker.stop();
        await standIns.close();
      },
    };
  } catch (error) {
    await standIns.close();
    throw error;
  }
}
