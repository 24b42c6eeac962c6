import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../src/lib/password.ts';
import { PASSWORD, uniqueEmail } from '../../test/helpers/auth.ts';
import { json, setupTestApp } from '../../test/helpers/test-app.ts';

/**
 * What a register and a login cost inside workerd at the production password policy (6 rounds of
 * 100,000 PBKDF2 iterations): the median of repeated runs, for the whole request and for the hash
 * alone. Run with `npm run bench:auth`. Time here is wall time in the local runtime; against the
 * stand-ins with no injected latency, I/O is a few milliseconds of it.
 */
const RUNS = 15;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function time(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

describe('auth cost at the production password policy', () => {
  it('measures register, login and the hash alone', async () => {
    const app = await setupTestApp({ env: { PASSWORD_HASH_ROUNDS: '6' } });
    const policy = { rounds: 6 };
    const hash = await hashPassword(PASSWORD, policy);
    const results: Record<string, number[]> = { hashPassword: [], verifyPassword: [], register: [], login: [] };
    for (let i = 0; i < RUNS; i++) {
      results.hashPassword!.push(await time(() => hashPassword(PASSWORD, policy)));
      results.verifyPassword!.push(await time(() => verifyPassword(PASSWORD, hash, policy)));
      const email = uniqueEmail('bench');
      results.register!.push(
        await time(async () => {
          const res = await app.request(
            '/api/v1/auth/register',
            json({ email, password: PASSWORD, full_name: 'Bench' }),
          );
          expect(res.status).toBe(201);
        }),
      );
      results.login!.push(
        await time(async () => {
          const res = await app.request('/api/v1/auth/login', json({ email, password: PASSWORD }));
          expect(res.status).toBe(200);
        }),
      );
    }
    const lines = Object.entries(results).map(
      ([name, values]) =>
        `${name.padEnd(16)} median ${median(values).toFixed(1)} ms  (min ${Math.min(...values).toFixed(1)}, max ${Math.max(...values).toFixed(1)}, n=${values.length})`,
    );
    console.log(`\nauth cost, PASSWORD_HASH_ROUNDS=6, inside workerd\n${lines.join('\n')}\n`);
  }, 120_000);
});
