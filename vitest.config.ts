import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { TEST_JWT_KEYS } from './test/helpers/constants.ts';

export default defineConfig({
  test: {
    reporters: ['default', './test/reporters/summary-line.ts'],
    // Coverage of the Worker's code, measured inside workerd (istanbul instruments the source, so it
    // works where V8's own coverage does not). Below 80% of lines the run fails.
    coverage: {
      provider: 'istanbul',
      include: ['src/**/*.ts'],
      exclude: ['src/types/**'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: { lines: 80 },
    },
    projects: [
      {
        // The stand-ins themselves, driven from Node with the real client libraries.
        test: {
          name: 'stand-ins',
          include: ['test/stand-ins/**/*.test.ts', 'test/dev/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Node-side checks of what the Worker generates (the OpenAPI document).
        test: {
          name: 'contract',
          include: ['test/contract/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        // /docs in a real browser (Chromium from the OS), against `wrangler dev` and the stand-ins.
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/browser/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
      {
        // The Worker, inside workerd, against the stand-ins started by the global setup.
        plugins: [
          cloudflareTest(({ inject }) => {
            const standIns = inject('standIns');
            const contractValidatorUrl = inject('contractValidatorUrl');
            return {
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                bindings: {
                  APP_ENV: 'test',
                  DATABASE_URL: `postgresql://edgetask:local@stand-in.local/${standIns.selfDatabase}`,
                  NEON_FETCH_ENDPOINT: standIns.neonFetchEndpoint,
                  UPSTASH_REDIS_REST_URL: `${standIns.upstashUrl}/ns/self`,
                  UPSTASH_REDIS_REST_TOKEN: standIns.upstashToken,
                  JWT_KEYS: TEST_JWT_KEYS,
                  CORS_ORIGINS: 'https://app.example.com',
                  EMAIL_PROVIDER: 'outbox',
                  EMAIL_OUTBOX_URL: `${standIns.neonUrl}/_control/outbox?ns=self`,
                  // One round instead of six keeps the suite fast; the password tests use six.
                  PASSWORD_HASH_ROUNDS: '1',
                  STANDINS_NEON_URL: standIns.neonUrl,
                  STANDINS_UPSTASH_URL: standIns.upstashUrl,
                  STANDINS_TEMPLATE: standIns.template,
                  STANDINS_BACKEND: standIns.backend,
                  CONTRACT_VALIDATOR_URL: contractValidatorUrl,
                  // fast-check's seed for the property tests (test/helpers/fuzz-seed.ts); empty: a fresh one.
                  FUZZ_SEED: process.env.FUZZ_SEED ?? '',
                },
              },
            };
          }),
        ],
        test: {
          name: 'worker',
          include: [
            'test/integration/**/*.test.ts',
            'test/unit/**/*.test.ts',
            // In-runtime measurements, only when asked for (npm run bench:auth).
            ...(process.env.EDGETASK_BENCH === '1' ? ['bench/**/*.bench-test.ts'] : []),
          ],
          globalSetup: ['test/global-setup.ts'],
          setupFiles: ['test/helpers/fail-on-console-error.ts', 'test/helpers/fuzz-seed.ts'],
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
