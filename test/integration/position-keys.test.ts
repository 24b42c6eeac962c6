import fc from 'fast-check';
import { generateKeyBetween } from 'fractional-indexing';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * task_position_between(a, b) (migrations/0008_task_position_function.sql), the SQL port of
 * generateKeyBetween from fractional-indexing 4.0.0, held to the library itself: the same key for
 * every valid pair (null: no bound), an error wherever the library throws, and the keys sort in
 * Postgres (collate "C") exactly as JavaScript's `<` sorts them. The differential tests put
 * thousands of pairs in one statement (about 50 statements for some 28,000 pairs); an error aborts
 * its statement, so each rejected pair is a statement of its own (sent in parallel).
 *
 * Where the function is stricter than the library, on purpose: a > b raises (the library swaps
 * the bounds), and so does a character outside 0-9A-Za-z (the library reads it as a digit).
 */

let app: TestApp;

beforeAll(async () => {
  app = await setupTestApp();
});

type Bound = string | null;

interface Pair {
  a: Bound;
  b: Bound;
  /** What the library answers. */
  key: string;
}

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const HEADS = DIGITS.slice(10);
/** The largest and the smallest integer parts: 'z' and 'A' mark the longest (27 characters). */
const LARGEST_INTEGER = 'z'.repeat(27);
const SMALLEST_INTEGER = `A${'0'.repeat(26)}`;

/** How JavaScript's `<` orders strings (UTF-16 code units; bytes, for these ASCII keys). */
const jsOrder = (keys: readonly string[]) => [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));

const NUM_RUNS = { insertions: 25, pairs: 20, rejections: 10 };
const FUZZ_TIMEOUT_MS = 120_000;

/**
 * One statement: the function's key for every pair (in order), its arguments in `collation`, and
 * `keys` as Postgres sorts them with collate "C". Fails naming the first pairs where the function
 * and the library disagree.
 */
async function expectLibraryKeys(
  pairs: readonly Pair[],
  keys: readonly string[] = [],
  collation: 'default' | 'und-x-icu' = 'default',
) {
  const [row] = await app.sql.query(
    `select array(
              select task_position_between(p.a collate "${collation}", p.b collate "${collation}")
                from unnest($1::text[], $2::text[]) with ordinality as p(a, b, n)
               order by p.n) as generated,
            array(select k from unnest($3::text[]) as k order by k collate "C") as sorted`,
    [pairs.map((p) => p.a), pairs.map((p) => p.b), keys],
  );
  const generated = row?.generated as string[];
  expect(generated).toHaveLength(pairs.length);
  const mismatches = pairs
    .map((pair, i) => ({ ...pair, sql: generated[i] }))
    .filter((p) => p.sql !== p.key)
    .slice(0, 5);
  expect(mismatches).toEqual([]);
  expect(row?.sorted).toEqual(jsOrder(keys));
}

/** Where a run of insertions goes: the start, the end, or the gap before keys[gap % (n + 1)]. */
type Insertion =
  { at: 'start' | 'end'; times: number } | { at: 'gap'; gap: number; times: number; toward: 'low' | 'high' | 'middle' };

/**
 * Plays the insertions on a sorted list of keys with the library, as a client moving tasks would:
 * each key between its two neighbours. A run of `times` in one gap keeps inserting next to the key
 * it just made: toward the lower neighbour, the upper one, or (alternating) the middle.
 */
function play(start: readonly string[], insertions: readonly Insertion[]): { pairs: Pair[]; keys: string[] } {
  const keys = [...start];
  const pairs: Pair[] = [];
  const insert = (index: number) => {
    const a = keys[index - 1] ?? null;
    const b = keys[index] ?? null;
    const key = generateKeyBetween(a, b);
    pairs.push({ a, b, key });
    keys.splice(index, 0, key);
  };
  for (const insertion of insertions) {
    if (insertion.at === 'gap') {
      let index = insertion.gap % (keys.length + 1);
      for (let t = 0; t < insertion.times; t++) {
        insert(index);
        if (insertion.toward === 'high' || (insertion.toward === 'middle' && t % 2 === 0)) index++;
      }
    } else {
      for (let t = 0; t < insertion.times; t++) insert(insertion.at === 'start' ? 0 : keys.length);
    }
  }
  return { pairs, keys };
}

