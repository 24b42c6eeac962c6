import { beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import {
  PBKDF2_MAX_ITERATIONS,
  hashPassword,
  verifyAgainstDummy,
  verifyPassword,
  type PasswordPolicy,
} from '../../src/lib/password.ts';

const ONE: PasswordPolicy = { rounds: 1 };
const TWO: PasswordPolicy = { rounds: 2 };
const PRODUCTION: PasswordPolicy = { rounds: 6 };

const FORMAT = /^\$pbkdf2-sha256\$v=1\$i=100000,r=(\d+)\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$/;

// Every deriveBits call in this file goes through this spy, which behaves like production: it
// refuses more than 100,000 iterations (the local pool does not), and it records each call.
let deriveBits: MockInstance<SubtleCrypto['deriveBits']>;
const realDeriveBits = crypto.subtle.deriveBits.bind(crypto.subtle);

beforeEach(() => {
  deriveBits = vi.spyOn(crypto.subtle, 'deriveBits').mockImplementation((algorithm, key, length) => {
    const iterations = typeof algorithm === 'object' && 'iterations' in algorithm ? algorithm.iterations : undefined;
    if (iterations !== undefined && iterations > 100_000)
      return Promise.reject(
        new DOMException('Pbkdf2 failed: iteration counts above 100000 are not supported', 'NotSupportedError'),
      );
    return realDeriveBits(algorithm, key, length);
  });
});

function iterationsOfEachCall(): unknown[] {
  return deriveBits.mock.calls.map(([algorithm]) =>
    typeof algorithm === 'object' && 'iterations' in algorithm ? algorithm.iterations : 'no iterations',
  );
}

function bytes(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

function toBase64(data: Uint8Array): string {
  return btoa(String.fromCharCode(...data)).replace(/=+$/, '');
}

describe('hashPassword and verifyPassword', () => {
  it('round-trips, and a wrong password does not verify', async () => {
    const stored = await hashPassword('correct horse 1', ONE);
    expect(await verifyPassword('correct horse 1', stored, ONE)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword('correct horse 2', stored, ONE)).toEqual({ ok: false, needsRehash: false });
    expect(await verifyPassword('Correct horse 1', stored, ONE)).toEqual({ ok: false, needsRehash: false });
    expect(await verifyPassword('', stored, ONE)).toEqual({ ok: false, needsRehash: false });
  });

  it('writes the self-describing format with a 16-byte salt and a 32-byte hash', async () => {
    const stored = await hashPassword('Abc12345', TWO);
    const match = FORMAT.exec(stored);
    expect(match, stored).not.toBeNull();
    expect(match?.[1]).toBe('2');
    expect(bytes(match?.[2] ?? '').byteLength).toBe(16);
    expect(bytes(match?.[3] ?? '').byteLength).toBe(32);
  });

  it('salts: two hashes of the same password differ and both verify', async () => {
    const a = await hashPassword('Abc12345', ONE);
    const b = await hashPassword('Abc12345', ONE);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
    expect((await verifyPassword('Abc12345', a, ONE)).ok).toBe(true);
    expect((await verifyPassword('Abc12345', b, ONE)).ok).toBe(true);
  });

  it('normalises with NFKC: fullwidth letters and ligatures match their plain forms', async () => {
    const fullwidth = await hashPassword('\uFF21bc12345', ONE); // 'Ａbc12345'
    expect((await verifyPassword('Abc12345', fullwidth, ONE)).ok).toBe(true);
    const plain = await hashPassword('Abc12345', ONE);
    expect((await verifyPassword('\uFF21bc12345', plain, ONE)).ok).toBe(true);

    const ligature = await hashPassword('\uFB01sh12345', ONE); // 'ﬁsh12345'
    expect((await verifyPassword('fish12345', ligature, ONE)).ok).toBe(true);
    // Composed and decomposed accents are the same password too.
    const composed = await hashPassword('caf\u00E9 1234', ONE);
    expect((await verifyPassword('cafe\u0301 1234', composed, ONE)).ok).toBe(true);
    // Normalisation does not make different passwords equal.
    expect((await verifyPassword('abc12345', fullwidth, ONE)).ok).toBe(false);
  });

  it('chains rounds: round k hashes the output of round k-1 with the same salt', async () => {
    const stored = await hashPassword('Abc12345', TWO);
    const [, , , , salt = '', hash = ''] = stored.split('$');
    const derive = async (input: Uint8Array) => {
      const key = await crypto.subtle.importKey('raw', input, 'PBKDF2', false, ['deriveBits']);
      const bits = await crypto.subtle.deriveBits(
        { name: 'PBKDF2', hash: 'SHA-256', salt: bytes(salt), iterations: 100_000 },
        key,
        256,
      );
      return new Uint8Array(bits);
    };
    const round1 = await derive(new TextEncoder().encode('Abc12345'));
    const round2 = await derive(round1);
    expect(toBase64(round2)).toBe(hash);
    expect(toBase64(round1)).not.toBe(hash);
  });

  it('a hash made with r=2 does not verify when its string says r=1 (or r=3)', async () => {
    const stored = await hashPassword('Abc12345', TWO);
    expect((await verifyPassword('Abc12345', stored, TWO)).ok).toBe(true);
    expect(await verifyPassword('Abc12345', stored.replace(',r=2$', ',r=1$'), TWO)).toEqual({
      ok: false,
      needsRehash: false,
    });
    expect((await verifyPassword('Abc12345', stored.replace(',r=2$', ',r=3$'), TWO)).ok).toBe(false);
  });

  it('asks for a rehash when the policy has more rounds than the stored hash, and only then', async () => {
    const stored = await hashPassword('Abc12345', ONE);
    expect(await verifyPassword('Abc12345', stored, TWO)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword('Abc12345', stored, ONE)).toEqual({ ok: true, needsRehash: false });
    // A wrong password never asks for a rehash.
    expect(await verifyPassword('Abc12346', stored, TWO)).toEqual({ ok: false, needsRehash: false });
    // Nor does a hash stronger than the policy (a rollback of the policy is not a downgrade).
    const stronger = await hashPassword('Abc12345', TWO);
    expect(await verifyPassword('Abc12345', stronger, ONE)).toEqual({ ok: true, needsRehash: false });
  });

  it("compares with workerd's crypto.subtle.timingSafeEqual, once, on the two 32-byte hashes", async () => {
    expect(typeof crypto.subtle.timingSafeEqual).toBe('function');
    const stored = await hashPassword('Abc12345', ONE);
    const timingSafeEqual = vi.spyOn(crypto.subtle, 'timingSafeEqual');
    expect((await verifyPassword('Abc12345', stored, ONE)).ok).toBe(true);
    expect((await verifyPassword('Abc12346', stored, ONE)).ok).toBe(false);
    expect(timingSafeEqual).toHaveBeenCalledTimes(2);
    for (const [a, b] of timingSafeEqual.mock.calls) {
      expect((a as Uint8Array).byteLength).toBe(32);
      expect((b as Uint8Array).byteLength).toBe(32);
    }
  });

  it('falls back to its own constant-time loop where timingSafeEqual is missing', async () => {
    const stored = await hashPassword('Abc12345', ONE);
    // Shadow the prototype's method with an own property, then remove it to uncover it again.
    Object.defineProperty(crypto.subtle, 'timingSafeEqual', { value: undefined, configurable: true });
    try {
      expect(typeof crypto.subtle.timingSafeEqual).toBe('undefined');
      expect((await verifyPassword('Abc12345', stored, ONE)).ok).toBe(true);
      expect((await verifyPassword('Abc12346', stored, ONE)).ok).toBe(false);
    } finally {
      Reflect.deleteProperty(crypto.subtle, 'timingSafeEqual');
    }
    expect(typeof crypto.subtle.timingSafeEqual).toBe('function');
  });

  it('refuses passwords longer than 1024 characters and policies out of range', async () => {
    await expect(hashPassword('a1'.repeat(512) + 'x', ONE)).rejects.toThrow(RangeError);
    expect(FORMAT.test(await hashPassword('a1'.repeat(512), ONE))).toBe(true);
    for (const rounds of [0, 21, 1.5, -1, Number.NaN])
      await expect(hashPassword('Abc12345', { rounds })).rejects.toThrow(RangeError);
    await expect(verifyAgainstDummy('Abc12345', { rounds: 0 })).rejects.toThrow(RangeError);
  });
});

describe('strict parsing of stored hashes', () => {
  let valid: string;
  let salt: string;
  let hash: string;
  beforeAll(async () => {
    valid = await hashPassword('Abc12345', ONE);
    [, , , , salt = '', hash = ''] = valid.split('$');
  });

  // Flip one unused trailing bit: still decodes to the same bytes in a lax decoder, not canonical.
  const flipLastBit = (b64: string) => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    return b64.slice(0, -1) + alphabet[alphabet.indexOf(b64.slice(-1)) ^ 1];
  };

  const hostile: [string, (s: string, h: string, v: string) => string][] = [
    ['empty', () => ''],
    ['wrong prefix', (s, h) => `$pbkdf2-sha512$v=1$i=100000,r=1$${s}$${h}`],
    ['no leading $', (s, h) => `pbkdf2-sha256$v=1$i=100000,r=1$${s}$${h}`],
    ['upper-case algorithm', (s, h) => `$PBKDF2-SHA256$v=1$i=100000,r=1$${s}$${h}`],
    ['v=2', (s, h) => `$pbkdf2-sha256$v=2$i=100000,r=1$${s}$${h}`],
    ['v=01', (s, h) => `$pbkdf2-sha256$v=01$i=100000,r=1$${s}$${h}`],
    ['i=100001', (s, h) => `$pbkdf2-sha256$v=1$i=100001,r=1$${s}$${h}`],
    ['i=1', (s, h) => `$pbkdf2-sha256$v=1$i=1,r=1$${s}$${h}`],
    ['i=0100000', (s, h) => `$pbkdf2-sha256$v=1$i=0100000,r=1$${s}$${h}`],
    ['i=1e5', (s, h) => `$pbkdf2-sha256$v=1$i=1e5,r=1$${s}$${h}`],
    ['r=0', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=0$${s}$${h}`],
    ['r=21', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=21$${s}$${h}`],
    ['r=1e3', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1e3$${s}$${h}`],
    ['r=01', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=01$${s}$${h}`],
    ['r=+1', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=+1$${s}$${h}`],
    ['r=-1', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=-1$${s}$${h}`],
    ['r=1.0', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1.0$${s}$${h}`],
    ['r=fullwidth 1', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=\uFF11$${s}$${h}`],
    ['r missing', (s, h) => `$pbkdf2-sha256$v=1$i=100000$${s}$${h}`],
    ['parameters swapped', (s, h) => `$pbkdf2-sha256$v=1$r=1,i=100000$${s}$${h}`],
    ['salt of 15 bytes', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1$${toBase64(bytes(s).subarray(0, 15))}$${h}`],
    [
      'salt of 17 bytes',
      (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1$${toBase64(new Uint8Array([...bytes(s), 0]))}$${h}`,
    ],
    ['hash of 31 bytes', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1$${s}$${toBase64(bytes(h).subarray(0, 31))}`],
    [
      'hash of 33 bytes',
      (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1$${s}$${toBase64(new Uint8Array([...bytes(h), 0]))}`,
    ],
    ['padded salt', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1$${s}==$${h}`],
    ['padded hash', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1$${s}$${h}=`],
    ['non-canonical salt', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1$${flipLastBit(s)}$${h}`],
    ['non-canonical hash', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1$${s}$${flipLastBit(h)}`],
    ['base64url characters', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1$${s.slice(0, -2)}-_$${h}`],
    ['non-base64 characters', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1$${s.slice(0, -2)}!*$${h}`],
    ['whitespace inside base64', (s, h) => `$pbkdf2-sha256$v=1$i=100000,r=1$${s.slice(0, -1)} $${h}`],
    ['extra $ segment', (_s, _h, v) => `${v}$AAAA`],
    ['trailing $', (_s, _h, v) => `${v}$`],
    ['trailing newline', (_s, _h, v) => `${v}\n`],
    ['leading space', (_s, _h, v) => ` ${v}`],
    ['hash missing', (s) => `$pbkdf2-sha256$v=1$i=100000,r=1$${s}`],
    ['bcrypt', () => '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW'],
  ];

  it('the valid string itself verifies (so the cases below fail for their one defect)', async () => {
    expect((await verifyPassword('Abc12345', valid, ONE)).ok).toBe(true);
  });

  it.each(hostile)('%s: not ok, and no PBKDF2 runs', async (_name, build) => {
    const stored = build(salt, hash, valid);
    expect(stored).not.toBe(valid);
    const importKey = vi.spyOn(crypto.subtle, 'importKey');
    deriveBits.mockClear();
    expect(await verifyPassword('Abc12345', stored, ONE)).toEqual({ ok: false, needsRehash: false });
    expect(deriveBits).not.toHaveBeenCalled();
    expect(importKey).not.toHaveBeenCalled();
  });

  it('has at least ten hostile cases', () => {
    expect(hostile.length).toBeGreaterThanOrEqual(10);
  });
});

describe('the production PBKDF2 cap (100,000 iterations per call)', () => {
  it('is exported as 100,000', () => {
    expect(PBKDF2_MAX_ITERATIONS).toBe(100_000);
  });

  it('hashPassword at 6 rounds: six calls, none above 100,000 iterations', async () => {
    deriveBits.mockClear();
    const stored = await hashPassword('Abc12345', PRODUCTION);
    expect(stored).toMatch(/,r=6\$/);
    expect(iterationsOfEachCall()).toEqual(Array(6).fill(100_000));
  });

  it('verifyPassword at 6 rounds: six calls, none above 100,000 iterations', async () => {
    const stored = await hashPassword('Abc12345', PRODUCTION);
    for (const password of ['Abc12345', 'wrong 123']) {
      deriveBits.mockClear();
      await verifyPassword(password, stored, PRODUCTION);
      expect(iterationsOfEachCall()).toEqual(Array(6).fill(100_000));
    }
  });

  it('verifyAgainstDummy does the same work as verifyPassword under the same policy, and says false', async () => {
    const stored = await hashPassword('Abc12345', PRODUCTION);
    deriveBits.mockClear();
    await verifyPassword('Abc12345', stored, PRODUCTION);
    const real = iterationsOfEachCall();

    deriveBits.mockClear();
    expect(await verifyAgainstDummy('Abc12345', PRODUCTION)).toBe(false);
    expect(iterationsOfEachCall()).toEqual(Array(6).fill(100_000));
    expect(iterationsOfEachCall()).toEqual(real);

    // It follows the policy, not a fixed count.
    deriveBits.mockClear();
    expect(await verifyAgainstDummy('Abc12345', TWO)).toBe(false);
    expect(iterationsOfEachCall()).toEqual([100_000, 100_000]);
  });

  it('the spy really emulates production (a single call above the cap is refused)', async () => {
    const key = await crypto.subtle.importKey('raw', new Uint8Array(8), 'PBKDF2', false, ['deriveBits']);
    await expect(
      crypto.subtle.deriveBits(
        { name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16), iterations: 600_000 },
        key,
        256,
      ),
    ).rejects.toThrow(/iteration counts above 100000/);
  });
});

describe('cost (measured, not asserted)', () => {
  it('median wall time of 5 hashPassword runs at 6 rounds', async () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      await hashPassword('Abc12345', PRODUCTION);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    console.log(
      `hashPassword rounds=6 median ${times[2]?.toFixed(1)} ms (runs: ${times.map((t) => t.toFixed(1)).join(', ')})`,
    );
    expect(times).toHaveLength(5);
  });
});
