/**
 * Number parsing and formatting exactly as redis-server 7.0 does it in C, because replies are
 * compared byte for byte with the real server: string2ll, strtod/strtold, "%.17g" for scores,
 * "%.14g" for Lua 5.1's tostring, and "%.17Lf" on x87 long doubles for INCRBYFLOAT.
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

export function fitsInt64(v: bigint): boolean {
  return v >= LLONG_MIN && v <= LLONG_MAX;
}

export { LLONG_MAX, LLONG_MIN };

/** Integer reply value: a JS number within ±2^53, a bigint beyond (see redis-backend.ts). */
export function intReply(v: bigint | number): number | bigint {
  if (typeof v === 'number') return v;
  return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v;
}

const SPACE = /^[ \t\n\v\f\r]/;

interface StrtodResult {
  /** Number of characters consumed (0 when nothing parsed, as strtod's endptr == str). */
  end: number;
  /** Sign and magnitude kept apart so long double callers can re-round the exact decimal. */
  negative: boolean;
  kind: 'finite' | 'inf' | 'nan';
  /** Exact value = digits * 10^exp10 (decimal) or digits * 2^exp2 (hex). */
  digits: bigint;
  exp10: number;
  exp2: number;
}

const DEC_RE = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?/;
const HEX_RE = /^([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?\d+))?/;
const INF_RE = /^([+-]?)(inf(?:inity)?)/i;
const NAN_RE = /^([+-]?)nan(?:\([0-9A-Za-z_]*\))?/i;

/** glibc strtod/strtold grammar: returns the exact value it denotes and how much it consumed. */
export function strtodParse(s: string): StrtodResult {
  let start = 0;
  while (start < s.length && SPACE.test(s[start]!)) start++;
  const rest = s.slice(start);
  const none: StrtodResult = { end: 0, negative: false, kind: 'finite', digits: 0n, exp10: 0, exp2: 0 };
  let m = HEX_RE.exec(rest);
  if (m) {
    const intPart = m[2] ?? '';
    const frac = m[3] ?? m[4] ?? '';
    const exp = m[5] === undefined ? 0 : clampExp(m[5]);
    return {
      end: start + m[0].length,
      negative: m[1] === '-',
      kind: 'finite',
      digits: BigInt('0x' + (intPart + frac || '0')),
      exp10: 0,
      exp2: exp - 4 * frac.length,
    };
  }
  m = DEC_RE.exec(rest);
  if (m) {
    const intPart = m[2] ?? '';
    const frac = m[3] ?? m[4] ?? '';
    const exp = m[5] === undefined ? 0 : clampExp(m[5]);
    return {
      end: start + m[0].length,
      negative: m[1] === '-',
      kind: 'finite',
      digits: BigInt((intPart + frac).replace(/^0+/, '') || '0'),
      exp10: exp - frac.length,
      exp2: 0,
    };
  }
  m = INF_RE.exec(rest);
  if (m) return { ...none, end: start + m[0].length, negative: m[1] === '-', kind: 'inf' };
  m = NAN_RE.exec(rest);
  if (m) return { ...none, end: start + m[0].length, negative: m[1] === '-', kind: 'nan' };
  return none;
}

function clampExp(text: string): number {
  // Exponents beyond this only ever mean overflow or underflow; keep BigInt sizes sane.
  const n = Number(text);
  return Math.max(-100000, Math.min(100000, n));
}

/** Rounds the exact value of a finite parse to a double (what strtod returns). */
function parsedToDouble(p: StrtodResult): number {
  if (p.kind === 'inf') return p.negative ? -Infinity : Infinity;
  if (p.kind === 'nan') return NaN;
  const ext = exactToFloat(p, 53, -1074, 1023);
  return p.negative ? -ext : ext;
}

/**
 * Redis' getDoubleFromObject / string2d: the whole string must be a strtod number, no leading
 * space, no overflow to infinity, no underflow to zero, no NaN.
 */
export function string2d(s: string): number | null {
  if (s.length === 0 || SPACE.test(s[0]!)) return null;
  const p = strtodParse(s);
  if (p.end !== s.length || p.end === 0) return null;
  if (p.kind === 'nan') return null;
  const v = parsedToDouble(p);
  if (p.kind === 'finite') {
    if (!Number.isFinite(v)) return null;
    if (v === 0 && p.digits !== 0n) return null;
  }
  return v;
}

/** zslParseRange's bare strtod: leading spaces allowed, "" is 0, only NaN is refused. */
export function strtodLoose(s: string): number | null {
  const p = strtodParse(s);
  if (p.end !== s.length) return null;
  const v = parsedToDouble(p);
  return Number.isNaN(v) ? null : v;
}

/** Rounds digits*10^exp10 (or digits*2^exp2) to a binary float of `bits` mantissa bits. */
function exactToFloat(p: StrtodResult, bits: number, minExp: number, maxExp: number): number {
  const r = roundExact(p, bits);
  if (r === null) return 0;
  const { mant, exp } = r;
  // value = mant * 2^exp with mant having `bits` bits.
  const top = exp + bits - 1;
  if (top > maxExp) return Infinity;
  if (exp < minExp) {
    // Subnormal double: re-round with fewer bits.
    const shift = minExp - exp;
    if (shift > bits + 1) {
      // Could still round up to the smallest subnormal.
      return 0;
    }
    const m2 = roundShift(mant, shift);
    return Number(m2) * 2 ** minExp;
  }
  return Number(mant) * 2 ** exp;
}