describe('task_position_between returns what generateKeyBetween returns', () => {
  it('the first key, and one key on either side of it', async () => {
    const pairs = [
      { a: null, b: null, key: 'a0' },
      { a: 'a0', b: null, key: 'a1' },
      { a: null, b: 'a0', key: 'Zz' },
      { a: 'a0', b: 'a1', key: 'a0V' },
    ];
    for (const p of pairs) expect(generateKeyBetween(p.a, p.b)).toBe(p.key);
    await expectLibraryKeys(pairs, ['a0', 'a1', 'Zz', 'a0V']);
  });

  it('long runs: thousands of appends and prepends across integer lengths, a thousand into one gap', async () => {
    const runs = [
      play([], [{ at: 'end', times: 4000 }]),
      play(['Xzzy'], [{ at: 'end', times: 4000 }]),
      play(['b01'], [{ at: 'start', times: 4000 }]),
      play(['a0', 'a1'], [{ at: 'gap', gap: 1, times: 1000, toward: 'low' }]),
      play(['a0', 'a1'], [{ at: 'gap', gap: 1, times: 1000, toward: 'high' }]),
      play(['a0', 'a1'], [{ at: 'gap', gap: 1, times: 1000, toward: 'middle' }]),
      // The ends of the key space: after the largest integer only fractions are left, before the
      // smallest only fractions with ever more leading zeros.
      play([LARGEST_INTEGER], [{ at: 'end', times: 300 }]),
      play([`${SMALLEST_INTEGER}1`], [{ at: 'start', times: 300 }]),
    ];
    const pairs = runs.flatMap((r) => r.pairs);
    // The integer part changes head and length where these runs cross, going up and going down.
    expect(pairs).toEqual(
      expect.arrayContaining([
        { a: 'Xzzz', b: null, key: 'Y00' },
        { a: 'Yzz', b: null, key: 'Z0' },
        { a: 'Zz', b: null, key: 'a0' },
        { a: 'az', b: null, key: 'b00' },
        { a: 'bzz', b: null, key: 'c000' },
        { a: null, b: 'b00', key: 'az' },
        { a: null, b: 'a0', key: 'Zz' },
        { a: null, b: 'Z0', key: 'Yzz' },
        { a: null, b: 'Y00', key: 'Xzzz' },
      ]),
    );
    // A thousand insertions into one gap make keys of more than 150 characters.
    expect(Math.max(...pairs.map((p) => p.key.length))).toBeGreaterThan(150);
    await expectLibraryKeys(
      pairs,
      runs.flatMap((r) => r.keys),
    );
  });

  it('crosses Zz -> a0 and back', async () => {
    const up = play(['Zx'], [{ at: 'end', times: 3 }]);
    const down = play(['a1'], [{ at: 'start', times: 3 }]);
    expect(up.keys).toEqual(['Zx', 'Zy', 'Zz', 'a0']);
    expect(down.keys).toEqual(['Zy', 'Zz', 'a0', 'a1']);
    await expectLibraryKeys([...up.pairs, ...down.pairs], [...up.keys, ...down.keys]);
  });

  it('whatever the collation of its arguments: one that sorts Zz after a0 changes nothing', async () => {
    const runs = [
      play([], [{ at: 'end', times: 200 }]),
      play([], [{ at: 'start', times: 200 }]),
      play(['Zz', 'a0'], [{ at: 'gap', gap: 1, times: 200, toward: 'middle' }]),
    ];
    const keys = runs.flatMap((r) => r.keys);
    // ICU's root collation (in PostgreSQL and PGlite alike) does not order these keys as bytes do...
    const [icu] = await app.sql`
      select array(select k from unnest(${keys}::text[]) as k order by k collate "und-x-icu") as sorted`;
    expect(icu?.sorted).not.toEqual(jsOrder(keys));
    // ...yet arguments in it give the same keys: the function compares with collate "C" itself.
    await expectLibraryKeys(
      runs.flatMap((r) => r.pairs),
      keys,
      'und-x-icu',
    );
  });

  it(
    'random insertions at the start, the end and between random neighbours',
    async () => {
      const times = fc.oneof(
        { weight: 4, arbitrary: fc.constant(1) },
        { weight: 1, arbitrary: fc.integer({ min: 2, max: 300 }) },
      );
      const insertion: fc.Arbitrary<Insertion> = fc.oneof(
        fc.record({ at: fc.constantFrom('start' as const, 'end' as const), times }),
        fc.record({
          at: fc.constant('gap' as const),
          gap: fc.nat(),
          times,
          toward: fc.constantFrom('low' as const, 'high' as const, 'middle' as const),
        }),
      );
      // Lists to start from: empty, near the integer-length boundaries, and at the ends of the key space.
      const start = fc.constantFrom<string[]>(
        [],
        ['a0'],
        ['Zy', 'a1'],
        ['ay', 'b01'],
        ['Yzy', 'Z1'],
        ['a0', 'a0V', 'a1'],
        [LARGEST_INTEGER],
        [`${SMALLEST_INTEGER}1`],
        [`${SMALLEST_INTEGER}001`, 'a0', `${LARGEST_INTEGER}zzzy`],
      );
      await fc.assert(
        fc.asyncProperty(
          start,
          fc.array(insertion, { minLength: 1, maxLength: 30, size: 'max' }),
          async (list, insertions) => {
            const { pairs, keys } = play(list, insertions);
            expect(keys).toEqual(jsOrder(keys));
            await expectLibraryKeys(pairs, keys);
          },
        ),
        { numRuns: NUM_RUNS.insertions },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'random valid keys as bounds: any integer part, and fractions that share a prefix and then differ by a digit or two',
    async () => {
      const digit = fc.oneof(fc.constantFrom('0', '1', 'V', 'y', 'z'), fc.constantFrom(...DIGITS));
      const digits = (maxLength: number) => fc.string({ unit: digit, maxLength });
      const head = fc.oneof(fc.constantFrom('A', 'Y', 'Z', 'a', 'b', 'z'), fc.constantFrom(...HEADS));
      const integerLength = (h: string) => {
        const i = HEADS.indexOf(h);
        return i < 26 ? 27 - i : i - 24;
      };
      const integer = head.chain((h) =>
        fc.string({ unit: digit, minLength: integerLength(h) - 1, maxLength: integerLength(h) - 1 }).map((i) => h + i),
      );
      /** A key is an integer part and a fraction without trailing zeros, and not the smallest integer alone. */
      const asKey = (i: string, fraction: string) => {
        const k = i + fraction.replace(/0+$/, '');
        return k === SMALLEST_INTEGER ? null : k;
      };
      const key = fc.tuple(integer, digits(12)).map(([i, f]) => asKey(i, f));
      // Two fractions of one integer part: a common prefix, then digits `apart` steps apart (the
      // library pads the shorter one with zeros and has a case for consecutive digits).
      const neighbours = fc
        .tuple(integer, digits(4), fc.nat({ max: 61 }), fc.constantFrom(0, 1, 2, 3), digits(3), digits(3))
        .map(([i, prefix, d, apart, restA, restB]) => [
          asKey(i, prefix + DIGITS[d] + restA),
          asKey(i, prefix + (DIGITS[d + apart] ?? '') + restB),
        ]);
      const pair = fc
        .oneof(fc.tuple(fc.option(key, { freq: 5 }), fc.option(key, { freq: 5 })), neighbours)
        .filter(([a, b]) => a === null || b === null || a !== b)
        .map(([a, b]): Pair => {
          const [lo, hi] = a !== null && b !== null && b < a ? [b, a] : [a, b];
          return { a: lo, b: hi, key: generateKeyBetween(lo, hi) };
        });
      await fc.assert(
        fc.asyncProperty(fc.array(pair, { minLength: 100, maxLength: 300, size: 'max' }), async (pairs) => {
          const keys = pairs.flatMap((p) => [p.a, p.b, p.key].filter((k) => k !== null));
          await expectLibraryKeys(pairs, keys);
        }),
        { numRuns: NUM_RUNS.pairs },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

/** What the function does with (a, b): its key, or the SQLSTATE it raised. */
async function outcome(a: Bound, b: Bound): Promise<{ key: string } | { code: string | undefined; message: string }> {
  try {
    const [row] = await app.sql`select task_position_between(${a}::text, ${b}::text) as key`;
    return { key: row?.key as string };
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  }
}

const libraryThrows = (a: Bound, b: Bound) => {
  try {
    generateKeyBetween(a, b);
    return false;
  } catch {
    return true;
  }
};

describe('task_position_between raises where it must', () => {
  // [a, b, why]: the library throws on each of these too.
  const LIBRARY_THROWS: [Bound, Bound, string][] = [
    ['', null, 'empty key'],
    [null, '', 'empty key'],
    ['a0', '', 'empty key'],
    ['a00', null, 'trailing zero'],
    [null, 'a0V0', 'trailing zero'],
    ['a0', 'a1V0', 'trailing zero'],
    ['b0', null, 'shorter than its integer part'],
    [null, 'zzz', 'shorter than its integer part'],
    ['a', null, 'shorter than its integer part'],
    ['0a', null, 'head not a letter'],
    [null, '9zz', 'head not a letter'],
    [SMALLEST_INTEGER, null, 'the smallest integer'],
    [null, SMALLEST_INTEGER, 'the smallest integer'],
    ['a0', 'a0', 'a = b'],
    ['a0V', 'a0V', 'a = b'],
  ];
  // [a, b, why]: the library answers these, the function refuses them on purpose.
  const STRICTER: [Bound, Bound, string][] = [
    ['a1', 'a0', 'a > b: reversed bounds are a bug (the library swaps them)'],
    ['b00', 'a0V', 'a > b'],
    ['a0!', null, 'a character outside 0-9A-Za-z (the library reads it as 0)'],
    [null, 'a0 ', 'a space'],
    ['a0é', null, 'a Latin-1 letter'],
    ['a0€', 'a1', 'beyond Latin-1 (the library answers "a0undefinedV")'],
    ['a0-', 'a1', 'not a digit'],
  ];

  it('on every key and pair the library throws on, with SQLSTATE 22023 and a message that says why', async () => {
    for (const [a, b, why] of LIBRARY_THROWS) expect(libraryThrows(a, b), `${a} ${b}: ${why}`).toBe(true);
    const outcomes = await Promise.all(LIBRARY_THROWS.map(async ([a, b]) => ({ a, b, ...(await outcome(a, b)) })));
    expect(outcomes).toEqual(
      LIBRARY_THROWS.map(([a, b]) => ({
        a,
        b,
        code: '22023',
        message: expect.stringMatching(/^(invalid position key|position key .* is not below)/) as string,
      })),
    );
  });

  it('on reversed bounds and on characters outside the alphabet, which the library lets through', async () => {
    for (const [a, b, why] of STRICTER) expect(libraryThrows(a, b), `${a} ${b}: ${why}`).toBe(false);
    const outcomes = await Promise.all(STRICTER.map(async ([a, b]) => ({ a, b, ...(await outcome(a, b)) })));
    expect(outcomes).toEqual(
      STRICTER.map(([a, b]) => ({ a, b, code: '22023', message: expect.stringMatching(/position key/) as string })),
    );
  });

  it(
    'random short strings: a key exactly where the library answers (and a < b), an error everywhere else',
    async () => {
      const unit = fc.constantFrom('0', '1', 'V', 'z', 'A', 'Z', 'a', 'b', 'y', '!');
      const bound = fc.option(fc.string({ unit, maxLength: 4 }), { freq: 4 });
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(bound, bound), { minLength: 1, maxLength: 20 }), async (pairs) => {
          const expected = pairs.map(([a, b]) => {
            const bad = [a, b].some((k) => k !== null && /[^0-9A-Za-z]/.test(k));
            const reversed = a !== null && b !== null && a > b;
            return bad || reversed || libraryThrows(a, b) ? { code: '22023' } : { key: generateKeyBetween(a, b) };
          });
          const outcomes = await Promise.all(
            pairs.map(async ([a, b]) => {
              const o = await outcome(a, b);
              return 'key' in o ? o : { code: o.code };
            }),
          );
          expect(outcomes.map((o, i) => ({ pair: pairs[i], ...o }))).toEqual(
            expected.map((e, i) => ({ pair: pairs[i], ...e })),
          );
        }),
        { numRuns: NUM_RUNS.rejections },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
