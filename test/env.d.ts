import type { Bindings } from '../src/env.ts';

// What vitest.config.ts binds for the Worker tests, beyond the Worker's own bindings.
declare global {
  namespace Cloudflare {
    interface Env extends Bindings {
      STANDINS_NEON_URL: string;
      STANDINS_UPSTASH_URL: string;
      STANDINS_TEMPLATE: string;
      STANDINS_BACKEND: 'real' | 'embedded';
      /** The response validator's loopback server (test/validation/server.ts). */
      CONTRACT_VALIDATOR_URL: string;
      /** fast-check's seed for every property test; empty for a fresh one (test/helpers/fuzz-seed.ts). */
      FUZZ_SEED: string;
    }
  }
}
