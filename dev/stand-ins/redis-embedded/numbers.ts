/**
 * Number parsing and formatting exactly as redis-server 7.0 does it in C, because replies are
 * compared byte for byte with the real server: string2ll for integer arguments and values, and
 * printf's "%.17g" (Lua numbers as command arguments), "%.14g" (Lua 5.1's tostring) and the
 * %e/%f/%g of string.format.
 */

const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;

/** Redis' string2ll: no spaces, no '+', no leading zeros, no "-0", fits in int64. */
export function string2ll(bytes: Uint8Array): bigint | null {
  const len = bytes.length;
  // 21 = LONG_STR_SIZE: longer strings cannot be a valid long long anyway.
  if (len === 0 || len >= 21) return null;
  if (len === 1 && bytes[0] === 0x30) return 0n;
  let i = 0;
  let negative = false;
  if (bytes[0] === 0x2d) {
    negative = true;
    i++;
    if (i === len) return null;
  }
  const first = bytes[i]!;
  if (first < 0x31 || first > 0x39) return null;
  let v = 0n;
  for (; i < len; i++) {
    const c = bytes[i]!;
    if (c < 0x30 || c > 0x39) return null;
    v = v * 10n + BigInt(c - 0x30);
  }
  if (negative) {
    v = -v;
    if (v < LLONG_MIN) return null;
  } else if (v > LLONG_MAX) return null;
  return v;
}

export { LLONG_MAX, LLONG_MIN };

/** Integer reply value: a JS number within ±2^53, a bigint beyond (see redis-backend.ts). */
export function intReply(v: bigint | number): number | bigint {
  if (typeof v === 'number') return v;
  return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v;
}

/** The exact decimal value of a positive finite double: digits × 10^exp10. */
function exactDecimal(a: number): { digits: string; exp10: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, a);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (biased === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = biased - 1075;
  }
  if (e2 >= 0) return { digits: (mant << BigInt(e2)).toString(), exp10: 0 };
  return { digits: (mant * 5n ** BigInt(-e2)).toString(), exp10: e2 };
}

/**
 * Rounds an exact decimal to `keep` leading digits, half to even on exact ties as glibc's printf
 * does (JS's toPrecision rounds ties up: 123456789012345 at 14 digits differs).
 */
function roundDigits(digits: string, keep: number): { head: string; carry: boolean } {
  if (keep <= 0) {
    // Everything is dropped: round to 0 or 1 unit at the kept position.
    const first = digits[0] ?? '0';
    const up = keep === 0 && (first > '5' || (first === '5' && /[1-9]/.test(digits.slice(1))));
    return { head: up ? '1' : '', carry: up };
  }
  if (digits.length <= keep) return { head: digits.padEnd(keep, '0'), carry: false };
  let head = digits.slice(0, keep);
  const rest = digits.slice(keep);
  const up =
    rest[0]! > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || Number(head[head.length - 1]) % 2 === 1));
  if (!up) return { head, carry: false };
  const bumped = (BigInt(head) + 1n).toString().padStart(keep, '0');
  if (bumped.length > keep) return { head: bumped.slice(0, keep), carry: true };
  head = bumped;
  return { head, carry: false };
}

/** "%.<p>e" digits: p+1 significant digits and the decimal exponent, correctly rounded. */
function sigDigits(a: number, significant: number): { head: string; exp: number } {
  const { digits, exp10 } = exactDecimal(a);
  let exp = digits.length - 1 + exp10;
  const r = roundDigits(digits, significant);
  if (r.carry) exp++;
  return { head: r.head, exp };
}

function expSuffix(e: number): string {
  const abs = Math.abs(e);
  return `e${e < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
}

/** C printf "%.<prec>e" of a non-negative finite double. */
export function formatE(a: number, prec: number): string {
  if (a === 0) return `0${prec > 0 ? '.' + '0'.repeat(prec) : ''}e+00`;
  const { head, exp } = sigDigits(a, prec + 1);
  return `${head[0]}${prec > 0 ? '.' + head.slice(1) : ''}${expSuffix(exp)}`;
}

/** C printf "%.<prec>f" of a non-negative finite double (exact value, ties to even). */
export function formatF(a: number, prec: number): string {
  let n = 0n;
  if (a !== 0) {
    const { digits, exp10 } = exactDecimal(a);
    const shift = exp10 + prec;
    const d = BigInt(digits);
    if (shift >= 0) n = d * 10n ** BigInt(shift);
    else {
      const div = 10n ** BigInt(-shift);
      const q = d / div;
      const r2 = (d % div) * 2n;
      n = r2 > div || (r2 === div && q % 2n === 1n) ? q + 1n : q;
    }
  }
  const text = n.toString().padStart(prec + 1, '0');
  return prec > 0 ? `${text.slice(0, -prec)}.${text.slice(-prec)}` : text;
}

/** C printf "%.<prec>g" for a double. */
export function formatG(x: number, prec: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const p = prec === 0 ? 1 : prec;
  const sign = x < 0 ? '-' : '';
  const { head, exp } = sigDigits(Math.abs(x), p);
  if (exp < -4 || exp >= p) {
    const frac = head.slice(1).replace(/0+$/, '');
    return `${sign}${head[0]}${frac ? '.' + frac : ''}${expSuffix(exp)}`;
  }
  let text: string;
  if (exp >= 0) {
    const frac = head.slice(exp + 1).replace(/0+$/, '');
    text = head.slice(0, exp + 1) + (frac ? '.' + frac : '');
  } else {
    text = ('0.' + '0'.repeat(-exp - 1) + head).replace(/0+$/, '');
  }
  return sign + text;
}
