/**
 * Password hashing with Web Crypto only (workerd has no native addons, so no argon2 or bcrypt):
 * PBKDF2-HMAC-SHA256 in chained rounds. Production Workers refuse more than 100,000 iterations in
 * one deriveBits call, so OWASP's 600,000 is reached as 6 rounds of 100,000, each round's output
 * being the next round's password input; an attacker has to run every round for every guess.
 * See docs/decisions/0004-password-hashing.md.
 */

export interface PasswordPolicy {
  /** Chained PBKDF2 rounds of 100,000 iterations each (production: 6). */
  rounds: number;
}

export interface PasswordCheck {
  ok: boolean;
  /** True only when ok and the stored hash has fewer rounds than the policy: store a fresh hash. */
  needsRehash: boolean;
}

/**
 * The most iterations production Workers accept in one deriveBits call (`NotSupportedError: Pbkdf2
 * failed: iteration counts above 100000 are not supported`). `wrangler dev` and the vitest pool do
 * not enforce it, so pbkdf2Round does.
 */
export const PBKDF2_MAX_ITERATIONS = 100_000;

/** The most rounds a stored hash may ask for; parsing rejects more, so a stored string cannot buy CPU. */
export const PASSWORD_MAX_ROUNDS = 20;

/** A guard, not a rule: the API allows 8..128; this only keeps absurd input away from the hash. */
const MAX_PASSWORD_LENGTH = 1024;

const SALT_BYTES = 16;
const HASH_BYTES = 32;

// Strict on purpose: exact prefix, version and iteration count, rounds 1..20 without sign, exponent
// or leading zero, and base64 of exactly 16 and 32 bytes (22 and 43 characters, no padding).
const STORED_FORMAT = /^\$pbkdf2-sha256\$v=1\$i=100000,r=([1-9]|1[0-9]|20)\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$/;

// Verification of unknown emails runs against this, so it costs what a real verification costs.
// Random bytes with no secret behind them; no password is known to produce this hash.
const DUMMY_SALT = 'ALODTF0ZOfKNlGkxTN/znw';
const DUMMY_HASH = 'ZlOJ8UCU5tvn+xi/sQnSJ1ncoAlU0uM9Z5JoPWp/jcM';

const encoder = new TextEncoder();

/** Hashes a password into the self-describing `$pbkdf2-sha256$v=1$i=100000,r=<rounds>$<salt>$<hash>`. */
export async function hashPassword(password: string, policy: PasswordPolicy): Promise<string> {
  const rounds = checkedRounds(policy);
  if (password.length > MAX_PASSWORD_LENGTH)
    throw new RangeError(`password longer than ${MAX_PASSWORD_LENGTH} characters`);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await chainedPbkdf2(password, salt, rounds);
  return formatStored(rounds, salt, hash);
}

/**
 * Checks a password against a stored hash. A stored string that is not exactly our format gives
 * `{ ok: false }` without any hashing: its parameters are never run.
 */
export async function verifyPassword(password: string, stored: string, policy: PasswordPolicy): Promise<PasswordCheck> {
  const wanted = checkedRounds(policy);
  const parsed = parseStored(stored);
  if (!parsed || password.length > MAX_PASSWORD_LENGTH) return { ok: false, needsRehash: false };
  const actual = await chainedPbkdf2(password, parsed.salt, parsed.rounds);
  const ok = constantTimeEqual(actual, parsed.hash);
  return { ok, needsRehash: ok && parsed.rounds < wanted };
}

/**
 * For a login with an unknown email: the same code path and the same number of rounds as verifying
 * a hash made under the current policy, then false, so the response time does not tell which
 * accounts exist.
 */
export async function verifyAgainstDummy(password: string, policy: PasswordPolicy): Promise<false> {
  const rounds = checkedRounds(policy);
  await verifyPassword(password, `$pbkdf2-sha256$v=1$i=100000,r=${rounds}$${DUMMY_SALT}$${DUMMY_HASH}`, policy);
  return false;
}

function checkedRounds(policy: PasswordPolicy): number {
  const { rounds } = policy;
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > PASSWORD_MAX_ROUNDS)
    throw new RangeError(`password policy rounds must be an integer in 1..${PASSWORD_MAX_ROUNDS}`);
  return rounds;
}

async function chainedPbkdf2(password: string, salt: Uint8Array, rounds: number): Promise<Uint8Array> {
  // NFKC so that the same password typed on different keyboards or input methods (fullwidth
  // letters, ligatures) gives the same bytes.
  let input = encoder.encode(password.normalize('NFKC'));
  for (let round = 0; round < rounds; round++) input = await pbkdf2Round(input, salt, PBKDF2_MAX_ITERATIONS);
  return input;
}

/** The only place deriveBits is called, so the production cap is checked in every environment. */
async function pbkdf2Round(input: Uint8Array, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  if (iterations > PBKDF2_MAX_ITERATIONS)
    throw new RangeError(`PBKDF2 iterations ${iterations} exceed the Workers limit of ${PBKDF2_MAX_ITERATIONS}`);
  const key = await crypto.subtle.importKey('raw', input, 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    key,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  // workerd provides timingSafeEqual; the loop is for runtimes that do not.
  if (typeof crypto.subtle.timingSafeEqual === 'function') return crypto.subtle.timingSafeEqual(a, b);
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

function formatStored(rounds: number, salt: Uint8Array, hash: Uint8Array): string {
  return `$pbkdf2-sha256$v=1$i=${PBKDF2_MAX_ITERATIONS},r=${rounds}$${toBase64(salt)}$${toBase64(hash)}`;
}

function parseStored(stored: string): { rounds: number; salt: Uint8Array; hash: Uint8Array } | undefined {
  const match = STORED_FORMAT.exec(stored);
  if (!match) return undefined;
  const [, rounds, salt, hash] = match;
  if (rounds === undefined || salt === undefined || hash === undefined) return undefined;
  const saltBytes = fromCanonicalBase64(salt);
  const hashBytes = fromCanonicalBase64(hash);
  if (saltBytes?.byteLength !== SALT_BYTES || hashBytes?.byteLength !== HASH_BYTES) return undefined;
  return { rounds: Number(rounds), salt: saltBytes, hash: hashBytes };
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, '');
}

/** Decodes unpadded base64, refusing encodings whose unused trailing bits are not zero. */
function fromCanonicalBase64(text: string): Uint8Array | undefined {
  let binary: string;
  try {
    binary = atob(text + '='.repeat((4 - (text.length % 4)) % 4));
  } catch {
    return undefined;
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return toBase64(bytes) === text ? bytes : undefined;
}
