import { env } from 'cloudflare:workers';
import fc from 'fast-check';

/**
 * Set up before every Worker test file: property tests (fast-check) get their seed from FUZZ_SEED
 * when it is set (CI sets one: a run can be repeated input for input), a fresh one otherwise, and
 * a failure names its seed and the command that reruns exactly those inputs.
 */
const seed = parseSeed(env.FUZZ_SEED);

fc.configureGlobal({
  ...(seed === undefined ? {} : { seed }),
  reporter(details) {
    if (!details.failed) return;
    throw new Error(
      `${fc.defaultReportMessage(details)}\n\n` +
        `Rerun these inputs: FUZZ_SEED=${details.seed} npm test -- --project worker <this test file>`,
      { cause: details.errorInstance },
    );
  },
});

function parseSeed(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  // fast-check seeds are 32-bit integers, negative ones included.
  if (!Number.isInteger(parsed) || parsed < -(2 ** 31) || parsed >= 2 ** 32) {
    throw new Error(`FUZZ_SEED must be a 32-bit integer, got "${value}"`);
  }
  return parsed;
}
