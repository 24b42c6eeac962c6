import { neon, neonConfig } from '@neondatabase/serverless';
import type { TestProject } from 'vitest/node';
import { applyMigrations } from '../drizzle/migrator.ts';
import { startStandIns, type BackendKind } from '../dev/stand-ins/server.ts';
import { BASE } from './helpers/constants.ts';
import { startValidationServer } from './validation/server.ts';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

/**
 * Runs in Node before the Worker tests: starts the stand-ins (real PostgreSQL and Redis when there
 * are any, the embedded engines otherwise, and says which), migrates a template database once, and
 * hands the URLs to the tests. Each test file then gets its own copy of the template.
 */
export default async function setup(project: TestProject) {
  const env = process.env;
  const standIns = await startStandIns({
    backend: (env.STANDINS_BACKEND ?? 'auto') as BackendKind,
    ...(env.STANDINS_POSTGRES_URL ? { postgresUrl: env.STANDINS_POSTGRES_URL } : {}),
    ...(env.STANDINS_REDIS_URL ? { redisUrl: env.STANDINS_REDIS_URL } : {}),
    cacheDir: path.resolve('node_modules/.cache/edgetask'),
    upstashToken: `test-${randomBytes(8).toString('hex')}`,
    dropCreatedDatabases: true,
    // The pages of development email links name the API the tests call (test/integration/local-development.test.ts).
    apiUrl: BASE,
  });
  if (env.STANDINS_REQUIRE_REAL === '1' && standIns.backend !== 'real') {
    await standIns.close();
    throw new Error('STANDINS_REQUIRE_REAL=1 but the stand-ins fell back to the embedded backend');
  }
  console.log(`[worker tests] stand-ins on the ${standIns.backend} backend: ${standIns.description}`);

  const run = randomBytes(4).toString('hex');
  const template = `edgetask_tpl_${run}`;
  neonConfig.fetchEndpoint = standIns.neonFetchEndpoint;
  await applyMigrations(neon(`postgresql://edgetask:local@stand-in.local/${template}`));
  // The entry-point tests (SELF) need a database of their own: the template must stay untouched.
  const selfDatabase = `edgetask_self_${run}`;
  const cloned = await fetch(`${standIns.neonUrl}/_control/databases/${selfDatabase}?template=${template}`, {
    method: 'POST',
  });
  if (!cloned.ok) throw new Error(`cloning the template failed: ${await cloned.text()}`);

  project.provide('standIns', {
    backend: standIns.backend,
    neonUrl: standIns.neonUrl,
    neonFetchEndpoint: standIns.neonFetchEndpoint,
    upstashUrl: standIns.upstashUrl,
    upstashToken: standIns.upstashToken,
    template,
    selfDatabase,
  });

  // Every response the Worker tests receive is checked against the OpenAPI document here, in Node
  // (test/helpers/contract.ts posts them).
  const validation = await startValidationServer();
  project.provide('contractValidatorUrl', validation.url);

  return async () => {
    await Promise.all([standIns.close(), validation.close()]);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    standIns: {
      backend: 'real' | 'embedded';
      neonUrl: string;
      neonFetchEndpoint: string;
      upstashUrl: string;
      upstashToken: string;
      template: string;
      selfDatabase: string;
    };
    contractValidatorUrl: string;
  }
}