/** Exact value → (mant, exp) with mant of exactly `bits` bits, round half to even. */
function roundExact(p: StrtodResult, bits: number): { mant: bigint; exp: number } | null {
  if (p.digits === 0n) return null;
  if (p.exp2 !== 0 || p.exp10 === 0) {
    return normalize(p.digits, p.exp2, bits);
  }
  if (p.exp10 > 0) return normalize(p.digits * 10n ** BigInt(p.exp10), 0, bits);
  const den = 10n ** BigInt(-p.exp10);
  // Scale the numerator so the quotient has at least bits+2 bits, then round with a sticky bit.
  const numBits = bitLength(p.digits);
  const denBits = bitLength(den);
  const k = Math.max(0, denBits - numBits + bits + 2);
  const num = p.digits << BigInt(k);
  const q = num / den;
  const rem = num % den;
  // Fold the sticky remainder into the lowest bit so rounding sees "a bit more than half".
  const qs = (q << 1n) | (rem !== 0n ? 1n : 0n);
  return normalize(qs, -k - 1, bits);
}

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

function normalize(m: bigint, exp: number, bits: number): { mant: bigint; exp: number } {
  const len = bitLength(m);
  if (len <= bits) return { mant: m << BigInt(bits - len), exp: exp - (bits - len) };
  const shift = len - bits;
  let mant = roundShift(m, shift);
  let e = exp + shift;
  if (bitLength(mant) > bits) {
    mant >>= 1n;
    e++;
  }
  return { mant, exp: e };
}

/** m / 2^shift rounded half to even. */
function roundShift(m: bigint, shift: number): bigint {
  if (shift <= 0) return m << BigInt(-shift);
  const s = BigInt(shift);
  const q = m >> s;
  const rem = m - (q << s);
  const half = 1n << (s - 1n);
  if (rem > half || (rem === half && (q & 1n) === 1n)) return q + 1n;
  return q;
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

/** Redis 7.0 addReplyDouble in RESP2: "%.17g", with inf spelled out. */
export function formatScore(x: number): string {
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  return formatG(x, 17);
}

// ---------------------------------------------------------------------------------------------
// x87 80-bit long double, emulated with BigInt: INCRBYFLOAT adds in long double and prints with
// "%.17Lf", so 0.1 + 0.2 gives "0.3" on Redis where a double would give "0.30000000000000004".

const LD_BITS = 64;
// Largest finite long double is just under 2^16384; smallest normal is 2^-16382.
const LD_MAX_TOP = 16383;
const LD_MIN_TOP = -16382;

export interface LongDouble {
  negative: boolean;
  /** zero: mant 0n. */
  mant: bigint;
  exp: number;
}

/**
 * Redis' string2ld: strtold must consume everything, no leading space, no NaN, and a finite input
 * that overflows or underflows to zero is refused (ERANGE). "inf" itself is accepted.
 */
export function string2ld(s: string): LongDouble | 'inf' | '-inf' | null {
  // MAX_LONG_DOUBLE_CHARS = 5*1024
  if (s.length === 0 || s.length >= 5 * 1024 || SPACE.test(s[0]!)) return null;
  const p = strtodParse(s);
  if (p.end === 0 || p.end !== s.length || p.kind === 'nan') return null;
  if (p.kind === 'inf') return p.negative ? '-inf' : 'inf';
  if (p.digits === 0n) return { negative: p.negative, mant: 0n, exp: 0 };
  const r = roundExact(p, LD_BITS);
  if (r === null) return { negative: p.negative, mant: 0n, exp: 0 };
  const top = r.exp + LD_BITS - 1;
  if (top > LD_MAX_TOP) return null;
  // Subnormal long doubles are not modelled; treat values below the normal range as underflow.
  if (top < LD_MIN_TOP) return null;
  return { negative: p.negative, mant: r.mant, exp: r.exp };
}

export function ldFromBigInt(v: bigint): LongDouble {
  if (v === 0n) return { negative: false, mant: 0n, exp: 0 };
  const neg = v < 0n;
  const r = normalize(neg ? -v : v, 0, LD_BITS);
  return { negative: neg, mant: r.mant, exp: r.exp };
}

/** a + b rounded to long double; null when the result overflows to infinity. */
export function ldAdd(a: LongDouble, b: LongDouble): LongDouble | null {
  if (a.mant === 0n && b.mant === 0n) return { negative: a.negative && b.negative, mant: 0n, exp: 0 };
  if (a.mant === 0n) return b;
  if (b.mant === 0n) return a;
  const e = Math.min(a.exp, b.exp);
  const av = (a.negative ? -a.mant : a.mant) << BigInt(a.exp - e);
  const bv = (b.negative ? -b.mant : b.mant) << BigInt(b.exp - e);
  const sum = av + bv;
  if (sum === 0n) return { negative: false, mant: 0n, exp: 0 };
  const neg = sum < 0n;
  const r = normalize(neg ? -sum : sum, e, LD_BITS);
  if (r.exp + LD_BITS - 1 > LD_MAX_TOP) return null;
  return { negative: neg, mant: r.mant, exp: r.exp };
}

/** ld2string(..., LD_STR_HUMAN): "%.17Lf" then trailing zeros (and a bare '.') trimmed, "-0" → "0". */
export function ldToHuman(v: LongDouble): string {
  let q: bigint;
  if (v.mant === 0n) q = 0n;
  else if (v.exp >= 0) q = (v.mant << BigInt(v.exp)) * 10n ** 17n;
  else {
    const num = v.mant * 10n ** 17n;
    const s = BigInt(-v.exp);
    const whole = num >> s;
    const rem = num - (whole << s);
    const half = 1n << (s - 1n);
    q = rem > half || (rem === half && (whole & 1n) === 1n) ? whole + 1n : whole;
  }
  const digits = q.toString().padStart(18, '0');
  let out = `${v.negative ? '-' : ''}${digits.slice(0, -17)}.${digits.slice(-17)}`;
  out = out.replace(/0+$/, '').replace(/\.$/, '');
  if (out === '-0') out = '0';
  return out;
}
